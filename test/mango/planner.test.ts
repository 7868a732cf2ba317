// Unit tests of Mango query planning (src/mango/planner.ts): ranges, usable indexes, the chosen
// index and the keys read, against mango_idx_view.erl / mango_cursor_view.erl behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSelector } from '../../src/couch/selector.js';
import { ALL_DOCS_INDEX, type JsonIndex, type MangoIndex } from '../../src/mango/indexes.js';
import { boundJson, compareToBound, endKey, fieldRanges, hasRequiredFields, indexableFields, MAX, MIN, plan, startKey } from '../../src/mango/planner.js';
import { isCouchError } from '../../src/couch/errors.js';

function idx(ddoc: string, name: string, fields: string[], pfs: Record<string, unknown> | null = null): JsonIndex {
  return { type: 'json', ddoc: `_design/${ddoc}`, name, fields: fields.map((f) => [f, 'asc'] as const), partialFilterSelector: pfs, view: {} };
}

const sel = (s: Record<string, unknown>) => normalizeSelector(s);

test('indexable fields see through $and only, and only comparison operators', () => {
  assert.deepEqual(indexableFields(sel({ a: 1, b: { $gt: 2 }, c: { $regex: 'x' } })), ['a', 'b']);
  assert.deepEqual(indexableFields(sel({ $or: [{ a: 1 }, { b: 2 }] })), []);
  assert.deepEqual(indexableFields(sel({ a: { $in: [1, 2] } })), []);
});

test('field ranges intersect conditions; contradictions are empty', () => {
  const r = fieldRanges(sel({ a: { $gt: 1, $lte: 5 } })).get('a');
  assert.deepEqual(r, { lcmp: '$gt', low: 1, hcmp: '$lte', high: 5 });
  assert.deepEqual(fieldRanges(sel({ a: { $gt: 5, $lt: 1 } })).get('a'), 'empty');
  assert.deepEqual(fieldRanges(sel({ a: { $gte: 3, $lte: 3 } })).get('a'), { lcmp: '$eq', low: 3, hcmp: '$eq', high: 3 });
  const open = fieldRanges(sel({ a: { $lt: 'm' } })).get('a');
  assert.ok(open !== 'empty' && open !== undefined && open.low === MIN);
});

test('start and end keys follow mango_idx_view (MAX closes the end key)', () => {
  const ranges = [{ lcmp: '$eq', low: 1, hcmp: '$eq', high: 1 }, { lcmp: '$gt', low: 10, hcmp: '$lt', high: MAX }] as const;
  assert.deepEqual(startKey(ranges), [1, 10]);
  assert.deepEqual(boundJson(endKey(ranges)), [1, '<MAX>']);
  assert.equal(compareToBound([1, 99, 'x'], endKey(ranges)), -1);
  assert.equal(compareToBound([2], endKey(ranges)), 1);
  assert.equal(compareToBound([1, 9], startKey(ranges)), -1);
});

test('required fields: $or needs every branch to require the field; $exists:false requires nothing', () => {
  assert.equal(hasRequiredFields(sel({ a: 1, b: 2 }), ['a', 'b']), true);
  assert.equal(hasRequiredFields(sel({ $or: [{ a: 1 }, { a: 2 }] }), ['a']), true);
  assert.equal(hasRequiredFields(sel({ $or: [{ a: 1 }, { b: 2 }] }), ['a']), false);
  assert.equal(hasRequiredFields(sel({ a: { $exists: false } }), ['a']), false);
});

test('the index covering the selector is chosen; without one, _all_docs', () => {
  const all: MangoIndex[] = [ALL_DOCS_INDEX, idx('x', 'by-b', ['b']), idx('y', 'by-a', ['a']), idx('z', 'by-a-b', ['a', 'b'])];
  assert.equal(plan(all, sel({ a: 1 }), [], []).index.name, 'by-a');
  assert.equal(plan(all, sel({ a: 1, b: { $gt: 1 } }), [], []).index.name, 'by-a-b');
  assert.equal(plan(all, sel({ c: 1 }), [], []).index.name, '_all_docs');
  // A named index wins when usable; a named unusable one is ignored.
  assert.equal(plan(all, sel({ a: 1, b: 1 }), [], ['y']).index.name, 'by-a');
  assert.equal(plan(all, sel({ c: 1 }), [], ['y']).index.name, '_all_docs');
});

test('sorting needs an index that produces the order', () => {
  const all: MangoIndex[] = [ALL_DOCS_INDEX, idx('y', 'by-a', ['a']), idx('z', 'by-k-a', ['k', 'a'])];
  assert.equal(plan(all, sel({ a: { $gt: 0 } }), [['a', 'desc']], []).index.name, 'by-a');
  assert.equal(plan(all, sel({ _id: { $gt: null } }), [['_id', 'asc']], []).index.name, '_all_docs');
  // mango_idx_special:is_usable/3: `_all_docs` sorts by `_id` only when the selector narrows `_id`.
  assert.throws(() => plan(all, sel({}), [['_id', 'asc']], []), (e: unknown) => isCouchError(e) && e.error === 'no_usable_index');
  // A constant leading column does not disturb the order.
  assert.equal(plan(all, sel({ k: 'x' }), [['a', 'asc']], ['z']).index.name, 'by-k-a');
  assert.throws(() => plan(all, sel({ c: 1 }), [['c', 'asc']], []), (e: unknown) => isCouchError(e) && e.status === 400 && e.error === 'no_usable_index' && e.reason === 'No index exists for this sort, try indexing by the sort fields.');
});

test('an index with a partial filter is used only when named', () => {
  const all: MangoIndex[] = [ALL_DOCS_INDEX, idx('p', 'partial', ['a'], sel({ kind: 'x' }))];
  assert.equal(plan(all, sel({ a: 1 }), [], []).index.name, '_all_docs');
  assert.equal(plan(all, sel({ a: 1 }), [], ['p', 'partial']).index.name, 'partial');
});
