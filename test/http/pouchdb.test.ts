/**
 * PouchDB 9 (memory adapter) replicating with Freshet over HTTP, one-shot and live, in both
 * directions (couch-replication.md §4): the real client whose requests §4 records.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN } from '../helpers/server.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB, stopLive, type PouchDatabase } from './pouch.js';

let counter = 0;
function local(): PouchDatabase {
  return new PouchDB(`local-${process.pid}-${++counter}`, { adapter: 'memory' });
}

function remote(f: CouchFixture, name = 'db'): PouchDatabase {
  return new PouchDB(`${f.base}/${name}`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
}

/** Wait until `check` stops throwing (live replication is asynchronous). */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await check();
      return;
    } catch (err) {
      if (i >= 300) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const attachment = (text: string): Record<string, unknown> => ({
  'note.txt': { content_type: 'text/plain', data: Buffer.from(text) },
});

describe('PouchDB replication', () => {
  test('one-shot push then pull: documents, deletions and attachments arrive intact', () =>
    withCouch(async (f) => {
      await createDb(f);
      const src = local();
      const a = await src.put({ _id: 'a', n: 1 });
      await src.put({ _id: 'a', _rev: a.rev, n: 2 });
      await src.put({ _id: 'b', _attachments: attachment('pouch bytes') });
      const c = await src.put({ _id: 'c' });
      await src.remove('c', c.rev);
      const push = await src.replicate.to(remote(f));
      assert.equal(push.ok, true);
      assert.equal(push.doc_write_failures, 0);
      assert.equal(obj((await f.req('/db/a')).json).n, 2);
      assert.equal((await f.req('/db/b/note.txt')).text, 'pouch bytes');
      assert.deepEqual((await f.req('/db/c')).json, { error: 'not_found', reason: 'deleted' });
      // KV-side edits travel too.
      await f.engine.requireBucket('db').set('kv', JSON.stringify({ from: 'kv' }));
      const dst = local();
      const pull = await dst.replicate.from(remote(f));
      assert.equal(pull.ok, true);
      assert.equal((await dst.get('a')).n, 2);
      const b = await dst.get('b', { attachments: true, binary: true });
      assert.equal(Buffer.from(b._attachments!['note.txt']!.data).toString(), 'pouch bytes');
      await assert.rejects(dst.get('c'), (e: { status?: number }) => e.status === 404);
      assert.equal((await dst.get('kv')).from, 'kv');
      assert.equal((await dst.get('a'))._rev, obj((await f.req('/db/a')).json)._rev);
      // A second pull with nothing new finds nothing to do, from the checkpoint.
      const again = await dst.replicate.from(remote(f));
      assert.equal(again.docs_written, 0);
    }));

  test('live sync in both directions, including writes made on the KV side', () =>
    withCouch(async (f) => {
      await createDb(f);
      const db = local();
      const sync = db.sync(remote(f), { live: true, retry: true, heartbeat: 1000 });
      try {
        await db.put({ _id: 'from-pouch', v: 1 });
        await eventually(async () => assert.equal((await f.req('/db/from-pouch')).status, 200));
        await f.req('/db/from-http', { method: 'PUT', json: { v: 2 } });
        await eventually(async () => assert.equal((await db.get('from-http')).v, 2));
        await f.engine.requireBucket('db').set('from-kv', JSON.stringify({ v: 3 }));
        await eventually(async () => assert.equal((await db.get('from-kv')).v, 3));
        const doc = await db.get('from-kv');
        await db.remove(doc);
        await eventually(async () => assert.equal((await f.req('/db/from-kv')).status, 404));
        assert.throws(() => f.engine.requireBucket('db').get('from-kv'));
      } finally {
        await stopLive(sync);
      }
    }));

  test('conflicts edited on both sides end with the same winner and _conflicts on both sides', () =>
    withCouch(async (f) => {
      await createDb(f);
      const db = local();
      const base = await db.put({ _id: 'doc', v: 0 });
      await db.replicate.to(remote(f));
      await db.put({ _id: 'doc', _rev: base.rev, v: 'local' });
      const put = await f.req('/db/doc', { method: 'PUT', json: { _rev: base.rev, v: 'remote' } });
      assert.equal(put.status, 201);
      await db.sync(remote(f));
      const mine = await db.get('doc', { conflicts: true });
      const theirs = obj((await f.req('/db/doc?conflicts=true')).json);
      assert.equal(mine._rev, theirs._rev);
      assert.deepEqual(mine._conflicts, theirs._conflicts);
      assert.equal(arr(theirs._conflicts).length, 1);
      // Resolving on one side propagates.
      await db.remove('doc', String(arr(theirs._conflicts)[0]));
      await db.sync(remote(f));
      assert.equal(obj((await f.req('/db/doc?conflicts=true')).json)._conflicts, undefined);
    }));

  test('10k documents replicate both ways', () =>
    withCouch(async (f) => {
      await createDb(f);
      const src = local();
      const docs = Array.from({ length: 10_000 }, (_, i) => ({ _id: `doc${String(i).padStart(5, '0')}`, i }));
      for (let i = 0; i < docs.length; i += 1000) await src.bulkDocs(docs.slice(i, i + 1000));
      const push = await src.replicate.to(remote(f), { batch_size: 500 });
      assert.equal(push.docs_written, 10_000);
      assert.equal(obj((await f.req('/db')).json).doc_count, 10_000);
      const dst = local();
      const pull = await dst.replicate.from(remote(f), { batch_size: 500 });
      assert.equal(pull.docs_written, 10_000);
      assert.equal((await dst.info()).doc_count, 10_000);
      assert.equal((await dst.get('doc09999')).i, 9999);
    }));
});
