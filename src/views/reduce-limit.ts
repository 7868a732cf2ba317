/**
 * `[query_server_config] reduce_limit` for JavaScript reduce functions, as CouchDB 3's query
 * server enforces it (share/server/views.js runReduce): a reduction whose JSON is longer than
 * 200 characters and more than half the length of the command line it answered
 * (`["reduce",[src],[[[key,id],value],…]]` or `["rereduce",[src],[value,…]]`) is a
 * `reduce_overflow_error`:
 *
 *   "Reduce output must shrink more rapidly: Current output: '<first 100 chars>'... (first 100 of N bytes)"
 *
 * couch_query_servers os_reduce/os_rereduce turn the error into the reduction's value, a later
 * rereduce passes it on unrun (get_overflow_error), and the view row shows it as
 * `{"key":null,"error":"reduce_overflow_error","reason":…}` (fabric_view transform_row,
 * couch_mrview_http row_to_json). The setting is couch_proc_manager get_reduce_limit's tri-state:
 * "false" never checks, "log" logs the overflow and keeps the reduction (as the query server does
 * in CouchDB 3.4+), anything else is "true".
 */

export type ReduceLimit = 'true' | 'false' | 'log';

export interface ReduceLimitOptions {
  /** The `reduce_limit` setting as configured (reduceLimitMode reads it). */
  setting: string | undefined;
  /** `reduce_limit_threshold` and `reduce_limit_ratio` as configured (the built-in `_sum`'s check). */
  threshold?: string | undefined;
  ratio?: string | undefined;
  /** Where "log" mode reports an overflow (`level` error: the built-in `_sum`'s, couch_log:error). */
  log(message: string, level?: 'error'): void;
}

/** couch_proc_manager get_reduce_limit: only "false" and "log" are themselves; the rest is "true". */
export function reduceLimitMode(value: string | undefined): ReduceLimit {
  return value === 'false' || value === 'log' ? value : 'true';
}

/** A reduction that overflowed: the value os_reduce puts in its place, `{[{reduce_overflow_error, Msg}]}`. */
export class ReduceOverflow {
  constructor(readonly reason: string) {}
}

/** views.js's size floor: shorter reductions never overflow. */
const MIN_OVERFLOW = 200;

/**
 * The reduction, or a `ReduceOverflow` in its place. `command` builds the line CouchDB would have
 * sent (only when the reduction is long enough to need it: its JSON costs as much as the input).
 */
export function checkReduction(reduction: unknown, command: () => unknown[], limit: ReduceLimitOptions): unknown {
  const mode = reduceLimitMode(limit.setting);
  if (mode === 'false') return reduction;
  // views.js measures the reductions array, one per function; a view has one reduce function.
  const line = JSON.stringify([reduction === undefined ? null : reduction]);
  if (line.length <= MIN_OVERFLOW) return reduction;
  if (line.length * 2 <= JSON.stringify(command()).length) return reduction;
  const reason = `Reduce output must shrink more rapidly: Current output: '${line.substring(0, 100)}'... (first 100 of ${line.length} bytes)`;
  if (mode === 'log') {
    limit.log(`reduce_overflow_error: ${reason}`);
    return reduction;
  }
  return new ReduceOverflow(reason);
}

/** The first overflow among values to rereduce (couch_query_servers get_overflow_error), if any. */
export function overflowIn(values: readonly unknown[]): ReduceOverflow | undefined {
  for (const v of values) if (v instanceof ReduceOverflow) return v;
  return undefined;
}

/**
 * erlang:external_size/1 of a JSON value as CouchDB holds it (jiffy's terms: integers, floats,
 * binaries, atoms `null`/`true`/`false`, lists, `{Props}` objects), without the version byte:
 * what couch_query_servers ?term_size measures. Integers are the numbers JavaScript holds as such.
 */
export function termSize(v: unknown): number {
  if (v === null || v === true || v === false) return 2 + String(v).length; // SMALL_ATOM_UTF8_EXT
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 9; // NEW_FLOAT_EXT
    if (v >= 0 && v <= 255) return 2; // SMALL_INTEGER_EXT
    if (v >= -0x80000000 && v <= 0x7fffffff) return 5; // INTEGER_EXT
    return 3 + Math.ceil(Math.abs(v).toString(16).length / 2); // SMALL_BIG_EXT
  }
  if (typeof v === 'string') return 5 + Buffer.byteLength(v); // BINARY_EXT
  if (Array.isArray(v)) return listSize(v.length, v.length <= 0xffff && v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255), () => v.reduce<number>((n, x) => n + termSize(x), 0));
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    // {Props}: a 1-tuple of a list of {Key, Value} 2-tuples.
    return 2 + listSize(entries.length, false, () => entries.reduce((n, [k, x]) => n + 2 + termSize(k) + termSize(x), 0));
  }
  return 2 + 'null'.length;
}

/** A list's size: NIL_EXT, STRING_EXT (small integers only) or LIST_EXT with its NIL tail. */
function listSize(length: number, bytes: boolean, elements: () => number): number {
  if (length === 0) return 1;
  return bytes ? 3 + length : 6 + elements();
}

/**
 * couch_query_servers check_sum_overflow/log_sum_overflow (CouchDB 3.3+): a `_sum` whose term is
 * larger than `reduce_limit_threshold` (4906 bytes) and, times `reduce_limit_ratio` (2.0), larger
 * than its input's (`inputSize`, the rows `[[[Key, DocId], Value], …]` or the reductions
 * `[[[], Red], …]`) is `{"error":"builtin_reduce_error","reason":"Reduce output must shrink more
 * rapidly: input size: N output size: M"}` under `reduce_limit` "true" (the default), logged as an
 * error either way; "log" logs it and keeps the sum; any other value never checks (the built-in
 * compares the setting as it is, unlike couch_proc_manager's tri-state for JavaScript).
 */
export function checkSumOverflow(sum: unknown, inputSize: () => number, limit: ReduceLimitOptions): unknown {
  const mode = limit.setting ?? 'true';
  if (mode !== 'true' && mode !== 'log') return sum;
  const threshold = Number.parseInt(limit.threshold ?? '', 10);
  const ratio = Number.parseFloat(limit.ratio ?? '');
  const outSize = 1 + termSize(sum);
  if (outSize <= (Number.isFinite(threshold) ? threshold : 4906)) return sum;
  const inSize = 1 + inputSize();
  if (outSize * (Number.isFinite(ratio) ? ratio : 2.0) <= inSize) return sum;
  const reason = `Reduce output must shrink more rapidly: input size: ${inSize} output size: ${outSize}`;
  limit.log(reason, 'error');
  return mode === 'true' ? { error: 'builtin_reduce_error', reason } : sum;
}

/** ?term_size of a reduce call's rows, `[[[Key, DocId], Value], …]`. */
export function reduceInputSize(keys: ReadonlyArray<[unknown, string]>, values: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < keys.length; i++) n += 6 + (6 + termSize(keys[i]![0]) + termSize(keys[i]![1])) + termSize(values[i]);
  return keys.length === 0 ? 1 : 6 + n;
}

/** ?term_size of a rereduce call's reductions, `[[[], Red], …]`. */
export function rereduceInputSize(values: readonly unknown[]): number {
  let n = 0;
  for (const v of values) n += 6 + 1 + termSize(v);
  return values.length === 0 ? 1 : 6 + n;
}
