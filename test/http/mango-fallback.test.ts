// `allow_fallback` of `_find` / `_explain` (CouchDB 3.4, apache/couchdb#4792; src/mango/planner.ts)
// as the mango suite's 05-index-selection "without fallback" tests use it, and a `language:
// "query"` design document whose map is JavaScript, refused as couch_mrview validate_ddoc_fields
// refuses it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const docs = [{ _id: 'a', manager: true, company: 'x' }, { _id: 'b', manager: false, company: 'y' }];
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
  const r = await f.req('/db/_index', { method: 'POST', json: { index: { fields: ['manager'] }, ddoc: 'manager', name: 'manager' } });
  assert.equal(r.status, 200, r.text);
}

async function post(f: CouchFixture, body: Record<string, unknown>, path = '/db/_find'): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await f.req(path, { method: 'POST', json: body });
  return { status: r.status, json: obj(r.json) };
}

describe('allow_fallback', () => {
  test('false: a usable index is used; an unusable use_index or an _all_docs-only query is 400 invalid_index', () =>
    withCouch(async (f) => {
      await seed(f);
      const ok = async (body: Record<string, unknown>): Promise<string[]> => {
        const r = await post(f, { selector: { manager: true }, allow_fallback: false, ...body });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        return arr(r.json.docs).map((d) => String(obj(d)._id));
      };
      assert.deepEqual(await ok({ use_index: 'manager' }), ['a']);
      assert.deepEqual(await ok({ use_index: [] }), ['a']);
      assert.deepEqual(await ok({}), ['a']);
      assert.deepEqual(await post(f, { selector: { manager: true }, use_index: 'invalid', allow_fallback: false }), {
        status: 400,
        json: { error: 'invalid_index', reason: '_design/invalid specified by `use_index` could not be found or it is not suitable.' },
      });
      assert.deepEqual(await post(f, { selector: { company: 'x' }, use_index: ['manager', 'manager'], allow_fallback: false }), {
        status: 400,
        json: { error: 'invalid_index', reason: '_design/manager, manager specified by `use_index` could not be found or it is not suitable.' },
      });
      for (const body of [{ use_index: [] }, {}]) {
        assert.deepEqual(await post(f, { selector: { company: 'x' }, allow_fallback: false, ...body }), {
          status: 400,
          json: { error: 'invalid_index', reason: 'You must specify an index with the `use_index` parameter.' },
        });
      }
      // _explain refuses the same, and shows the option otherwise.
      assert.equal((await post(f, { selector: { company: 'x' }, allow_fallback: false }, '/db/_explain')).status, 400);
      const explained = await post(f, { selector: { manager: true }, allow_fallback: false }, '/db/_explain');
      assert.equal(obj(explained.json.opts).allow_fallback, false);
      assert.equal(obj((await post(f, { selector: { manager: true } }, '/db/_explain')).json.opts).allow_fallback, true);
      // The default (and true) keeps falling back, with the warning.
      const fell = await post(f, { selector: { company: 'x' }, use_index: 'invalid', allow_fallback: true });
      assert.equal(fell.status, 200);
      assert.match(String(fell.json.warning), /_design\/invalid was not used/);
      const bad = await post(f, { selector: { manager: true }, allow_fallback: 'no' });
      assert.deepEqual([bad.status, bad.json.error], [400, 'invalid_boolean']);
    }));
});

describe('design document views', () => {
  test('a language "query" design document with a JavaScript map is 400 invalid_design_doc, as a bad map type is', () =>
    withCouch(async (f) => {
      await seed(f);
      // 05-index-selection "manual bad view idx01".
      const bad = { language: 'query', views: { views001: { map: 'function(employee){if(employee.training){emit(employee.number, employee.training);}}' } } };
      const put = await f.req('/db/_design/bad_view_index', { method: 'PUT', json: bad });
      assert.equal(put.status, 400);
      assert.deepEqual(put.json, { error: 'invalid_design_doc', reason: '`views.views001.map` field must have object type' });
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_design/bad_view_index', ...bad }, { _id: 'fine' }] } });
      assert.equal(bulk.status, 201);
      const rows = arr(bulk.json).map(obj);
      assert.deepEqual([rows[0]!.error, rows[0]!.reason], ['invalid_design_doc', '`views.views001.map` field must have object type']);
      assert.equal(rows[1]!.ok, true);
      assert.equal((await f.req('/db/_design/bad_view_index')).status, 404);
      // A JavaScript design document's map and reduce are strings.
      const js = await f.req('/db/_design/js', { method: 'PUT', json: { views: { v: { map: { fields: {} } } } } });
      assert.deepEqual(js.json, { error: 'invalid_design_doc', reason: '`views.v.map` field must have string type' });
      const red = await f.req('/db/_design/js', { method: 'PUT', json: { views: { v: { map: 'function (d) { emit(1); }', reduce: 3 } } } });
      assert.deepEqual(red.json, { error: 'invalid_design_doc', reason: '`views.v.reduce` field must have string type' });
      // A Mango design document written by hand, and the _index one, are fine; so is a deletion.
      const mango = await f.req('/db/_design/byhand', { method: 'PUT', json: { language: 'query', views: { v: { map: { fields: { company: 'asc' } }, reduce: '_count', options: { def: { fields: ['company'] } } } } } });
      assert.equal(mango.status, 201, mango.text);
      const index = obj((await f.req('/db/_design/manager')).json);
      assert.equal((await f.req(`/db/_design/manager?rev=${String(index._rev)}`, { method: 'DELETE' })).status, 200);
    }));
});
