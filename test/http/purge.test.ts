/**
 * `POST /{db}/_purge` and `/{db}/_purged_infos_limit` (src/couchdb/purge.ts, src/http/purge-routes.ts)
 * against CouchDB 3.x's answers: chttpd_purge_tests.erl, test/elixir/test/purge_test.exs and
 * chttpd_security_tests.erl. A document purged of every leaf is gone from reads, listings,
 * `_changes`, views, counts and replication, and from the KV face (the Couchbase SDK finds no
 * document); purging one leaf keeps the rest of the tree and moves the document to a new seq.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentNotFoundError } from 'couchbase';
import { BucketDataSource } from '../../src/consumer/index.js';
import { ADMIN } from '../helpers/server.js';
import { MemoryReceiver } from '../consumer/fixtures/memory-receiver.js';
import { until } from '../consumer/fixtures/cluster.js';
import { SDK_TEST_TIMEOUT, withCollection } from '../kv/sdk.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function put(f: CouchFixture, path: string, body: unknown): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json: body });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

function purge(f: CouchFixture, db: string, body: unknown, auth?: { user: string; password: string } | null) {
  return f.req(`/${db}/_purge`, { method: 'POST', json: body, ...(auth !== undefined ? { auth } : {}) });
}

async function changes(f: CouchFixture, db: string, query = ''): Promise<Array<Record<string, unknown>>> {
  const r = await f.req(`/${db}/_changes${query}`);
  assert.equal(r.status, 200, r.text);
  return arr(obj(r.json).results).map(obj);
}

async function info(f: CouchFixture, db: string): Promise<Record<string, unknown>> {
  return obj((await f.req(`/${db}`)).json);
}

/** Two conflicting leaves `2-b…` and `2-c…` on `1-a…`, written as a replicator would. */
async function conflicted(f: CouchFixture, db: string, id: string): Promise<{ b: string; c: string }> {
  const a = 'a'.repeat(32);
  const b = 'b'.repeat(32);
  const c = 'c'.repeat(32);
  const docs = [
    { _id: id, _rev: `2-${b}`, v: 'b', _revisions: { start: 2, ids: [b, a] } },
    { _id: id, _rev: `2-${c}`, v: 'c', _revisions: { start: 2, ids: [c, a] } },
  ];
  const r = await f.req(`/${db}/_bulk_docs`, { method: 'POST', json: { docs, new_edits: false } });
  assert.equal(r.status, 201, r.text);
  return { b: `2-${b}`, c: `2-${c}` };
}

describe('_purge', () => {
  test('purging every leaf removes the document: reads, listings, _changes, views and counts', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/v', { views: { all: { map: 'function (doc) { emit(doc.n, null); }' } } });
      const r1 = await put(f, '/db/one', { n: 1 });
      await put(f, '/db/two', { n: 2 });
      const r3 = await put(f, '/db/three', { n: 3 });
      const del = await f.req(`/db/three?rev=${r3}`, { method: 'DELETE' });
      const r3del = String(obj(del.json).rev);
      const view = async () => arr(obj((await f.req('/db/_design/v/_view/all')).json).rows).map((r) => obj(r).id);
      assert.deepEqual(await view(), ['one', 'two']);
      const before = await info(f, 'db');
      assert.deepEqual([before.doc_count, before.doc_del_count, before.purge_seq], [3, 1, 0]);

      const r = await purge(f, 'db', { one: [r1], three: [r3del] });
      assert.equal(r.status, 201);
      assert.deepEqual(r.json, { purge_seq: null, purged: { one: [r1], three: [r3del] } });

      assert.deepEqual([(await f.req('/db/one')).status, (await f.req('/db/one')).json], [404, { error: 'not_found', reason: 'missing' }]);
      assert.deepEqual((await f.req('/db/three')).json, { error: 'not_found', reason: 'missing' });
      assert.equal((await f.req(`/db/one?rev=${r1}`)).status, 404);
      const after = await info(f, 'db');
      assert.deepEqual([after.doc_count, after.doc_del_count, after.purge_seq], [2, 0, 2]);
      assert.deepEqual(arr(obj((await f.req('/db/_all_docs')).json).rows).map((row) => obj(row).id), ['_design/v', 'two']);
      const keyed = arr(obj((await f.req('/db/_all_docs', { method: 'POST', json: { keys: ['one', 'two'] } })).json).rows).map(obj);
      assert.deepEqual(keyed[0], { key: 'one', error: 'not_found' });
      assert.deepEqual((await f.req('/db/_revs_diff', { method: 'POST', json: { one: [r1] } })).json, { one: { missing: [r1] } });
      const ids = (await changes(f, 'db')).map((c) => c.id);
      assert.deepEqual(ids.sort(), ['_design/v', 'two']);
      assert.deepEqual((await changes(f, 'db', '?style=all_docs&include_docs=true')).map((c) => c.id).sort(), ['_design/v', 'two']);
      // The view index drops the purged document's rows when it passes its change.
      assert.deepEqual(await view(), ['two']);

      // A new write of the id starts a new document.
      const again = await f.req('/db/one', { method: 'PUT', json: { n: 10 } });
      assert.equal(again.status, 201, again.text);
      assert.match(String(obj(again.json).rev), /^1-/);
      assert.deepEqual(await view(), ['two', 'one']);
      assert.equal((await info(f, 'db')).doc_count, 3);

      // purge_seq survives compaction (purge_test.exs, COUCHDB-1021).
      assert.equal((await f.req('/db/_compact', { method: 'POST', json: {} })).status, 202);
      for (let i = 0; i < 200 && (await info(f, 'db')).compact_running !== false; i++) await new Promise((res) => setTimeout(res, 20));
      assert.equal((await info(f, 'db')).purge_seq, 2);
    }));

  test('purging one conflict leaf keeps the rest of the tree and gives the document a new seq', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/v', { views: { v: { map: 'function (doc) { emit(doc._id, doc.v); }' } } });
      const { b, c } = await conflicted(f, 'db', 'doc');
      await put(f, '/db/other', { v: 'x' });
      const doc = obj((await f.req('/db/doc?conflicts=true')).json);
      assert.deepEqual([doc._rev, doc.v, doc._conflicts], [c, 'c', [b]]);
      assert.deepEqual(arr(obj((await f.req('/db/_design/v/_view/v?key="doc"')).json).rows).map((r) => obj(r).value), ['c']);
      const seqBefore = (await changes(f, 'db')).find((ch) => ch.id === 'doc')!.seq as number;

      // The winner goes: the other leaf wins, with its own body.
      const r = await purge(f, 'db', { doc: [c] });
      assert.deepEqual([r.status, r.json], [201, { purge_seq: null, purged: { doc: [c] } }]);
      const now = obj((await f.req('/db/doc?conflicts=true&revs_info=true')).json);
      assert.deepEqual([now._rev, now.v, now._conflicts], [b, 'b', undefined]);
      assert.deepEqual(arr(now._revs_info).map((i) => obj(i).rev), [b, `1-${'a'.repeat(32)}`]);
      assert.equal((await f.req(`/db/doc?rev=${c}`)).status, 404);
      const rows = await changes(f, 'db', '?style=all_docs');
      assert.deepEqual(rows.map((ch) => ch.id), ['_design/v', 'other', 'doc'], 'the document moved to the end of _changes');
      const row = rows.at(-1)!;
      assert.ok((row.seq as number) > seqBefore);
      assert.deepEqual(row.changes, [{ rev: b }]);
      assert.deepEqual(arr(obj((await f.req('/db/_design/v/_view/v?key="doc"')).json).rows).map((r) => obj(r).value), ['b']);
      assert.deepEqual([(await info(f, 'db')).doc_count, (await info(f, 'db')).doc_del_count], [3, 0]);

      // A descendant of the purged leaf can come back by replication, as in CouchDB.
      const d = 'd'.repeat(32);
      const back = await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'doc', _rev: `3-${d}`, v: 'd', _revisions: { start: 3, ids: [d, c.slice(2)] } }] } });
      assert.equal(back.status, 201);
      assert.deepEqual(obj((await f.req('/db/doc?conflicts=true')).json)._conflicts, [b]);
    }));

  test('unknown documents, unknown and interior revisions are ignored; bad input is refused', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, '/db/doc', { v: 1 });
      const r2 = await put(f, '/db/doc', { v: 2, _rev: r1 });
      // chttpd_purge_tests t_mixed_purge_request: an interior rev and a rev of another document purge nothing.
      const mixed = await purge(f, 'db', { doc: [r1, '9-abc'], nodoc: [r2], [`x${'y'.repeat(300)}`]: [r2], '': [r2] });
      assert.deepEqual([mixed.status, mixed.json], [201, { purge_seq: null, purged: { doc: [], nodoc: [], [`x${'y'.repeat(300)}`]: [], '': [] } }]);
      assert.equal(obj((await f.req('/db/doc')).json).v, 2);
      assert.equal((await info(f, 'db')).purge_seq, 4, 'every request is counted');
      // An empty request (t_empty_purge_request); the same rev twice is purged once.
      assert.deepEqual((await purge(f, 'db', {})).json, { purge_seq: null, purged: {} });
      assert.deepEqual((await purge(f, 'db', { doc: [r2, r2] })).json, { purge_seq: null, purged: { doc: [r2] } });
      // Purging it again finds nothing (purge_test.exs COUCHDB-1065).
      assert.deepEqual((await purge(f, 'db', { doc: [r2] })).json, { purge_seq: null, purged: { doc: [] } });

      assert.deepEqual((await purge(f, 'db', { doc: ['nodash'] })).json, { error: 'bad_request', reason: 'Invalid rev format' });
      assert.deepEqual((await purge(f, 'db', { doc: r2 })).json, { error: 'bad_request', reason: 'Invalid list of revisions' });
      assert.equal((await purge(f, 'db', [r2])).status, 400);
      const text = await f.req('/db/_purge', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
      assert.deepEqual([text.status, obj(text.json).error], [415, 'bad_content_type']);
      const get = await f.req('/db/_purge');
      assert.deepEqual([get.status, get.json], [405, { error: 'method_not_allowed', reason: 'Only POST allowed' }]);
      assert.equal((await purge(f, 'nodb', {})).status, 404);

      // [purge] limits (t_over_many_ids_or_revs_purge_request).
      assert.equal((await f.req('/_node/_local/_config/purge/max_revisions_number', { method: 'PUT', json: '1' })).status, 200);
      assert.deepEqual((await purge(f, 'db', { a: ['1-a'], b: ['1-b'] })).json, { error: 'bad_request', reason: 'Exceeded maximum number of revisions.' });
      assert.equal((await purge(f, 'db', { a: ['1-a'] })).status, 201);
      assert.equal((await f.req('/_node/_local/_config/purge/max_document_id_number', { method: 'PUT', json: '1' })).status, 200);
      assert.deepEqual((await purge(f, 'db', { a: [], b: [] })).json, { error: 'bad_request', reason: 'Exceeded maximum number of documents.' });
    }));

  test('_purged_infos_limit: 1000 by default, a positive integer, GET and PUT only', () =>
    withCouch(async (f) => {
      await createDb(f);
      assert.deepEqual((await f.req('/db/_purged_infos_limit')).json, 1000);
      assert.deepEqual((await f.req('/db/_purged_infos_limit', { method: 'PUT', json: 2 })).json, { ok: true });
      assert.deepEqual((await f.req('/db/_purged_infos_limit')).json, 2);
      for (const bad of [0, -1, 'x', 1.5]) {
        const r = await f.req('/db/_purged_infos_limit', { method: 'PUT', json: bad });
        assert.deepEqual([r.status, r.json], [400, { error: 'bad_request', reason: '`purge_infos_limit` must be positive integer' }]);
      }
      const post = await f.req('/db/_purged_infos_limit', { method: 'POST', json: 2 });
      assert.deepEqual([post.status, obj(post.json).error], [405, 'method_not_allowed']);
      assert.equal((await f.req('/nodb/_purged_infos_limit')).status, 404);
    }));

  test('only server admins may purge or see the purge limit, db admins and members included (apache/couchdb#1877)', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' })).status, 200);
      assert.equal((await f.req('/_users', { method: 'PUT' })).status, 201);
      const bob = { user: 'bob', password: 'bob-secret' };
      assert.equal((await f.req('/_users/org.couchdb.user:bob', { method: 'PUT', json: { name: 'bob', password: bob.password, roles: [], type: 'user' } })).status, 201);
      await createDb(f);
      const sec = { admins: { names: ['bob'], roles: [] }, members: { names: ['bob'], roles: [] } };
      assert.equal((await f.req('/db/_security', { method: 'PUT', json: sec })).status, 200);
      const rev = await put(f, '/db/doc', { v: 1 });
      const refused = { error: 'unauthorized', reason: 'You are not a server admin.' };
      for (const auth of [bob, null]) {
        const r = await purge(f, 'db', { doc: [rev] }, auth);
        assert.deepEqual([r.status, r.json], [401, refused]);
        const limit = await f.req('/db/_purged_infos_limit', { auth });
        assert.deepEqual([limit.status, limit.json], [401, refused]);
        const set = await f.req('/db/_purged_infos_limit', { method: 'PUT', json: 5, auth });
        assert.deepEqual([set.status, set.json], [401, refused]);
      }
      assert.equal((await f.req('/db/doc', { auth: bob })).status, 200, 'bob is a db admin all the same');
      assert.deepEqual((await purge(f, 'db', { doc: [rev] })).json, { purge_seq: null, purged: { doc: [rev] } });
    }));

  test('a purged document does not come back by replication from this database', () =>
    withCouch(async (f) => {
      await createDb(f, 'src');
      await createDb(f, 'dst');
      const rev = await put(f, '/src/gone', { v: 1 });
      await put(f, '/src/kept', { v: 2 });
      assert.deepEqual((await purge(f, 'src', { gone: [rev] })).json, { purge_seq: null, purged: { gone: [rev] } });
      const r = await f.req('/_replicate', { method: 'POST', json: { source: 'src', target: 'dst' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(obj(r.json).ok, true);
      assert.deepEqual(arr(obj((await f.req('/dst/_all_docs')).json).rows).map((row) => obj(row).id), ['kept']);
      assert.equal((await f.req('/dst/gone')).status, 404);
      // Longpoll and continuous feeds leave it out too.
      const live = await f.req('/src/_changes?feed=continuous&timeout=10');
      assert.deepEqual(live.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).flatMap((l) => (l.id ? [l.id] : [])), ['kept']);
    }));

  test('over KV, a purged document is gone (DocumentNotFound); a partly purged one shows its new winner', { timeout: SDK_TEST_TIMEOUT }, () =>
    withCouch(async (f) => {
      await createDb(f, 'kv');
      const rev = await put(f, '/kv/gone', { v: 1 });
      const { b, c } = await conflicted(f, 'kv', 'split');
      await withCollection(f.server.server.ports.kv, 'kv', async (coll) => {
        assert.deepEqual((await coll.get('gone')).content, { v: 1 });
        assert.deepEqual((await coll.get('split')).content, { v: 'c' });
        assert.deepEqual((await purge(f, 'kv', { gone: [rev], split: [c] })).json, { purge_seq: null, purged: { gone: [rev], split: [c] } });
        await assert.rejects(coll.get('gone'), DocumentNotFoundError);
        assert.deepEqual((await coll.get('split')).content, { v: 'b' });
        // A KV write of the id after the purge is a new document for the CouchDB face.
        await coll.upsert('gone', { v: 'kv' });
        const doc = obj((await f.req('/kv/gone')).json);
        assert.equal(doc.v, 'kv');
        assert.notEqual(doc._rev, rev);
      });
      assert.deepEqual((await f.req(`/kv/split`)).json, { _id: 'split', _rev: b, v: 'b' });
    }));

  test('a DCP consumer that holds the document receives its purge as a deletion', () =>
    withCouch(async (f) => {
      await createDb(f, 'feed');
      const rev = await put(f, '/feed/gone', { v: 1 });
      await put(f, '/feed/kept', { v: 2 });
      const receiver = new MemoryReceiver();
      const ds = new BucketDataSource({ seeds: [`couchbase://127.0.0.1:${f.server.server.ports.kv}/feed`], credentials: ADMIN, receiver });
      try {
        ds.start();
        await until(() => receiver.state().has('gone') && receiver.state().has('kept'), 'both documents streamed');
        assert.equal((await purge(f, 'feed', { gone: [rev] })).status, 201);
        await until(() => !receiver.state().has('gone'), 'the deletion streamed');
        assert.deepEqual([...receiver.state().keys()], ['kept']);
        assert.deepEqual(receiver.errors, []);
      } finally {
        await ds.close();
      }
    }));
});
