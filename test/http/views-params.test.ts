/**
 * View query parameters as CouchDB 3.x reads them: `group` and `group_level` together, as
 * couch_mrview_util determine_group_level does (a `group_level` wins over `group=true` in whichever
 * order they come, query string, POST body or both; `group=false` with a `group_level` above 0 is a
 * 400 `query_parse_error`), a plain POST's `queries` member refused (chttpd_view
 * assert_no_queries_param), and a design document refused when saved as couch_mrview:validate/2
 * refuses it: a member of the wrong type, a view without a map, an unknown built-in reducer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const ddoc = { views: { v: { map: 'function (doc) { emit([doc.t, doc.n], 1); }', reduce: '_count' } } };
  assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: ddoc })).status, 201);
  const docs = [['x', 1], ['x', 2], ['y', 3]].map(([t, n]) => ({ t, n }));
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
}

async function keys(f: CouchFixture, qs: string, body?: Record<string, unknown>): Promise<unknown[]> {
  const r = body === undefined ? await f.req(`/db/_design/d/_view/v?${qs}`) : await f.req(`/db/_design/d/_view/v?${qs}`, { method: 'POST', json: body });
  assert.equal(r.status, 200, r.text);
  return arr(obj(r.json).rows).map((row) => obj(row).key);
}

test('group_level wins over group=true whatever their order; group=false with group_level>0 is refused', () =>
  withCouch(async (f) => {
    await seed(f);
    assert.deepEqual(await keys(f, 'group=true&group_level=1'), [['x'], ['y']]);
    assert.deepEqual(await keys(f, 'group_level=1&group=true'), [['x'], ['y']]);
    assert.deepEqual(await keys(f, 'group_level=1', { group: true }), [['x'], ['y']]);
    assert.deepEqual(await keys(f, 'group=true', { group_level: 1 }), [['x'], ['y']]);
    assert.deepEqual(await keys(f, 'group=true'), [['x', 1], ['x', 2], ['y', 3]]);
    assert.deepEqual(await keys(f, 'group=false&group_level=0'), [null]);
    for (const qs of ['group=false&group_level=1', 'group_level=2&group=false']) {
      const r = await f.req(`/db/_design/d/_view/v?${qs}`);
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'query_parse_error', reason: "Can't specify group=false and group_level>0 at the same time" });
    }
  }));

test('a plain POST with `queries` is a 400 (the multi-query form is POST …/queries)', () =>
  withCouch(async (f) => {
    await seed(f);
    const r = await f.req('/db/_design/d/_view/v', { method: 'POST', json: { queries: [{}] } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'bad_request', reason: 'The `queries` parameter is no longer supported at this endpoint' });
    const notList = await f.req('/db/_design/d/_view/v', { method: 'POST', json: { queries: 1 } });
    assert.equal(notList.status, 400);
    assert.deepEqual(notList.json, { error: 'bad_request', reason: '`queries` member must be an array.' });
    const multi = await f.req('/db/_design/d/_view/v/queries', { method: 'POST', json: { queries: [{ group: true }] } });
    assert.equal(multi.status, 200);
  }));

test('a design document whose reduce names an unknown built-in is 400 invalid_design_doc when saved', () =>
  withCouch(async (f) => {
    await createDb(f);
    const put = (id: string, body: Record<string, unknown>) => f.req(`/db/_design/${id}`, { method: 'PUT', json: body });
    const bad = await put('bad', { views: { ok: { map: 'function (d) {}', reduce: '_count' }, v: { map: 'function (d) {}', reduce: '_foo' } } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { error: 'invalid_design_doc', reason: '`_foo` is not a supported reduce function.' });
    const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_design/b2', views: { v: { map: 'function (d) {}', reduce: '_median' } } }] } });
    assert.deepEqual(bulk.json, [{ id: '_design/b2', error: 'invalid_design_doc', reason: '`_median` is not a supported reduce function.' }]);
    // Matched by prefix, as couch_mrview does; another language is saved unchecked.
    for (const [id, body] of Object.entries({
      prefixed: { views: { v: { map: 'function (d) {}', reduce: '_sum_of_values' } } },
      other: { language: 'python', views: { v: { map: 'def f(d): pass', reduce: '_foo' } } },
      builtins: { views: Object.fromEntries(['_sum', '_count', '_stats', '_approx_count_distinct'].map((r) => [r.slice(1), { map: 'function (d) {}', reduce: r }])) },
    })) {
      const r = await put(id, body);
      assert.equal(r.status, 201, `${id}: ${r.text}`);
    }
  }));

test('design document members of the wrong type, and views without a map, are 400 invalid_design_doc (validate_ddoc_fields)', () =>
  withCouch(async (f) => {
    await createDb(f);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ language: 1 }, '`language` field must have string type'],
      [{ language: null }, '`language` field must have string type'],
      [{ filters: [] }, '`filters` field must have object type'],
      [{ filters: { ok: 'function () {}', f: 1 } }, '`filters.f` field must have object or string type'],
      [{ lists: { l: [] } }, '`lists.l` field must have object or string type'],
      [{ shows: 'x' }, '`shows` field must have object type'],
      [{ updates: { u: true } }, '`updates.u` field must have object or string type'],
      [{ options: [] }, '`options` field must have object type'],
      [{ options: { include_design: 'yes' } }, '`options.include_design` field must have boolean type'],
      [{ options: { local_seq: 1 } }, '`options.local_seq` field must have boolean type'],
      [{ rewrites: {} }, '`rewrites` field must have string or array type'],
      [{ validate_doc_update: 1 }, '`validate_doc_update` field must have string type'],
      [{ views: [] }, '`views` field must have object type'],
      [{ views: { lib: 'x' } }, '`views.lib` field must have object type'],
      [{ views: { v: 1 } }, '`views.v` field must have object type'],
      [{ views: { v: { map: 1 } } }, '`views.v.map` field must have string type'],
      [{ views: { v: { map: 'function (d) {}', reduce: {} } } }, '`views.v.reduce` field must have string type'],
      [{ views: { v: { reduce: '_count' } } }, 'View `v` must contain map function'],
      [{ language: 'query', views: { v: { map: 'function (d) {}' } } }, '`views.v.map` field must have object type'],
    ];
    for (const [i, [body, reason]] of cases.entries()) {
      const r = await f.req(`/db/_design/c${i}`, { method: 'PUT', json: body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.deepEqual(r.json, { error: 'invalid_design_doc', reason }, JSON.stringify(body));
    }
    const good = {
      language: 'javascript',
      filters: { f: 'function (d) { return true; }' },
      lists: { l: 'function () {}' },
      shows: { s: 'function () {}' },
      updates: { u: 'function () {}' },
      options: { include_design: true, local_seq: false },
      rewrites: [{ from: 'a', to: 'b' }],
      validate_doc_update: 'function () {}',
      views: { lib: { util: 'exports.x = 1;' }, v: { map: 'function (d) {}', reduce: '_count' } },
      other: 1,
    };
    assert.equal((await f.req('/db/_design/good', { method: 'PUT', json: good })).status, 201);
    assert.equal((await f.req('/db/_design/str', { method: 'PUT', json: { rewrites: 'function (req) { return "a"; }' } })).status, 201);
  }));
