// `_explain`'s `index_candidates` and `selector_hints` (CouchDB 3.4, apache/couchdb#4662;
// mango_cursor.erl extract_candidate_indexes/1, extract_selector_hints/1; src/mango/candidates.ts),
// as the mango suite's 23-explain-indexes tests read them: every index but the chosen one, with
// its first reason and rank, in descending (ddoc, name) order; and `"index": null` when no index
// can serve the query.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture, postOk } from './helpers.js';

const post = postOk;

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const docs = [{ _id: 'x', a: 1, b: 1, c: 1, kind: 'x' }];
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
  const indexes: Array<[string, string[], Record<string, unknown>?]> = [['ia', ['a']], ['ia2', ['a']], ['iab', ['a', 'b']], ['iac', ['a', 'c']], ['ib', ['b']], ['ip', ['a'], { kind: 'x' }]];
  for (const [name, fields, partial] of indexes) {
    await post(f, '/db/_index', { index: { fields, ...(partial ? { partial_filter_selector: partial } : {}) }, ddoc: name, name });
  }
}

/** name → [usable, first reason, ranking, covering], in the order listed. */
function summary(e: Record<string, unknown>): Array<[string, unknown, unknown, unknown, unknown]> {
  return arr(e.index_candidates).map((c) => {
    const a = obj(obj(c).analysis);
    return [String(obj(obj(c).index).name), a.usable, obj(arr(a.reasons)[0]).name, a.ranking, a.covering];
  });
}

describe('_explain index_candidates', () => {
  test('reasons and rankings of each stage of the choice', () =>
    withCouch(async (f) => {
      await seed(f);
      // Two narrowed fields: iab covers both; ia and ib one each (less overlap), in (ddoc, name) order.
      const e1 = await post(f, '/db/_explain', { selector: { a: 1, b: { $gt: 0 } }, fields: ['a'] });
      assert.equal(obj(e1.index).name, 'iab');
      assert.deepEqual(summary(e1), [
        ['ip', false, 'is_partial', 6, true],
        ['ib', true, 'less_overlap', 3, false],
        ['iac', false, 'field_mismatch', 5, true],
        ['ia2', true, 'less_overlap', 2, true],
        ['ia', true, 'less_overlap', 1, true],
        ['_all_docs', true, 'unfavored_type', 4, null],
      ]);
      const full = obj(arr(e1.index_candidates).at(-1));
      assert.deepEqual(obj(full.index), { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } });
      assert.deepEqual(obj(arr(e1.index_candidates)[0]).index, { ddoc: '_design/ip', name: 'ip', type: 'json', partitioned: false, def: { fields: [{ a: 'asc' }], partial_filter_selector: { kind: { $eq: 'x' } } } });

      // Equal overlap: more columns rank after fewer, then (ddoc, name).
      const e2 = await post(f, '/db/_explain', { selector: { a: 1, c: { $type: 'number' } } });
      assert.equal(obj(e2.index).name, 'ia');
      assert.deepEqual(summary(e2), [
        ['ip', false, 'is_partial', 5, false],
        ['ib', false, 'field_mismatch', 4, false],
        ['iac', true, 'too_many_fields', 2, false],
        ['iab', false, 'field_mismatch', 4, false],
        ['ia2', true, 'alphabetically_comes_after', 1, false],
        ['_all_docs', true, 'unfavored_type', 3, null],
      ]);

      // use_index: the other usable indexes are excluded by the user.
      const e3 = await post(f, '/db/_explain', { selector: { a: 1, b: 1 }, use_index: 'ib' });
      assert.equal(obj(e3.index).name, 'ib');
      assert.deepEqual(summary(e3), [
        ['ip', false, 'is_partial', 3, false],
        ['iac', false, 'field_mismatch', 2, false],
        ['iab', true, 'excluded_by_user', 1, false],
        ['ia2', true, 'excluded_by_user', 1, false],
        ['ia', true, 'excluded_by_user', 1, false],
        ['_all_docs', true, 'excluded_by_user', 1, null],
      ]);

      // A sort an index cannot produce.
      const e4 = await post(f, '/db/_explain', { selector: { a: { $gt: 0 } }, sort: [{ b: 'asc' }] });
      assert.equal(obj(e4.index).name, 'ib');
      assert.deepEqual(summary(e4).find(([n]) => n === 'ia'), ['ia', false, 'sort_order_mismatch', 1, false]);
      assert.deepEqual(summary(e4).find(([n]) => n === 'ip'), ['ip', false, 'is_partial', 2, false]);
      assert.deepEqual(summary(e4).find(([n]) => n === '_all_docs'), ['_all_docs', false, 'field_mismatch', 1, null]);
    }));

  test('no usable index: 200 with index null and no mrargs; _find is 400', () =>
    withCouch(async (f) => {
      await createDb(f);
      const e = await post(f, '/db/_explain', { selector: { age: 23 }, sort: ['company'] });
      assert.equal(e.index, null);
      assert.equal(e.partitioned, false);
      assert.equal('mrargs' in e, false);
      assert.equal('covering' in e, false);
      assert.deepEqual(e.index_candidates, [
        { index: { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } }, analysis: { usable: false, reasons: [{ name: 'field_mismatch' }], ranking: 1, covering: null } },
      ]);
      const found = await f.req('/db/_find', { method: 'POST', json: { selector: { age: 23 }, sort: ['company'] } });
      assert.equal(found.status, 400);
      assert.equal(obj(found.json).error, 'no_usable_index');
      // The chosen _all_docs is no candidate.
      const plain = await post(f, '/db/_explain', { selector: { age: 23 } });
      assert.deepEqual(plain.index_candidates, []);
      assert.equal(obj(plain.index).name, '_all_docs');
      assert.deepEqual(Object.keys(plain), ['dbname', 'index', 'partitioned', 'selector', 'opts', 'limit', 'skip', 'fields', 'index_candidates', 'selector_hints', 'mrargs', 'covering']);
    }));

  test('selector_hints: the fields a json index could narrow, and the others', () =>
    withCouch(async (f) => {
      await createDb(f);
      const e = await post(f, '/db/_explain', { selector: { z: 1, b: { $regex: 'x' }, a: { $gte: 2 }, $or: [{ c: 1 }, { d: 2 }] } });
      assert.deepEqual(e.selector_hints, [{ type: 'json', indexable_fields: ['a', 'z'], unindexable_fields: ['b', 'c', 'd'] }]);
      const empty = await post(f, '/db/_explain', { selector: {} });
      assert.deepEqual(empty.selector_hints, [{ type: 'json', indexable_fields: [], unindexable_fields: [] }]);
    }));
});
