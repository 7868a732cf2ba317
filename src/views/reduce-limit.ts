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
  /** Where "log" mode reports an overflow. */
  log(message: string): void;
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
