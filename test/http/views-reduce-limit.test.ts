/**
 * `[query_server_config] reduce_limit` over HTTP (src/views/reduce-limit.ts): a JavaScript reduce
 * whose output does not shrink is CouchDB's `reduce_overflow_error` row (elixir view_errors_test
 * "reduce overflow error"), in grouped queries and through a rereduce too; "log" and "false" keep
 * the reduction; a reduce that shrinks is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCouch, type CouchFixture } from './helpers.js';

type Row = { key?: unknown; value?: unknown; error?: string; reason?: string };

const DDOC = {
  _id: '_design/testbig',
  language: 'javascript',
  views: {
    // view_errors_test's reduce_too_big: 1000 × 'wazzap', whatever the input.
    reduce_too_big: {
      map: 'function (doc) {emit(doc.integer, doc.integer)};',
      reduce: "function (keys, values) { var chars = []; for (var i=0; i < 1000; i++) {chars.push('wazzap');};return chars; };",
    },
    // Grows with its input on reduce, shrinks on rereduce only when asked to.
    concat: {
      map: 'function (doc) { emit(doc.integer, doc.integer); }',
      reduce: 'function (keys, values, rereduce) { return rereduce ? [].concat.apply([], values) : values.map(function (v) { return "value number " + v + " padded out to grow"; }); }',
    },
    summed: { map: 'function (doc) { emit(doc.integer, doc.integer); }', reduce: 'function (k, v) { return sum(v); }' },
  },
};

async function setup(f: CouchFixture, n: number): Promise<void> {
  assert.equal((await f.req('/db', { method: 'PUT' })).status, 201);
  const docs = Array.from({ length: n }, (_, i) => ({ _id: `d${String(i).padStart(4, '0')}`, integer: i }));
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
  assert.equal((await f.req('/db/_design/testbig', { method: 'PUT', json: DDOC })).status, 201);
}

async function rows(f: CouchFixture, path: string): Promise<Row[]> {
  const r = await f.req(path);
  assert.equal(r.status, 200, r.text);
  return (r.json as { rows: Row[] }).rows;
}

async function setLimit(f: CouchFixture, value: string): Promise<void> {
  const r = await f.req('/_node/_local/_config/query_server_config/reduce_limit', { method: 'PUT', json: value });
  assert.equal(r.status, 200, r.text);
}

test('reduce_limit true (the default): an overflowing JavaScript reduce is a reduce_overflow_error row', async () => {
  await withCouch(async (f) => {
    await setup(f, 1);
    const [row, ...rest] = await rows(f, '/db/_design/testbig/_view/reduce_too_big');
    assert.equal(rest.length, 0);
    assert.equal(row!.error, 'reduce_overflow_error');
    assert.equal(row!.key, null);
    assert.equal('value' in row!, false);
    const out = JSON.stringify(Array.from({ length: 1000 }, () => 'wazzap'));
    // views.js measures the reductions array (one per function) and shows its first 100 characters.
    const line = `[${out}]`;
    assert.equal(row!.reason, `Reduce output must shrink more rapidly: Current output: '${line.slice(0, 100)}'... (first 100 of ${line.length} bytes)`);
    // Grouped: each group's row is the error, its key null (fabric_view transform_row).
    const grouped = await rows(f, '/db/_design/testbig/_view/reduce_too_big?group=true');
    assert.deepEqual(grouped.map((r) => [r.key, r.error]), [[null, 'reduce_overflow_error']]);
    // A reduce that shrinks is untouched, and reduce=false is a plain map query.
    assert.deepEqual(await rows(f, '/db/_design/testbig/_view/summed'), [{ key: null, value: 0 }]);
    assert.equal((await rows(f, '/db/_design/testbig/_view/reduce_too_big?reduce=false')).length, 1);
  });
});

test('reduce_limit: an overflow in one chunk is the whole reduction; small outputs never overflow', async () => {
  await withCouch(async (f) => {
    await setup(f, 250);
    // Three reduce calls of ≤100 rows, each growing past its input: the rereduce is not run.
    const [all] = await rows(f, '/db/_design/testbig/_view/concat');
    assert.equal(all!.error, 'reduce_overflow_error');
    assert.match(all!.reason!, /^Reduce output must shrink more rapidly: Current output: '\[\["value number 0 padded/);
    // Under 200 characters a reduction may grow: one row's group is small enough.
    const one = await rows(f, '/db/_design/testbig/_view/concat?group=true&limit=2');
    assert.deepEqual(one, [{ key: 0, value: ['value number 0 padded out to grow'] }, { key: 1, value: ['value number 1 padded out to grow'] }]);
    assert.deepEqual(await rows(f, '/db/_design/testbig/_view/summed'), [{ key: null, value: (249 * 250) / 2 }]);
  });
});

test('reduce_limit false and log keep the reduction; true again brings the error back', async () => {
  await withCouch(async (f) => {
    await setup(f, 3);
    const full = { key: null, value: Array.from({ length: 1000 }, () => 'wazzap') };
    await setLimit(f, 'false');
    assert.deepEqual(await rows(f, '/db/_design/testbig/_view/reduce_too_big'), [full]);
    await setLimit(f, 'log');
    assert.deepEqual(await rows(f, '/db/_design/testbig/_view/reduce_too_big'), [full]);
    // couch_proc_manager get_reduce_limit: a value other than false/log is true.
    await setLimit(f, 'yes');
    assert.equal((await rows(f, '/db/_design/testbig/_view/reduce_too_big'))[0]!.error, 'reduce_overflow_error');
    assert.equal((await f.req('/_node/_local/_config/query_server_config/reduce_limit', { method: 'DELETE' })).status, 200);
    assert.equal((await rows(f, '/db/_design/testbig/_view/reduce_too_big'))[0]!.error, 'reduce_overflow_error');
  });
});

test('the built-in _sum over outputs that do not shrink: builtin_reduce_error under reduce_limit true, with threshold and ratio (couch_query_servers check_sum_overflow)', async () => {
  await withCouch(async (f) => {
    await setup(f, 1000);
    // Each document adds a field of its own: 100-row reductions stay under 4906 bytes, their
    // rereduce (1000 fields) does not, and is as large as its input.
    const ddoc = { views: { fields: { map: 'function (doc) { var o = {}; o["k" + doc._id] = 1; emit(doc.integer % 2, o); }', reduce: '_sum' } } };
    assert.equal((await f.req('/db/_design/sums', { method: 'PUT', json: ddoc })).status, 201);
    const path = '/db/_design/sums/_view/fields';
    const [row] = await rows(f, path);
    const value = row!.value as { error: string; reason: string };
    assert.equal(value.error, 'builtin_reduce_error');
    const [, inSize, outSize] = /^Reduce output must shrink more rapidly: input size: (\d+) output size: (\d+)$/.exec(value.reason)!.map(Number);
    assert.ok(outSize! > 4906 && outSize! * 2 > inSize!, value.reason);
    assert.equal(row!.key, null);
    // Grouped by parity: 500 fields each, still too large.
    const grouped = await rows(f, `${path}?group=true`);
    assert.deepEqual(grouped.map((r) => [r.key, (r.value as { error?: string }).error]), [[0, 'builtin_reduce_error'], [1, 'builtin_reduce_error']]);
    const put = async (key: string, value: string | null): Promise<void> => {
      const r = await f.req(`/_node/_local/_config/query_server_config/${key}`, value === null ? { method: 'DELETE' } : { method: 'PUT', json: value });
      assert.equal(r.status, 200, r.text);
    };
    const summed = async (): Promise<number> => Object.keys((await rows(f, path))[0]!.value as object).length;
    await put('reduce_limit_threshold', '1000000');
    assert.equal(await summed(), 1000);
    await put('reduce_limit_threshold', null);
    await put('reduce_limit_ratio', '0.1');
    assert.equal(await summed(), 1000);
    await put('reduce_limit_ratio', null);
    await setLimit(f, 'log');
    assert.equal(await summed(), 1000);
    await setLimit(f, 'false');
    assert.equal(await summed(), 1000);
    // The built-in compares the setting as it is: only "true" refuses.
    await setLimit(f, 'yes');
    assert.equal(await summed(), 1000);
    await setLimit(f, 'true');
    assert.equal(((await rows(f, path))[0]!.value as { error?: string }).error, 'builtin_reduce_error');
  });
});
