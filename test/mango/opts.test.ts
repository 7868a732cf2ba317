// Unit tests of Mango request validation (src/mango/opts.ts) and projection and the json index
// map function: the mango_error.erl error names and texts, defaults, and mango_native_proc rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCouchError } from '../../src/couch/errors.js';
import { DEFAULT_LIMIT, parseSort, parseUseIndex, validateFind, validateIndexCreate } from '../../src/mango/opts.js';
import { project } from '../../src/mango/cursor.js';
import { mangoMapFunction } from '../../src/mango/native-map.js';

function rejects(fn: () => unknown, status: number, error: string, reason?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCouchError(e), String(e));
    assert.equal(e.status, status);
    assert.equal(e.error, error);
    if (reason !== undefined) assert.equal(e.reason, reason);
    return true;
  });
}

test('find defaults', () => {
  const o = validateFind({ selector: { a: 1 } });
  assert.equal(o.limit, DEFAULT_LIMIT);
  assert.equal(o.skip, 0);
  assert.equal(o.fields, 'all_fields');
  assert.deepEqual(o.useIndex, []);
  assert.equal(o.bookmark, null);
  assert.deepEqual(o.selector, { a: { $eq: 1 } });
});

test('find errors carry Mango names and texts', () => {
  rejects(() => validateFind({}), 400, 'missing_required_key', 'Missing required key: selector');
  rejects(() => validateFind({ selector: {}, bogus: 1 }), 400, 'invalid_key', 'Invalid key bogus for this request.');
  rejects(() => validateFind({ selector: [] }), 400, 'invalid_selector_json');
  rejects(() => validateFind({ selector: {}, limit: -1 }), 400, 'invalid_non_neg_integer', '-1 is not an integer greater than or equal to zero');
  rejects(() => validateFind({ selector: {}, r: 0 }), 400, 'invalid_pos_integer');
  rejects(() => validateFind({ selector: {}, conflicts: 'yes' }), 400, 'invalid_boolean');
  rejects(() => validateFind({ selector: {}, fields: 'a' }), 400, 'invalid_fields');
  rejects(() => validateFind({ selector: {}, fields: [1] }), 400, 'invalid_field');
  rejects(() => validateFind({ selector: { a: { $bogus: 1 } } }), 400, 'invalid_operator', 'Invalid operator: $bogus');
  rejects(() => validateFind({ selector: { a: { $in: 1 } } }), 400, 'bad_arg');
  rejects(() => validateFind({ selector: {}, bookmark: 5 }), 400, 'invalid_bookmark');
  rejects(() => validateFind({ selector: {}, use_index: 'a/b/c' }), 400, 'invalid_index_name');
});

test('sort specs', () => {
  assert.deepEqual(parseSort(['a', { b: 'asc' }]), [['a', 'asc'], ['b', 'asc']]);
  rejects(() => parseSort([{ a: 'asc' }, { b: 'desc' }]), 400, 'unsupported_mixed_sort', 'Sorts currently only support a single direction for all fields.');
  rejects(() => parseSort({ a: 'asc' }), 400, 'invalid_sort_json');
  rejects(() => parseSort([{ a: 'up' }]), 400, 'invalid_sort_dir');
  rejects(() => parseSort([5]), 400, 'invalid_sort_field');
});

test('use_index forms', () => {
  assert.deepEqual(parseUseIndex('d'), ['d']);
  assert.deepEqual(parseUseIndex('_design/d'), ['d']);
  assert.deepEqual(parseUseIndex('_design/d/n'), ['d', 'n']);
  assert.deepEqual(parseUseIndex(['d', 'n']), ['d', 'n']);
});

test('index definitions', () => {
  const o = validateIndexCreate({ index: { fields: ['a', { b: 'asc' }] }, name: 'n' });
  assert.deepEqual(o.fields, [['a', 'asc'], ['b', 'asc']]);
  // Index fields are a sort: one direction for all (mango_sort).
  rejects(() => validateIndexCreate({ index: { fields: ['a', { b: 'desc' }] } }), 400, 'unsupported_mixed_sort');
  assert.deepEqual(o.partialFilterSelector, {});
  rejects(() => validateIndexCreate({}), 400, 'missing_required_key', 'Missing required key: index');
  rejects(() => validateIndexCreate({ index: {} }), 400, 'missing_required_key', 'Missing required key: fields');
  rejects(() => validateIndexCreate({ index: 'a' }), 400, 'invalid_index');
  rejects(() => validateIndexCreate({ index: { fields: ['a'] }, type: 'geo' }), 400, 'invalid_index', 'Invalid type for index: geo');
  rejects(() => validateIndexCreate({ index: { fields: ['a'] }, type: 'text' }), 503, 'required index service unavailable');
  // mango_opts validate_idx_name / is_string: given names are non-empty strings, a type a string.
  for (const bad of [{ name: '' }, { ddoc: '' }, { ddoc: '_design/' }, { type: null }, { name: 1 }]) {
    rejects(() => validateIndexCreate({ index: { fields: ['a'] }, ...bad }), 400, 'invalid_string');
  }
});

test('fields projection keeps nesting and drops missing fields', () => {
  const doc = { _id: 'x', a: { b: 1, c: 2 }, d: [1, 2], e: 'z' };
  assert.deepEqual(project(doc, ['_id', 'a.b', 'd', 'missing']), { _id: 'x', a: { b: 1 }, d: [1, 2] });
});

test('json index map: a row only for documents with every field and matching the partial filter', () => {
  const map = mangoMapFunction({ fields: { a: 'asc', 'b.c': 'asc' }, partial_filter_selector: { kind: 'x' } });
  assert.deepEqual(map({ _id: '1', a: 1, b: { c: 2 }, kind: 'x' }), [[[1, 2], null]]);
  assert.deepEqual(map({ _id: '2', a: 1, kind: 'x' }), []);
  assert.deepEqual(map({ _id: '3', a: 1, b: { c: 2 }, kind: 'y' }), []);
  assert.deepEqual(map({ _id: '_design/q', a: 1, b: { c: 2 }, kind: 'x' }), []);
});
