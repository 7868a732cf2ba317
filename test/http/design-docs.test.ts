/**
 * `GET|POST /{db}/_design_docs` (CouchDB 2.2+, api/database/bulk-api.rst): `_all_docs` over the
 * design documents only, with `total_rows` their count (apache/couchdb#1744).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function put(f: CouchFixture, path: string, json: unknown): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

const ids = (json: unknown): unknown[] => arr(obj(json).rows).map((row) => obj(row).id ?? obj(row).key);

describe('_design_docs', () => {
  test('lists the live design documents only, in id order, both ways, with their count', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/a', { n: 1 });
      await put(f, '/db/_design/x', { views: {} });
      await put(f, '/db/_design/y', { views: {} });
      const gone = await put(f, '/db/_design/z', {});
      assert.equal((await f.req(`/db/_design/z?rev=${gone}`, { method: 'DELETE' })).status, 200);
      await put(f, '/db/zz', { n: 2 });

      const all = await f.req('/db/_design_docs');
      assert.equal(all.status, 200);
      assert.deepEqual(ids(all.json), ['_design/x', '_design/y']);
      assert.equal(obj(all.json).total_rows, 2);
      assert.equal(obj(all.json).offset, 0);
      assert.deepEqual(ids((await f.req('/db/_design_docs?descending=true')).json), ['_design/y', '_design/x']);
      assert.deepEqual(ids((await f.req('/db/_design_docs?limit=1&skip=1')).json), ['_design/y']);
      // _all_docs still counts every live document.
      assert.equal(obj((await f.req('/db/_all_docs')).json).total_rows, 4);
    }));

  test('a range is narrowed to the design namespace; include_docs gives the documents', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/x', { views: {} });
      await put(f, '/db/_design/y', { language: 'javascript' });
      await put(f, '/db/b', { n: 1 });
      const q = async (qs: string): Promise<unknown> => (await f.req(`/db/_design_docs?${qs}`)).json;
      assert.deepEqual(ids(await q('startkey=%22_design%2Fy%22')), ['_design/y']);
      assert.deepEqual(ids(await q('endkey=%22_design%2Fx%22')), ['_design/x']);
      assert.deepEqual(ids(await q('endkey=%22_design%2Fy%22&inclusive_end=false')), ['_design/x']);
      // A wider range than the namespace lists no ordinary document.
      assert.deepEqual(ids(await q('startkey=%22%22&endkey=%22zzz%22')), ['_design/x', '_design/y']);
      assert.deepEqual(ids(await q('startkey=%22a%22')), []);
      const withDoc = obj(arr(obj(await q('key=%22_design%2Fy%22&include_docs=true')).rows)[0]);
      assert.equal(obj(withDoc.doc).language, 'javascript');
    }));

  test('POST with keys: a row per key, deleted and missing ones as _all_docs shows them', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/x', { views: {} });
      const gone = await put(f, '/db/_design/z', {});
      assert.equal((await f.req(`/db/_design/z?rev=${gone}`, { method: 'DELETE' })).status, 200);
      const r = await f.req('/db/_design_docs', { method: 'POST', json: { keys: ['_design/x', '_design/z', '_design/none'] } });
      assert.equal(r.status, 200);
      const rows = arr(obj(r.json).rows).map(obj);
      assert.equal(rows[0]!.id, '_design/x');
      assert.deepEqual(obj(rows[1]!.value).deleted, true);
      assert.deepEqual(rows[2], { key: '_design/none', error: 'not_found' });
      assert.equal(obj(r.json).offset, null);
      const notJson = await f.req('/db/_design_docs', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
      assert.equal(notJson.status, 415);
    }));

  test('a missing database is 404 and a bucket user without it 403, as for _all_docs', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/nodb/_design_docs')).status, 404);
      await createDb(f, 'theirs');
      await f.server.server.users.setBucketUser('alice', 'alice-secret', ['default']);
      assert.equal((await f.req('/theirs/_design_docs', { auth: { user: 'alice', password: 'alice-secret' } })).status, 403);
    }));
});

describe('design documents through the capi service', () => {
  test('a Couchbase SDK request (client-context-id) replaces or deletes a design document without a rev; a CouchDB client gets 409', () =>
    withCouch(async (f) => {
      await createDb(f);
      const sdk = { 'client-context-id': 'ctx-1' };
      await put(f, '/db/_design/v', { views: { a: { map: 'function (doc) { emit(1); }' } } });
      const plain = await f.req('/db/_design/v', { method: 'PUT', json: { views: {} } });
      assert.equal(plain.status, 409, 'CouchDB MVCC without the header');
      assert.equal((await f.req('/db/_design/v', { method: 'DELETE' })).status, 409);
      const replaced = await f.req('/db/_design/v', { method: 'PUT', json: { views: { b: { map: 'function (doc) { emit(2); }' } } }, headers: sdk });
      assert.equal(replaced.status, 201, replaced.text);
      assert.match(String(obj(replaced.json).rev), /^2-/);
      assert.deepEqual(Object.keys(obj(obj((await f.req('/db/_design/v')).json).views)), ['b']);
      // Only design documents: a plain document still needs its rev.
      await put(f, '/db/plain', { x: 1 });
      assert.equal((await f.req('/db/plain', { method: 'PUT', json: { x: 2 }, headers: sdk })).status, 409);
      assert.equal((await f.req('/db/_design/v', { method: 'DELETE', headers: sdk })).status, 200);
      assert.equal((await f.req('/db/_design/v')).status, 404);
      assert.equal((await f.req('/db/_design/v', { method: 'DELETE', headers: sdk })).status, 404);
    }));

  test("the Java SDK's view index manager (User-Agent couchbase-java, no client-context-id): upsert twice, publish, drop", () =>
    withCouch(async (f) => {
      await createDb(f);
      // What core-io's CoreViewIndexManager sends: no client-context-id; NonChunkedHttpMessageHandler
      // sets User-Agent to the environment's formattedLong.
      const java = { 'user-agent': 'couchbase-java/3.13.1 (Linux 6.1.0 amd64; OpenJDK 64-Bit Server VM 17.0.15+6)' };
      const ddoc = (map: string): unknown => ({ views: { byName: { map } } });
      const first = await f.req('/db/_design/dev_people', { method: 'PUT', json: ddoc('function (doc, meta) { emit(doc.name, null); }'), headers: java });
      assert.equal(first.status, 201, first.text);
      const second = await f.req('/db/_design/dev_people', { method: 'PUT', json: ddoc('function (doc, meta) { emit(meta.id, null); }'), headers: java });
      assert.equal(second.status, 201, second.text);
      assert.match(String(obj(second.json).rev), /^2-/);

      // publishDesignDocument: GET the development document and PUT its bytes, as read, under the
      // production name; the `_id` and `_rev` they carry are the development document's.
      const dev = await f.req('/db/_design/dev_people', { headers: java });
      assert.equal(dev.status, 200);
      const published = await f.req('/db/_design/people', { method: 'PUT', body: dev.body, headers: { ...java, 'content-type': 'application/json' } });
      assert.equal(published.status, 201, published.text);
      assert.equal(obj(published.json).id, '_design/people');
      assert.match(String(obj(published.json).rev), /^1-/);
      const prod = obj((await f.req('/db/_design/people')).json);
      assert.deepEqual(obj(obj(prod.views).byName).map, 'function (doc, meta) { emit(meta.id, null); }');
      // Publishing again replaces it, whatever rev the body names.
      const again = await f.req('/db/_design/people', { method: 'PUT', body: dev.body, headers: { ...java, 'content-type': 'application/json' } });
      assert.equal(again.status, 201, again.text);
      assert.match(String(obj(again.json).rev), /^2-/);

      assert.equal((await f.req('/db/_design/people', { method: 'DELETE', headers: java })).status, 200);
      assert.equal((await f.req('/db/_design/dev_people', { method: 'DELETE', headers: java })).status, 200);
      assert.equal((await f.req('/db/_design/people', { method: 'DELETE', headers: java })).status, 404);
      assert.equal((await f.req('/db/_design/people', { headers: java })).status, 404);

      // A CouchDB client keeps MVCC: a stale or missing rev is still 409.
      const couch = await put(f, '/db/_design/c', { views: {} });
      assert.equal((await f.req('/db/_design/c', { method: 'PUT', json: { views: {} } })).status, 409);
      assert.equal((await f.req('/db/_design/c', { method: 'PUT', json: { _rev: '1-00000000000000000000000000000000', views: {} } })).status, 409);
      assert.equal((await f.req('/db/_design/c', { method: 'PUT', json: { views: {} }, headers: { 'user-agent': 'CouchDB-Replicator/3.3.3' } })).status, 409);
      assert.equal((await f.req(`/db/_design/c?rev=${couch}`, { method: 'DELETE' })).status, 200);
    }));
});
