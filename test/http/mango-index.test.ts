// Mango json indexes over HTTP (undici and PouchDB with pouchdb-find, real server): `_index`
// create/list/delete and the design document CouchDB stores, and `_find` reading the index
// rather than the database (execution_stats), sorted, paged, after updates, `use_index`,
// partial filters, `_explain`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB, type PouchDatabase } from './pouch.js';

async function post(f: CouchFixture, path: string, json: unknown): Promise<Record<string, unknown>> {
  const r = await f.req(path, { method: 'POST', json });
  assert.equal(r.status, path.endsWith('_bulk_docs') ? 201 : 200, `${path}: ${r.text}`);
  return obj(r.json);
}

async function seed(f: CouchFixture, n: number): Promise<void> {
  await createDb(f);
  const docs = Array.from({ length: n }, (_, i) => ({ _id: `d${String(i).padStart(4, '0')}`, age: i % 50, name: `n${i}`, kind: i % 2 === 0 ? 'even' : 'odd' }));
  const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } });
  assert.equal(r.status, 201);
}

const ids = (r: Record<string, unknown>): string[] => arr(r.docs).map((d) => String(obj(d)._id));

describe('_index', () => {
  test('any other path under _index is 404 for every method (mango_httpd)', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'COPY', 'TRACE', 'PATCH']) {
        for (const path of ['/db/_index/a', '/db/_index/a/b', '/db/_index/a/b/c/d/e/f']) {
          const r = await f.req(path, { method, ...(method === 'PUT' || method === 'POST' ? { json: {} } : {}) });
          assert.deepEqual([r.status, r.json], [404, { error: 'not_found', reason: 'missing' }], `${method} ${path}`);
        }
      }
      assert.equal((await f.req('/db/_index/d/json/n', { method: 'PUT', json: {} })).status, 405);
    }));

  test('the same fields under two names are two generated design documents (mango_idx gen_name/2)', () =>
    withCouch(async (f) => {
      await createDb(f);
      const one = await post(f, '/db/_index', { index: { fields: ['foo'] }, name: 'foo-index', type: 'json' });
      const two = await post(f, '/db/_index', { index: { fields: ['foo'] }, name: 'bar-index', type: 'json' });
      assert.notEqual(one.id, two.id);
      assert.equal((await post(f, '/db/_index', { index: { fields: ['foo'] }, name: 'foo-index', type: 'json' })).result, 'exists');
    }));

  test('create, list, the stored design document, exists, delete', () =>
    withCouch(async (f) => {
      await createDb(f);
      const created = await post(f, '/db/_index', { index: { fields: ['age'] }, name: 'by-age', ddoc: 'people' });
      assert.deepEqual(created, { result: 'created', id: '_design/people', name: 'by-age' });
      const ddoc = obj((await f.req('/db/_design/people')).json);
      assert.match(String(ddoc._rev), /^1-/);
      assert.deepEqual({ ...ddoc, _rev: undefined }, {
        _id: '_design/people',
        _rev: undefined,
        language: 'query',
        views: { 'by-age': { map: { fields: { age: 'asc' }, partial_filter_selector: {} }, reduce: '_count', options: { def: { fields: ['age'] } } } },
      });
      assert.equal((await post(f, '/db/_index', { index: { fields: ['age'] }, name: 'by-age', ddoc: 'people' })).result, 'exists');
      // Its _info, as for any design document (01_index_crud "read idx doc").
      const info = await f.req('/db/_design/people/_info');
      assert.equal(info.status, 200, info.text);
      assert.equal(obj(info.json).name, 'people');
      assert.equal(obj(obj(info.json).view_index).language, 'query');
      const auto = await post(f, '/db/_index', { index: { fields: [{ name: 'desc' }] } });
      assert.match(String(auto.id), /^_design\/[0-9a-f]{40}$/);
      assert.match(String(auto.name), /^[0-9a-f]{40}$/);
      const list = await f.req('/db/_index');
      assert.deepEqual(list.json, {
        total_rows: 3,
        indexes: [
          { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } },
          ...[
            { ddoc: '_design/people', name: 'by-age', type: 'json', partitioned: false, def: { fields: [{ age: 'asc' }] } },
            { ddoc: auto.id, name: auto.name, type: 'json', partitioned: false, def: { fields: [{ name: 'desc' }] } },
          ].sort((a, b) => (String(a.ddoc) < String(b.ddoc) ? -1 : 1)),
        ],
      });
      assert.equal(arr(obj((await f.req('/db/_index?skip=1&limit=1')).json).indexes).length, 1);
      assert.equal((await f.req('/db/_index?limit=0')).status, 500);
      const del = await f.req('/db/_index/_design/people/json/by-age', { method: 'DELETE' });
      assert.deepEqual(del.json, { ok: true });
      assert.equal((await f.req('/db/_design/people')).status, 404);
      assert.equal((await f.req('/db/_index/people/json/by-age', { method: 'DELETE' })).status, 404);
      const bulk = await post(f, '/db/_index/_bulk_delete', { docids: [auto.id, 'nope'] });
      assert.deepEqual(bulk, { success: [{ id: auto.id, ok: true }], fail: [{ id: '_design/nope', error: 'not_found' }] });
      assert.equal(obj((await f.req('/db/_index')).json).total_rows, 1);
    }));

  test('index definition errors; a JavaScript design document is not a Mango one', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bad = async (json: unknown, status: number, error: string): Promise<void> => {
        const r = await f.req('/db/_index', { method: 'POST', json });
        assert.equal(r.status, status, r.text);
        assert.equal(obj(r.json).error, error);
      };
      await bad({}, 400, 'missing_required_key');
      await bad({ index: { fields: ['a'] }, type: 'geo' }, 400, 'invalid_index');
      await bad({ index: { fields: 'a' } }, 400, 'invalid_sort_json');
      await bad({ index: { fields: ['a'], bogus: 1 } }, 400, 'invalid_key');
      assert.equal((await f.req('/db/_design/js', { method: 'PUT', json: { views: { v: { map: 'function(d){}' } } } })).status, 201);
      await bad({ index: { fields: ['a'] }, ddoc: 'js' }, 400, 'invalid_ddoc_lang');
      assert.equal((await f.req('/db/_index', { method: 'PUT', json: {} })).status, 405);
    }));
});

describe('_find with a json index', () => {
  test('reads the index: only matching documents are examined, and no warning', () =>
    withCouch(async (f) => {
      await seed(f, 500);
      await post(f, '/db/_index', { index: { fields: ['age'] }, name: 'by-age', ddoc: 'people' });
      const r = await post(f, '/db/_find', { selector: { age: 7 }, execution_stats: true, limit: 100 });
      assert.equal(r.warning, undefined);
      assert.equal(arr(r.docs).length, 10);
      assert.ok(arr(r.docs).every((d) => obj(d).age === 7));
      const stats = obj(r.execution_stats);
      assert.equal(stats.total_keys_examined, 10);
      assert.equal(stats.total_docs_examined, 10);
      assert.equal(stats.results_returned, 10);
      // The same query on a field without an index examines every document.
      const scan = await post(f, '/db/_find', { selector: { name: 'n7' }, execution_stats: true });
      // The design document holding the index is read too, but never a result (CouchDB's 15
      // execution-stats test counts its 10 index design documents the same way).
      assert.equal(obj(scan.execution_stats).total_docs_examined, 501);
      assert.equal(obj(scan.execution_stats).total_keys_examined, 501);
      assert.equal(arr(scan.docs).length, 1);
      // A range: start and end keys bound the read.
      const range = await post(f, '/db/_find', { selector: { age: { $gte: 10, $lt: 12 } }, execution_stats: true, limit: 100 });
      assert.equal(arr(range.docs).length, 20);
      // Rows whose key is outside the range (age 12, read up to the inclusive end key [12, MAX])
      // are examined as keys only.
      assert.equal(obj(range.execution_stats).total_keys_examined, 30);
      assert.equal(obj(range.execution_stats).total_docs_examined, 20);
      const e = await post(f, '/db/_explain', { selector: { age: { $gt: 10, $lte: 12 } } });
      assert.equal(obj(e.index).name, 'by-age');
      assert.deepEqual(obj(e.mrargs).start_key, [10]);
      assert.deepEqual(obj(e.mrargs).end_key, [12, '<MAX>']);
    }));

  test('sorted by the index both ways, paged by bookmark, current after writes', () =>
    withCouch(async (f) => {
      await seed(f, 120);
      await post(f, '/db/_index', { index: { fields: ['age', 'name'] }, name: 'age-name', ddoc: 'p' });
      const asc = await post(f, '/db/_find', { selector: { age: { $gte: 47 } }, sort: ['age', 'name'], fields: ['age', 'name'], limit: 4 });
      assert.deepEqual(asc.docs, [{ age: 47, name: 'n47' }, { age: 47, name: 'n97' }, { age: 48, name: 'n48' }, { age: 48, name: 'n98' }]);
      const desc = await post(f, '/db/_find', { selector: { age: { $gt: 0 } }, sort: [{ age: 'desc' }, { name: 'desc' }], fields: ['age', 'name'], limit: 3 });
      assert.deepEqual(desc.docs, [{ age: 49, name: 'n99' }, { age: 49, name: 'n49' }, { age: 48, name: 'n98' }]);
      // Paging: every document with age < 3 exactly once, in index order.
      const seen: string[] = [];
      let bookmark: unknown;
      for (;;) {
        const page = await post(f, '/db/_find', { selector: { age: { $lt: 3 } }, sort: ['age', 'name'], limit: 2, ...(bookmark ? { bookmark } : {}) });
        if (arr(page.docs).length === 0) break;
        seen.push(...ids(page));
        bookmark = page.bookmark;
      }
      assert.equal(seen.length, 9);
      assert.equal(new Set(seen).size, 9);
      // The index follows writes: an update moves a document, a deletion removes it.
      const d0 = obj((await f.req('/db/d0000')).json);
      await f.req('/db/d0000', { method: 'PUT', json: { ...d0, age: 1000 } });
      const d1 = obj((await f.req('/db/d0001')).json);
      await f.req(`/db/d0001?rev=${String(d1._rev)}`, { method: 'DELETE' });
      assert.deepEqual(ids(await post(f, '/db/_find', { selector: { age: { $gt: 999 } } })), ['d0000']);
      assert.ok(!ids(await post(f, '/db/_find', { selector: { age: 1 }, limit: 100 })).includes('d0001'));
      // update:false reads the index as it is.
      await f.req('/db/new', { method: 'PUT', json: { age: 2000, name: 'x' } });
      const q = { selector: { age: 2000, name: 'x' } };
      assert.equal(obj((await post(f, '/db/_explain', q)).index).name, 'age-name');
      assert.deepEqual(ids(await post(f, '/db/_find', { ...q, update: false })), []);
      assert.deepEqual(ids(await post(f, '/db/_find', q)), ['new']);
    }));

  test('use_index: a named usable index is used, an unusable one is ignored with a warning', () =>
    withCouch(async (f) => {
      await seed(f, 60);
      await post(f, '/db/_index', { index: { fields: ['age'] }, name: 'a', ddoc: 'one' });
      await post(f, '/db/_index', { index: { fields: ['age'], partial_filter_selector: { kind: 'even' } }, name: 'even', ddoc: 'two' });
      const plain = await post(f, '/db/_find', { selector: { age: 4 }, execution_stats: true });
      assert.deepEqual(ids(plain), ['d0004', 'd0054']);
      // The partial index is only used when named, and holds only its documents.
      const partial = await post(f, '/db/_find', { selector: { age: { $gt: 45 } }, use_index: ['two', 'even'], execution_stats: true });
      assert.deepEqual(ids(partial), ['d0046', 'd0048']);
      assert.equal(obj(partial.execution_stats).total_docs_examined, 2);
      const ignored = await post(f, '/db/_find', { selector: { name: 'n3' }, use_index: 'one' });
      assert.deepEqual(ids(ignored), ['d0003']);
      assert.deepEqual(String(ignored.warning).split('\n'), [
        '_design/one was not used because it does not contain a valid index for this query.',
        'No matching index found, create an index to optimize query time.',
        'The number of documents examined is high in proportion to the number of results returned. Consider adding a more specific index to improve this.',
      ]);
      const e = await post(f, '/db/_explain', { selector: { age: 3 }, use_index: '_design/two/even' });
      assert.equal(obj(e.index).name, 'even');
    }));

  test('PouchDB (pouchdb-find) creates an index and finds through it', () =>
    withCouch(async (f) => {
      await seed(f, 30);
      const require = createRequire(import.meta.url);
      const Pouch = PouchDB.plugin(require('pouchdb-find'));
      const remote = new Pouch(`${f.base}/db`, { auth: { username: 'Administrator', password: 'password' } }) as PouchDatabase & {
        createIndex(i: unknown): Promise<{ result: string }>;
        find(q: unknown): Promise<{ docs: Array<Record<string, unknown>>; warning?: string }>;
      };
      assert.equal((await remote.createIndex({ index: { fields: ['age'] } })).result, 'created');
      const r = await remote.find({ selector: { age: { $gte: 28 } }, sort: [{ age: 'desc' }], fields: ['_id', 'age'] });
      assert.deepEqual(r.docs, [{ _id: 'd0029', age: 29 }, { _id: 'd0028', age: 28 }]);
      assert.equal(r.warning, undefined);
    }));
});
