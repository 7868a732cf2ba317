/**
 * `POST /{db}/_all_docs/queries` and `_design_docs/queries` (CouchDB 2.2+,
 * chttpd_db:multi_all_docs_view/4): several listings in one request, each query's parameters over
 * the request's query string, answered as `{"results": [...]}` in order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('_all_docs/queries', () => {
  test('one listing per query, query parameters as defaults, each query overriding them', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['a', 'b', 'c', '_design/d']) assert.equal((await f.req(`/db/${id}`, { method: 'PUT', json: { v: id } })).status, 201);
      const r = await f.req('/db/_all_docs/queries?include_docs=true', {
        method: 'POST',
        json: { queries: [{ keys: ['c', 'zz'] }, { limit: 1, include_docs: false }, { startkey: 'b', endkey: 'c', update_seq: true }] },
      });
      assert.equal(r.status, 200, r.text);
      const results = arr(obj(r.json).results).map(obj);
      assert.equal(results.length, 3);
      assert.deepEqual(results[0]!.offset, null);
      const [hit, miss] = arr(results[0]!.rows).map(obj);
      assert.equal(obj(hit!.doc).v, 'c');
      assert.deepEqual(miss, { key: 'zz', error: 'not_found' });
      assert.equal(results[1]!.total_rows, 4);
      assert.deepEqual(arr(results[1]!.rows).map((row) => Object.keys(obj(row)).sort()), [['id', 'key', 'value']]);
      assert.deepEqual(arr(results[2]!.rows).map((row) => obj(row).id), ['b', 'c']);
      assert.equal(typeof results[2]!.update_seq, 'number');
      assert.ok(arr(results[2]!.rows).every((row) => obj(row).doc !== undefined));

      const d = await f.req('/db/_design_docs/queries', { method: 'POST', json: { queries: [{}, { descending: true, limit: 0 }] } });
      assert.equal(d.status, 200, d.text);
      const dr = arr(obj(d.json).results).map(obj);
      assert.deepEqual(arr(dr[0]!.rows).map((row) => obj(row).id), ['_design/d']);
      assert.deepEqual(dr[1]!.rows, []);
    }));

  test('errors: no queries 400, GET 405, unknown database 404', () =>
    withCouch(async (f) => {
      await createDb(f);
      const none = await f.req('/db/_all_docs/queries', { method: 'POST', json: {} });
      assert.equal(none.status, 400);
      assert.deepEqual(none.json, { error: 'bad_request', reason: 'POST body must include `queries` parameter.' });
      const get = await f.req('/db/_all_docs/queries');
      assert.equal(get.status, 405);
      const missing = await f.req('/nodb/_all_docs/queries', { method: 'POST', json: { queries: [{}] } });
      assert.equal(missing.status, 404);
    }));

  test('_local_docs/queries: the same over the local documents', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['a', 'b', 'c']) assert.equal((await f.req(`/db/_local/${id}`, { method: 'PUT', json: { v: id } })).status, 201);
      const r = await f.req('/db/_local_docs/queries?include_docs=true', {
        method: 'POST',
        json: { queries: [{ keys: ['_local/b', '_local/zz'] }, { descending: true, limit: 2, include_docs: false }] },
      });
      assert.equal(r.status, 200, r.text);
      const [byKeys, desc] = arr(obj(r.json).results).map(obj);
      const [hit, miss] = arr(byKeys!.rows).map(obj);
      assert.equal(obj(hit!.doc).v, 'b');
      assert.deepEqual(miss, { key: '_local/zz', error: 'not_found' });
      assert.deepEqual(arr(desc!.rows).map((row) => obj(row).id), ['_local/c', '_local/b']);
      assert.ok(arr(desc!.rows).every((row) => obj(row).doc === undefined));
      assert.equal((await f.req('/db/_local_docs/queries')).status, 405);
      assert.equal((await f.req('/db/_local_docs/queries', { method: 'POST', json: { queries: 1 } })).status, 400);
    }));
});
