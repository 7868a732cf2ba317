/**
 * `POST /db/_explain` (mango_cursor.erl explain/1 + mango_cursor_view.erl explain/1): the plan a
 * `_find` with the same body would run, in CouchDB 3.4's shape:
 *
 *   {dbname, index, partitioned, selector, opts, limit, skip, fields, index_candidates,
 *    selector_hints, mrargs, covering}
 *
 * `opts` is every option with its value or default as CouchDB lists them, quirks included
 * (`bookmark: "nil"`; 3.4's explain/1 turns `r` into an integer and every field, `all_fields`,
 * into `fields: []`, at the top and in `opts`), and `mrargs.conflicts` is "undefined" unless
 * asked for, since CouchDB prints its unset default.
 * `mrargs.start_key`/`end_key` are the range read: index keys for a json index, ids for
 * `_all_docs`, with "<MAX>" for "past every key". `covering` tells whether the json index answers
 * the query alone (covering.ts; `mrargs.include_docs` is then false). With no usable index at all
 * `index` is null and `mrargs`/`covering` are left out, as CouchDB 3.4 answers (a `_find` is 400).
 * `index_candidates` and `selector_hints`: candidates.ts.
 *
 * `partitioned` tells whether the database is partitioned (CouchDB 3.4 mango_cursor:explain/1,
 * fabric_util:is_partitioned/1; 3.3 showed the chosen index's flag instead), `opts.partition` is
 * the option as given (`""` for none) and `mrargs.partition` the partition the query reads, or
 * null (mango_cursor_view apply_opts/2 sets it only for a partition). The range shown is the
 * selector's: the clamping of an `_all_docs` scan into the partition happens when it is read.
 */
import type { Db } from '../couchdb/db.js';
import { indexToJson } from './indexes.js';
import type { FindOptions } from './opts.js';
import { sortToJson } from './opts.js';
import { indexCandidates, selectorHints } from './candidates.js';
import { covers, requiredFields } from './covering.js';
import { boundJson, endKey, startKey, type Plan, type PlanTrace } from './planner.js';

function optsJson(o: FindOptions): Record<string, unknown> {
  return {
    use_index: o.useIndex,
    allow_fallback: o.allowFallback,
    bookmark: o.bookmark ?? 'nil',
    limit: o.limit,
    skip: o.skip,
    sort: Object.fromEntries(sortToJson(o.sort).flatMap((e) => Object.entries(e))),
    fields: o.fields === 'all_fields' ? [] : o.fields,
    partition: o.partition ?? '',
    r: o.r,
    conflicts: o.conflicts,
    stale: o.stale,
    update: o.update,
    stable: o.stable,
    execution_stats: o.executionStats,
  };
}

function range(p: Plan): { start_key: unknown; end_key: unknown } {
  if (p.index.type === 'json') return { start_key: boundJson(startKey(p.ranges)), end_key: boundJson(endKey(p.ranges)) };
  const r = p.fieldRanges.get('_id');
  const low = r !== undefined && r !== 'empty' && typeof r.low === 'string' ? r.low : null;
  const high = r !== undefined && r !== 'empty' && typeof r.high === 'string' ? r.high : '<MAX>';
  return { start_key: low, end_key: high };
}

export function explain(db: Db, p: Plan | null, trace: PlanTrace, opts: FindOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    dbname: db.name,
    index: p === null ? null : indexToJson(p.index),
    partitioned: db.partitioned,
    selector: opts.selector,
    opts: optsJson(opts),
    limit: opts.limit,
    skip: opts.skip,
    fields: opts.fields === 'all_fields' ? [] : opts.fields,
    index_candidates: indexCandidates(trace, p?.index ?? null, opts.fields),
    selector_hints: selectorHints(opts.selector),
  };
  if (p === null) return out;
  const descending = opts.sort.length > 0 && opts.sort[0]![1] === 'desc';
  const covering = covers(p.index, requiredFields(opts));
  // A descending scan reads from the end key back (mango_cursor_view apply_opts/2 swaps them).
  const r = range(p);
  out.mrargs = {
    // apply_opts/2: `r` > 1 reads documents at the coordinator; consider_index_coverage/3.
    include_docs: opts.r === 1 && !covering,
    view_type: 'map',
    reduce: false,
    partition: opts.partition,
    ...(descending ? { start_key: r.end_key, end_key: r.start_key } : r),
    direction: descending ? 'rev' : 'fwd',
    stable: opts.stable,
    update: opts.stale === 'ok' ? false : opts.update,
    conflicts: opts.conflicts ? true : 'undefined',
  };
  out.covering = covering;
  return out;
}
