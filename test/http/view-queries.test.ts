/**
 * `POST /{db}/_design/{ddoc}/_view/{view}/queries` (CouchDB 2.2+, chttpd_view:multi_query_view/5):
 * several view queries in one request, each query's parameters over the query string's, answered
 * as `{"results": [...]}` in order.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const ddoc = { views: { byN: { map: 'function (doc) { if (doc.n !== undefined) emit(doc.n, doc.n * 10); }', reduce: '_sum' } } };
  assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: ddoc })).status, 201);
  const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [1, 2, 3, 4].map((n) => ({ _id: `k${n}`, n })) } });
  assert.equal(r.status, 201);
}

describe('view /queries', () => {
  test('one result per query, in order; each query overrides the query string', () =>
    withCouch(async (f) => {
      await seed(f);
      const r = await f.req('/db/_design/d/_view/byN/queries?reduce=false', {
        method: 'POST',
        json: { queries: [{ keys: [3, 1] }, { startkey: 2, limit: 2, include_docs: true }, { reduce: true }, { reduce: true, group: true, descending: true, limit: 1 }] },
      });
      assert.equal(r.status, 200, r.text);
      const results = arr(obj(r.json).results).map(obj);
      assert.equal(results.length, 4);
      assert.deepEqual(arr(results[0]!.rows).map((row) => obj(row).key), [3, 1]);
      assert.equal(results[0]!.total_rows, 4);
      const second = arr(results[1]!.rows).map(obj);
      assert.deepEqual(second.map((row) => row.id), ['k2', 'k3']);
      assert.equal(obj(second[0]!.doc).n, 2);
      assert.deepEqual(results[2]!.rows, [{ key: null, value: 100 }]);
      assert.deepEqual(results[3]!.rows, [{ key: 4, value: 40 }]);
    }));

  test('errors: no queries or a bad one is 400 before any runs; GET 405; missing view 404', () =>
    withCouch(async (f) => {
      await seed(f);
      const none = await f.req('/db/_design/d/_view/byN/queries', { method: 'POST', json: {} });
      assert.equal(none.status, 400);
      assert.deepEqual(obj(none.json), { error: 'bad_request', reason: 'POST body must include `queries` parameter.' });
      const notObject = await f.req('/db/_design/d/_view/byN/queries', { method: 'POST', json: { queries: [{}, 3] } });
      assert.equal(notObject.status, 400);
      const badParam = await f.req('/db/_design/d/_view/byN/queries', { method: 'POST', json: { queries: [{}, { limit: -1 }] } });
      assert.equal(badParam.status, 400);
      assert.equal(obj(badParam.json).error, 'query_parse_error');
      assert.equal((await f.req('/db/_design/d/_view/byN/queries')).status, 405);
      const missing = await f.req('/db/_design/d/_view/nope/queries', { method: 'POST', json: { queries: [{}] } });
      assert.equal(missing.status, 404);
    }));
});
