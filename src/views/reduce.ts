/**
 * Reduce functions: CouchDB's built-ins natively (couch_query_servers.erl builtin_reduce, with
 * its texts), and any other reducer (JavaScript through the sandbox) behind `Reducer`.
 *
 * The index stores no reductions (no B-tree inner nodes as in CouchDB): a query reduces its rows
 * when it runs, in chunks of `chunk` rows whose results are then re-reduced, so a JavaScript
 * reduce sees `rereduce=true` as it does in CouchDB and must be written for it.
 *
 *   _sum    numbers, arrays of numbers (element-wise) or objects (field-wise); anything else
 *           makes the row's value `{"error":"builtin_reduce_error","reason":SUMERROR,"caused_by":v}`,
 *           as CouchDB reports it (in the row, not as an HTTP error).
 *   _count  rows; re-reduce sums.
 *   _stats  {sum,count,min,max,sumsqr} of numbers (or element-wise of arrays); other values:
 *           500 `invalid_value` "The _stats function requires that map values be numbers or
 *           arrays of numbers, not '...'".
 *   _approx_count_distinct  distinct keys; CouchDB estimates with HyperLogLog, here the count is
 *           exact (the same result for the small sets where HyperLogLog is exact).
 */
import { CouchError } from '../couch/errors.js';
import { collate } from '../couch/collate.js';
import { encodeKey } from './key-codec.js';
import { checkSumOverflow, reduceInputSize, rereduceInputSize, type ReduceLimitOptions } from './reduce-limit.js';

export const SUM_ERROR =
  'The _sum function requires that map values be numbers, arrays of numbers, or objects. Objects cannot be mixed with other data structures. Objects can be arbitrarily nested, provided that the values for all fields are themselves numbers, arrays of numbers, or objects.';

/** A reducer over [key, docid] pairs and values (rereduce: keys null, values are reductions). */
export interface Reducer {
  reduce(keys: Array<[unknown, string]>, values: unknown[]): Promise<unknown> | unknown;
  rereduce(values: unknown[]): Promise<unknown> | unknown;
  /** The value a query shows (e.g. a distinct count from a set). */
  finish?(value: unknown): unknown;
}

/**
 * The value `_sum` could not add, thrown from deep inside the recursion and caught in `sumRows`,
 * which turns it into CouchDB's `builtin_reduce_error` row value. Internal control flow only (never
 * leaves this file), so not an Error of the registry (common/errors.ts).
 */
class SumError {
  constructor(readonly bad: unknown) {}
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sumArrays(a: unknown[], b: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length) out.push(b[i]);
    else if (i >= b.length) out.push(a[i]);
    else if (typeof a[i] === 'number' && typeof b[i] === 'number') out.push((a[i] as number) + (b[i] as number));
    // sum_arrays(Else, _) throws the rest of the accumulator's list, from the element that failed.
    else throw new SumError(a.slice(i));
  }
  return out;
}

function sumValues(v: unknown, acc: unknown): unknown {
  if (typeof v === 'number' && typeof acc === 'number') return acc + v;
  if (Array.isArray(v) && Array.isArray(acc)) return sumArrays(acc, v);
  if (typeof v === 'number' && Array.isArray(acc)) return sumArrays(acc, [v]);
  if (Array.isArray(v) && typeof acc === 'number') return sumArrays([acc], v);
  if (isObj(v)) {
    if (v.error === 'builtin_reduce_error') throw new SumError(v);
    if (acc === 0) return v;
    if (!isObj(acc)) throw new SumError(v);
    const out: Record<string, unknown> = {};
    for (const k of [...new Set([...Object.keys(v), ...Object.keys(acc)])].sort()) {
      out[k] = k in v && k in acc ? sumValues(v[k], acc[k]) : k in v ? v[k] : acc[k];
    }
    return out;
  }
  throw new SumError(v);
}

function sumRows(values: unknown[]): unknown {
  let acc: unknown = 0;
  try {
    for (const v of values) acc = sumValues(v, acc);
    return acc;
  } catch (err) {
    if (!(err instanceof SumError)) throw err;
    if (isObj(err.bad) && err.bad.error === 'builtin_reduce_error') return err.bad;
    return { error: 'builtin_reduce_error', reason: SUM_ERROR, caused_by: err.bad };
  }
}

/** One value's statistics: sum, count, min, max, sumsqr (CouchDB's 5-tuple). */
type Stats = readonly [number, number, number, number, number];
/**
 * The accumulator of `_stats`: a tuple per number, a list per array (element-wise). A class for
 * the tuple, so that it never reads as a list of five statistics.
 */
class StatTuple {
  constructor(readonly s: Stats) {}
}
type StatAcc = StatTuple | StatAcc[];

/** Erlang's ~p of a JSON value, for the _stats error text. */
function erlangTerm(v: unknown): string {
  if (typeof v === 'string') return `<<${JSON.stringify(v)}>>`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  if (isObj(v)) return `{[${Object.entries(v).map(([k, e]) => `{<<${JSON.stringify(k)}>>,${erlangTerm(e)}}`).join(',')}]}`;
  return String(v);
}

/** Erlang's ~w of a JSON value: as ~p, but binaries as their bytes (`<<97,98>>`). */
function erlangWrite(v: unknown): string {
  if (typeof v === 'string') return `<<${[...Buffer.from(v)].join(',')}>>`;
  if (Array.isArray(v)) return `[${v.map(erlangWrite).join(',')}]`;
  if (isObj(v)) return `{[${Object.entries(v).map(([k, e]) => `{${erlangWrite(k)},${erlangWrite(e)}}`).join(',')}]}`;
  return erlangTerm(v);
}

function statsError(v: unknown): CouchError {
  return new CouchError('invalid_value', { reason: `The _stats function requires that map values be numbers or arrays of numbers, not '${erlangTerm(v)}'` });
}

/**
 * One value's accumulator. `first`: the rows' first value (couch_query_servers
 * build_initial_accumulator), whose refusal reads "non-numeric _stats input: ~w"; a later one's
 * is stat_values' STATERROR. unpack_stats' texts name the field, the props (~p) or the value (~w).
 */
function unpack(v: unknown, first = false): StatAcc {
  if (typeof v === 'number') return new StatTuple([v, 1, v, v, v * v]);
  if (Array.isArray(v)) return v.map((x) => unpack(x, first));
  if (isObj(v)) {
    const f = (k: string): number => {
      const x = v[k];
      if (typeof x === 'number') return x;
      const reason = x === undefined ? `user _stats input missing required field ${k} (${erlangTerm(v).slice(1, -1)})` : `non-numeric _stats input received for ${k}: ${erlangWrite(x)}`;
      throw new CouchError('invalid_value', { reason });
    };
    return new StatTuple([f('sum'), f('count'), f('min'), f('max'), f('sumsqr')]);
  }
  if (first) throw new CouchError('invalid_value', { reason: `non-numeric _stats input: ${erlangWrite(v)}` });
  throw statsError(v);
}

/**
 * couch_query_servers:stat_values/2: lists combine element-wise and must be the same length
 * (`lists:zipwith`, which fails otherwise), tuples add up, and a number against a list (either
 * way round) is an error, so the query fails as CouchDB's does instead of answering nonsense.
 * `value` is the raw map value, for the error's text.
 */
function combine(acc: StatAcc, next: StatAcc, value: unknown): StatAcc {
  if (Array.isArray(acc) && Array.isArray(next)) {
    if (acc.length !== next.length) throw statsError(value);
    return acc.map((a, i) => combine(a, next[i]!, Array.isArray(value) ? value[i] : value));
  }
  if (acc instanceof StatTuple && next instanceof StatTuple) {
    const [x, y] = [acc.s, next.s];
    return new StatTuple([x[0] + y[0], x[1] + y[1], Math.min(x[2], y[2]), Math.max(x[3], y[3]), x[4] + y[4]]);
  }
  throw statsError(value);
}

function pack(acc: StatAcc): unknown {
  if (Array.isArray(acc)) return acc.map(pack);
  const [sum, count, min, max, sumsqr] = acc.s;
  return { sum, count, min, max, sumsqr };
}

function stats(values: unknown[]): unknown {
  if (values.length === 0) return { sum: 0, count: 0, min: 0, max: 0, sumsqr: 0 };
  let acc = unpack(values[0], true);
  for (let i = 1; i < values.length; i++) acc = combine(acc, unpack(values[i]), values[i]);
  return pack(acc);
}

const builtins: Record<string, Reducer> = {
  _sum: { reduce: (_k, v) => sumRows(v), rereduce: (v) => sumRows(v) },
  _count: { reduce: (_k, v) => v.length, rereduce: (v) => sumRows(v) },
  _stats: { reduce: (_k, v) => stats(v), rereduce: (v) => stats(v) },
  _approx_count_distinct: {
    reduce: (k) => new Set(k.map(([key]) => encodeKey(key).toString('latin1'))),
    rereduce: (v) => new Set((v as Array<Set<string>>).flatMap((s) => [...s])),
    finish: (v) => (v as Set<string>).size,
  },
};

/**
 * The built-in reducer named by a reduce source (`_sum`, `_count`, ...; CouchDB matches prefixes),
 * or undefined. With `limit`, `_sum` checks its output size (couch_query_servers builtin_reduce:
 * check_sum_overflow on reduce and rereduce alike).
 */
export function builtinReducer(source: string, limit?: ReduceLimitOptions): Reducer | undefined {
  const name = source.trim();
  if (limit !== undefined && name.startsWith('_sum')) {
    return {
      reduce: (k, v) => checkSumOverflow(sumRows(v), () => reduceInputSize(k, v), limit),
      rereduce: (v) => checkSumOverflow(sumRows(v), () => rereduceInputSize(v), limit),
    };
  }
  for (const [n, r] of Object.entries(builtins)) if (name.startsWith(n)) return r;
  return undefined;
}

/** Whether a reduce source names a built-in (`_`-prefixed); an unknown one is an error. */
export function isBuiltinName(source: string): boolean {
  return source.trim().startsWith('_');
}

/** Reduce rows in chunks then re-reduce the chunk results (see the header). */
export async function reduceRows(r: Reducer, rows: ReadonlyArray<{ key: unknown; id: string; value: unknown }>, chunk: number): Promise<unknown> {
  const partial: unknown[] = [];
  for (let i = 0; i < rows.length || (i === 0 && partial.length === 0); i += chunk) {
    const part = rows.slice(i, i + chunk);
    partial.push(await r.reduce(part.map((x) => [x.key, x.id]), part.map((x) => x.value)));
    if (rows.length === 0) break;
  }
  const out = partial.length === 1 ? partial[0] : await r.rereduce(partial);
  return r.finish ? r.finish(out) : out;
}

/** Whether two keys fall in one group at `level` ('exact' = group=true, 0 = one group). */
export function groupKey(key: unknown, level: number | 'exact'): unknown {
  if (level === 'exact') return key;
  if (level === 0) return null;
  return Array.isArray(key) ? key.slice(0, level) : key;
}

export function sameGroup(a: unknown, b: unknown): boolean {
  return collate(a, b) === 0;
}
