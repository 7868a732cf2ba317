/**
 * Revision history (issue #15 item 6): bodies and attachments of interior revisions are kept until
 * compaction, as in CouchDB, and `_compact` drops them. Over HTTP and with PouchDB as the client;
 * the KV face still sees only the winner.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';
import { ADMIN } from '../helpers/server.js';

async function put(f: CouchFixture, path: string, json: unknown): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

/** `POST /db/_compact`, then wait as PouchDB does until `compact_running` is false. */
async function compact(f: CouchFixture, db: string): Promise<void> {
  const r = await f.req(`/${db}/_compact`, { method: 'POST', json: {} });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, { ok: true });
  for (let i = 0; i < 200; i++) {
    if (obj((await f.req(`/${db}`)).json).compact_running === false) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.fail('compaction did not finish');
}

describe('revision history', () => {
  test('old revisions readable after updates (rev, revs_info, revs, latest, open_revs), gone after _compact', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, '/db/a', { n: 1 });
      const r2 = await put(f, '/db/a', { _rev: r1, n: 2 });
      const r3 = await put(f, '/db/a', { _rev: r2, n: 3 });

      assert.deepEqual((await f.req(`/db/a?rev=${r1}`)).json, { _id: 'a', _rev: r1, n: 1 });
      assert.deepEqual((await f.req(`/db/a?rev=${r2}`)).json, { _id: 'a', _rev: r2, n: 2 });
      const info = obj((await f.req(`/db/a?revs_info=true`)).json);
      assert.deepEqual(info._revs_info, [
        { rev: r3, status: 'available' },
        { rev: r2, status: 'available' },
        { rev: r1, status: 'available' },
      ]);
      const old = obj((await f.req(`/db/a?rev=${r2}&revs=true&revs_info=true`)).json);
      assert.deepEqual(old._revisions, { start: 2, ids: [r2.slice(2), r1.slice(2)] });
      // A named revision has no meta (couch_db open_doc_revs_int): revs_info is the winner's only.
      assert.equal(old._revs_info, undefined);
      // latest=true opens the winner whatever rev is named (chttpd_db db_doc_req).
      assert.deepEqual((await f.req(`/db/a?rev=${r1}&latest=true`)).json, { _id: 'a', _rev: r3, n: 3 });
      const open = arr((await f.req(`/db/a?open_revs=${encodeURIComponent(JSON.stringify([r1, r2]))}`, { headers: { accept: 'application/json' } })).json);
      assert.deepEqual(open, [{ ok: { _id: 'a', _rev: r1, n: 1 } }, { ok: { _id: 'a', _rev: r2, n: 2 } }]);
      const openLatest = arr((await f.req(`/db/a?open_revs=${encodeURIComponent(JSON.stringify([r1]))}&latest=true`, { headers: { accept: 'application/json' } })).json);
      assert.deepEqual(openLatest, [{ ok: { _id: 'a', _rev: r3, n: 3 } }]);
      // An old revision is readable, never editable.
      assert.equal((await f.req('/db/a', { method: 'PUT', json: { _rev: r1, n: 9 } })).status, 409);

      // The KV face sees only the winner.
      const kv = f.engine.bucket('db')!;
      assert.deepEqual(JSON.parse(kv.get(kv.toKey('a')).value.toString()), { n: 3 });

      await compact(f, 'db');
      const gone = await f.req(`/db/a?rev=${r1}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json, { error: 'not_found', reason: 'missing' });
      assert.deepEqual(obj((await f.req(`/db/a?revs_info=true`)).json)._revs_info, [
        { rev: r3, status: 'available' },
        { rev: r2, status: 'missing' },
        { rev: r1, status: 'missing' },
      ]);
      assert.deepEqual((await f.req(`/db/a?rev=${r3}`)).json, { _id: 'a', _rev: r3, n: 3 });
      // History kept again from the next update on.
      const r4 = await put(f, '/db/a', { _rev: r3, n: 4 });
      assert.deepEqual((await f.req(`/db/a?rev=${r3}`)).json, { _id: 'a', _rev: r3, n: 3 });
      assert.deepEqual((await f.req(`/db/a`)).json, { _id: 'a', _rev: r4, n: 4 });
    }));

  test('attachments of old revisions; deleted interior revisions; _bulk_docs updates', () =>
    withCouch(async (f) => {
      await createDb(f);
      const data = Buffer.from('first version').toString('base64');
      const r1 = await put(f, '/db/d', { _attachments: { 'a.txt': { content_type: 'text/plain', data } } });
      const r2 = await put(f, '/db/d', { _rev: r1, _attachments: { 'a.txt': { content_type: 'text/plain', data: Buffer.from('second').toString('base64') } } });
      const att = await f.req(`/db/d/a.txt?rev=${r1}`);
      assert.equal(att.status, 200);
      assert.equal(att.text, 'first version');
      assert.equal((await f.req(`/db/d/a.txt?rev=${r2}`)).text, 'second');
      const withData = obj((await f.req(`/db/d?rev=${r1}&attachments=true`)).json);
      assert.equal(obj(obj(withData._attachments)['a.txt']).data, data);

      // A deletion makes the last live revision interior; re-creating makes the tombstone interior.
      const del = await f.req(`/db/d?rev=${r2}`, { method: 'DELETE' });
      const r3 = String(obj(del.json).rev);
      assert.equal((await f.req(`/db/d?rev=${r2}`)).status, 200);
      const r4 = await put(f, '/db/d', { again: true });
      assert.deepEqual((await f.req(`/db/d?rev=${r3}`)).json, { _id: 'd', _rev: r3, _deleted: true });
      assert.deepEqual(obj((await f.req(`/db/d?revs_info=true`)).json)._revs_info, [
        { rev: r4, status: 'available' },
        { rev: r3, status: 'deleted' },
        { rev: r2, status: 'available' },
        { rev: r1, status: 'available' },
      ]);

      const created = arr((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'b1', v: 1 }, { _id: 'b2', v: 1 }] } })).json).map(obj);
      const updated = arr((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: created.map((c) => ({ _id: c.id, _rev: c.rev, v: 2 })) } })).json).map(obj);
      assert.equal(updated.length, 2);
      for (const c of created) assert.deepEqual((await f.req(`/db/${String(c.id)}?rev=${String(c.rev)}`)).json, { _id: c.id, _rev: c.rev, v: 1 });
    }));

  test("sizes (compact_test.exs): deletions grow sizes.active with the history, _compact shrinks it, external counts live bodies", () =>
    withCouch(async (f) => {
      await createDb(f);
      const sizes = async (): Promise<{ file: number; active: number; external: number }> => obj(obj((await f.req('/db')).json).sizes) as { file: number; active: number; external: number };
      const docs = Array.from({ length: 20 }, (_, i) => ({ _id: String(i), integer: i, string: String(i) }));
      const created = arr((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).json).map(obj);
      const before = await sizes();
      const bodies = docs.reduce((n, d) => n + JSON.stringify({ integer: d.integer, string: d.string }).length, 0);
      assert.equal(before.external, bodies, JSON.stringify(before));
      assert.ok(before.active > before.external && before.active < before.file, JSON.stringify(before));
      const del = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: created.map((c) => ({ _id: c.id, _rev: c.rev, _deleted: true })) } });
      assert.equal(del.status, 201);
      const deleted = await sizes();
      assert.equal(deleted.external, 0);
      assert.ok(deleted.active > before.active && deleted.active < deleted.file, JSON.stringify(deleted));
      await compact(f, 'db');
      const after = await sizes();
      assert.ok(after.active < deleted.active && after.active < after.file, JSON.stringify(after));
    }));

  test('_revs_limit bounds the history: a stemmed revision is not found', () =>
    withCouch(async (f) => {
      await createDb(f);
      assert.equal((await f.req('/db/_revs_limit', { method: 'PUT', body: '2', headers: { 'content-type': 'application/json' } })).status, 200);
      const r1 = await put(f, '/db/s', { n: 1 });
      const r2 = await put(f, '/db/s', { _rev: r1, n: 2 });
      const r3 = await put(f, '/db/s', { _rev: r2, n: 3 });
      assert.equal((await f.req(`/db/s?rev=${r1}`)).status, 404);
      assert.deepEqual((await f.req(`/db/s?rev=${r2}`)).json, { _id: 's', _rev: r2, n: 2 });
      assert.deepEqual(obj((await f.req(`/db/s?revs_info=true`)).json)._revs_info, [
        { rev: r3, status: 'available' },
        { rev: r2, status: 'available' },
      ]);
    }));

  test('a lowered _revs_limit stems existing trees: _revisions, revs_info and old revs, kept after _compact', () =>
    withCouch(async (f) => {
      await createDb(f);
      // rev_stemming_test "revs limit is kept after compaction": 6 revisions, then a limit of 5.
      const revs = [await put(f, '/db/bar', { n: 0 })];
      for (let i = 1; i < 6; i++) revs.push(await put(f, '/db/bar', { _rev: revs[i - 1], n: i }));
      const ids = async (): Promise<unknown[]> => arr(obj(obj((await f.req('/db/bar?revs=true', { headers: { 'if-none-match': 'pommes' } })).json)._revisions).ids);
      assert.equal((await ids()).length, 6);
      assert.equal((await f.req('/db/_revs_limit', { method: 'PUT', body: '5', headers: { 'content-type': 'application/json' } })).status, 200);
      assert.equal((await ids()).length, 5);
      assert.equal(arr(obj((await f.req('/db/bar?revs_info=true')).json)._revs_info).length, 5);
      // The revision stemmed away is gone, as after CouchDB's compaction; the others still read.
      assert.equal((await f.req(`/db/bar?rev=${revs[0]}`)).status, 404);
      assert.deepEqual((await f.req(`/db/bar?rev=${revs[1]}`)).json, { _id: 'bar', _rev: revs[1], n: 1 });
      // Reading stems nothing on disk: the item is not rewritten (no new seq for _changes, KV or DCP).
      const seq = obj((await f.req('/db')).json).update_seq;
      await compact(f, 'db');
      assert.equal((await ids()).length, 5);
      assert.deepEqual(obj((await f.req('/db')).json).update_seq, seq);
      // The next write stores the stemmed tree; a raised limit does not bring stemmed revisions back.
      revs.push(await put(f, '/db/bar', { _rev: revs[5], n: 6 }));
      assert.equal((await f.req('/db/_revs_limit', { method: 'PUT', body: '1000', headers: { 'content-type': 'application/json' } })).status, 200);
      const after = obj(obj((await f.req('/db/bar?revs=true')).json)._revisions);
      assert.equal(after.start, 7);
      assert.equal(arr(after.ids).length, 5);
    }));

  test('the scheduled engine compaction drops the history too', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, '/db/e', { n: 1 });
      await put(f, '/db/e', { _rev: r1, n: 2 });
      assert.equal((await f.req(`/db/e?rev=${r1}`)).status, 200);
      // What the compaction timer runs (engine.ts startTimers), and the cluster manager's compaction.
      await f.engine.compact('db');
      for (let i = 0; i < 100 && (await f.req(`/db/e?rev=${r1}`)).status === 200; i++) await new Promise((res) => setTimeout(res, 20));
      assert.equal((await f.req(`/db/e?rev=${r1}`)).status, 404);
    }));

  test('PouchDB: get({rev}), revs_info, open_revs, compact()', () =>
    withCouch(async (f) => {
      await createDb(f, 'pouch');
      const db = new PouchDB(`${f.base}/pouch`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
      const first = await db.put({ _id: 'p', v: 1 });
      const second = await db.put({ _id: 'p', _rev: first.rev, v: 2 });
      await db.put({ _id: 'p', _rev: second.rev, v: 3 });
      const old = await db.get('p', { rev: first.rev });
      assert.equal(old.v, 1);
      const info = await db.get('p', { revs_info: true });
      assert.deepEqual((info._revs_info as Array<{ status: string }>).map((r) => r.status), ['available', 'available', 'available']);
      const open = (await db.get('p', { open_revs: [first.rev, second.rev] })) as unknown as Array<{ ok: { v: number } }>;
      assert.deepEqual(open.map((o) => o.ok.v), [1, 2]);
      await (db as unknown as { compact(): Promise<unknown> }).compact();
      await assert.rejects(db.get('p', { rev: first.rev }), (err: { status?: number }) => err.status === 404);
      const after = await db.get('p', { revs_info: true });
      assert.deepEqual((after._revs_info as Array<{ status: string }>).map((r) => r.status), ['available', 'missing', 'missing']);
    }));
});
