/**
 * The view key encoding (src/views/key-codec.ts): byte order must equal CouchDB's view collation
 * (src/couch/collate.ts) — checked on CouchDB's documented collation sequence and on random
 * values over several scripts — and the built-in reduces (src/views/reduce.ts) give CouchDB's
 * results and error texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collate } from '../../src/couch/collate.js';
import { encodeKey } from '../../src/views/key-codec.js';
import { builtinReducer, reduceRows, SUM_ERROR } from '../../src/views/reduce.js';
import { termSize } from '../../src/views/reduce-limit.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

test('CouchDB collation sequence (docs/ddocs/views/collation.rst) sorts the same as bytes', () => {
  const seq: unknown[] = [
    null, false, true, 1, 2, 3.0, 4, 'a', 'A', 'aa', 'b', 'B', 'ba', 'bb', ['a'], ['b'], ['b', 'c'], ['b', 'c', 'a'], ['b', 'd'], ['b', 'd', 'e'],
    { a: 1 }, { a: 2 }, { b: 1 }, { b: 2 }, { b: 2, a: 1 }, { b: 2, c: 2 },
  ];
  const shuffled = [...seq].reverse();
  shuffled.sort((x, y) => Buffer.compare(encodeKey(x), encodeKey(y)));
  assert.deepEqual(shuffled, seq);
  assert.equal(Buffer.compare(encodeKey(-0), encodeKey(0)), 0);
  assert.ok(Buffer.compare(encodeKey(-1e300), encodeKey(-1)) < 0);
  assert.ok(Buffer.compare(encodeKey(1), encodeKey(1e300)) < 0);
  // Canonically equivalent strings are one key, as in ICU.
  assert.equal(Buffer.compare(encodeKey('\u00e9'), encodeKey('e\u0301')), 0);
});

test('random keys over several scripts: byte order equals collate()', () => {
  const alpha = [...'aAbBzZ09 _-.,!~éÉèàÀçÇñöÖøåÅ\u0301中文日本ΩωЖжあア한{}[]"\'\t\u0000'];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const gen = (depth: number): unknown => {
    const t = rnd(depth > 2 ? 8 : 10);
    if (t < 5) return Array.from({ length: rnd(5) }, () => alpha[rnd(alpha.length)]).join('');
    if (t < 7) return rnd(21) - 10 + (rnd(2) ? 0.5 : 0);
    if (t < 8) return [null, true, false][rnd(3)];
    if (t < 9) return Array.from({ length: rnd(3) }, () => gen(depth + 1));
    return { [String(alpha[rnd(alpha.length)])]: gen(depth + 1) };
  };
  for (let i = 0; i < 20000; i++) {
    const a = gen(0);
    const b = gen(0);
    assert.equal(sign(Buffer.compare(encodeKey(a), encodeKey(b))), collate(a, b), JSON.stringify([a, b]));
  }
});

test('built-in reduces: results, rereduce and error texts', async () => {
  const rows = (values: unknown[]): Array<{ key: unknown; id: string; value: unknown }> => values.map((value, i) => ({ key: i % 3, id: `d${i}`, value }));
  assert.equal(await reduceRows(builtinReducer('_sum')!, rows([1, 2, 3, 4]), 2), 10);
  assert.deepEqual(await reduceRows(builtinReducer('_sum')!, rows([[1, 2], [3], 4]), 2), [8, 2]);
  assert.deepEqual(await reduceRows(builtinReducer('_sum')!, rows([{ a: 1, b: { c: 2 } }, { a: 2, d: 1 }]), 1), { a: 3, b: { c: 2 }, d: 1 });
  assert.deepEqual(await reduceRows(builtinReducer('_sum')!, rows([1, 'x']), 10), { error: 'builtin_reduce_error', reason: SUM_ERROR, caused_by: 'x' });
  assert.equal(await reduceRows(builtinReducer('_count')!, rows([1, 2, 3, 4, 5]), 2), 5);
  assert.deepEqual(await reduceRows(builtinReducer('_stats')!, rows([1, 2, 3]), 2), { sum: 6, count: 3, min: 1, max: 3, sumsqr: 14 });
  assert.equal(await reduceRows(builtinReducer('_approx_count_distinct')!, rows([0, 0, 0, 0, 0]), 2), 3);
  // couch_query_servers: the first value's refusal is build_initial_accumulator's (~w), a later
  // one's stat_values' STATERROR (~p); unpack_stats names the field.
  const statsRefusal = async (values: unknown[], reason: string): Promise<void> => {
    await assert.rejects(
      async () => reduceRows(builtinReducer('_stats')!, rows(values), 10),
      (err: { error: string; reason: string; status: number }) => err.status === 500 && err.error === 'invalid_value' && err.reason === reason,
    );
  };
  await statsRefusal([1, 'a'], "The _stats function requires that map values be numbers or arrays of numbers, not '<<\"a\">>'");
  await statsRefusal(['ab'], 'non-numeric _stats input: <<97,98>>');
  await statsRefusal([[1, null]], 'non-numeric _stats input: null');
  await statsRefusal([{ sum: 1 }], 'user _stats input missing required field count ([{<<"sum">>,1}])');
  await statsRefusal([{ sum: 'x' }], 'non-numeric _stats input received for sum: <<120>>');
  // _sum's caused_by is what sum_arrays could not add: the rest of the accumulated list.
  assert.deepEqual(await reduceRows(builtinReducer('_sum')!, rows([[1, 'x'], [2, 3]]), 10), { error: 'builtin_reduce_error', reason: SUM_ERROR, caused_by: ['x'] });
  // ?term_size: erlang:external_size less the version byte (STRING_EXT for small integers).
  assert.deepEqual([termSize([1, 2, 3]), termSize({ a: 1 }), termSize('abc'), termSize(null), termSize(1.5), termSize(70000), termSize([]), termSize(['a'])], [6, 18, 8, 6, 9, 5, 1, 12]);
  // Element-wise statistics, and what couch_query_servers:stat_values/2 refuses: a number against
  // a list (either way round) and lists of different lengths (`lists:zipwith`).
  assert.deepEqual(await reduceRows(builtinReducer('_stats')!, rows([[1, 2], [3, 4]]), 1), [
    { sum: 4, count: 2, min: 1, max: 3, sumsqr: 10 },
    { sum: 6, count: 2, min: 2, max: 4, sumsqr: 20 },
  ]);
  for (const values of [[[1, 2, 3], 4], [4, [1, 2, 3]], [[1, 2, 3], [1, 2]], [[1, 2], [1, 2, 3]]]) {
    for (const chunk of [1, 10]) {
      await assert.rejects(
        async () => reduceRows(builtinReducer('_stats')!, rows(values), chunk),
        (err: { error: string; status: number }) => err.status === 500 && err.error === 'invalid_value',
        JSON.stringify(values),
      );
    }
  }
});
