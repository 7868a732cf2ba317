/**
 * Running a planned `_find` (mango_cursor_view.erl execute/3, view_cb/2, handle_message/2,
 * handle_all_docs_message/2, handle_doc/2; mango_execution_stats.erl; mango_json_bookmark.erl;
 * mango_cursor.erl maybe_add_warning/4).
 *
 * Rows come in index order: from a json index (read through the view engine, `JsonIndexSource`)
 * or, for the `_all_docs` index, from the by-id order of the documents (narrowed by any `_id`
 * range). Each row read is a key examined (`total_keys_examined`, CouchDB 3.4); its document is
 * loaded (`total_docs_examined`, or `total_quorum_docs_examined` when `r` > 1, as CouchDB's
 * coordinator then reads it) and matched against the whole selector; `skip` and `limit` count
 * matching documents; `fields` projects them. When the json index covers the query (covering.ts)
 * no document is read: the rows' keys are the documents. Design documents are read by an
 * `_all_docs` scan (and counted) but never returned. Like CouchDB's coordinator, which stops on
 * the first match past `limit`, the scan reads on to the next match (or the end of the range)
 * after the last document it returns. Unlike CouchDB, a json index row whose key is outside the
 * selector's ranges is passed over without reading its document (keyInRanges), so
 * `total_docs_examined` can be lower than CouchDB's for range queries.
 *
 * A query within a partition (`partition`, partitioned databases) reads that partition's rows of
 * a partitioned json index, or the ids from `p:` up to `p;` of `_all_docs` (couch_mrview_util
 * apply_all_docs_partition/2), narrowed further by any `_id` range. In a database that is not
 * partitioned such a query is 400 once planned (fabric_view:get_shards/2), as CouchDB refuses it
 * when it reads the shards.
 *
 * The bookmark is opaque to clients: base64url of the JSON `[key, id]` of the last row returned
 * (CouchDB encodes an Erlang term instead; a CouchDB bookmark is not valid here nor the reverse).
 * A query given a bookmark resumes strictly after that row, then applies `skip`.
 */
import { collate, compareDocIds } from '../couch/collate.js';
import { CouchError } from '../couch/errors.js';
import { compileSelector, fieldValue, parseField } from '../couch/selector.js';
import type { Db } from '../couchdb/db.js';
import { docText, winnerJson } from '../couchdb/doc-json.js';
import { stateFromItem } from '../couchdb/doc-store.js';
import { partitionEnd, partitionStart } from '../couchdb/partition.js';
import { isExpired } from '../engine/expiry.js';
import { covers, docFromRow, requiredFields } from './covering.js';
import type { JsonIndex } from './indexes.js';
import type { FindOptions } from './opts.js';
import { compareToBound, endKey, filterByUseIndex, MAX, MIN, startKey, type FieldRange, type Plan } from './planner.js';

export interface IndexRow {
  readonly key: unknown;
  readonly id: string;
}

/** How json index rows are read: the view engine, brought up to date as `update` asks. */
export interface JsonIndexSource {
  /**
   * Rows of `index` in view collation order of (key, id): ascending from `start`, or descending
   * from `start` when `descending` (a bound may end with MAX, meaning past every key with that
   * prefix). The caller stops reading once it has what it needs.
   */
  rows(db: Db, index: JsonIndex, q: { start: readonly unknown[]; startDocId?: string; descending: boolean; update: boolean; partition?: string }): AsyncIterable<IndexRow> | Iterable<IndexRow>;
}

export interface ExecutionStats {
  total_keys_examined: number;
  total_docs_examined: number;
  total_quorum_docs_examined: number;
  results_returned: number;
  execution_time_ms: number;
}

export interface FindResult {
  /** Each returned document as JSON text. */
  readonly docs: string[];
  readonly bookmark: string;
  readonly stats: ExecutionStats;
  /** Joined with "\n" into `warning` when any. */
  readonly warnings: string[];
}

const NO_INDEX_WARNING = 'No matching index found, create an index to optimize query time.';
const SCAN_WARNING =
  'The number of documents examined is high in proportion to the number of results returned. Consider adding a more specific index to improve this.';
/** `[mango] index_scan_warning_threshold`. */
const INDEX_SCAN_WARNING_THRESHOLD = 10;

function encodeBookmark(key: unknown, id: string): string {
  return Buffer.from(JSON.stringify([key, id]), 'utf8').toString('base64url');
}

function decodeBookmark(b: string): { key: unknown; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[1] === 'string') return { key: v[0], id: v[1] };
  } catch {
    // reported below
  }
  throw new CouchError('mango_invalid_bookmark', { params: { value: JSON.stringify(b) } });
}

/** mango_fields:extract/2: only the listed fields, nested as in the document. */
export function project(doc: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const path = parseField(f);
    const v = fieldValue(doc, path);
    if (v === undefined) continue;
    let node = out;
    for (const name of path.slice(0, -1)) {
      const next = node[name];
      node = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (node[name] = {});
    }
    node[path.at(-1)!] = v;
  }
  return out;
}

/**
 * `_all_docs` rows narrowed by the `_id` range (ids are strings: other bounds do not narrow) and,
 * within a partition, to the partition's ids.
 */
function* allDocsRows(db: Db, idRange: FieldRange | undefined, descending: boolean, after: string | null, partition: string | null): Iterable<IndexRow> {
  if (idRange === 'empty') return;
  let low = idRange !== undefined && typeof idRange.low === 'string' ? idRange.low : undefined;
  let high = idRange !== undefined && typeof idRange.high === 'string' ? idRange.high : undefined;
  if (partition !== null) {
    // couch_mrview_util apply_all_docs_partition/2: the bounds clamped into [`p:`, `p;`]; every
    // id between them is one of the partition's (`;` follows `:`, and `p;` itself is no valid id).
    if (low === undefined || compareDocIds(low, partitionStart(partition)) < 0) low = partitionStart(partition);
    if (high === undefined || compareDocIds(high, partitionEnd(partition)) > 0) high = partitionEnd(partition);
  }
  const from = after ?? (descending ? high : low);
  for (const k of db.keysFrom(from === undefined ? undefined : Buffer.from(from, 'utf8'), descending)) {
    const id = k.toString('utf8');
    if (descending ? low !== undefined && compareDocIds(id, low) < 0 : high !== undefined && compareDocIds(id, high) > 0) return;
    // KV keys that are no document ids (a leading '_', as transaction records) are no rows;
    // design documents are, though never results (execute/4).
    if (id.startsWith('_') && !id.startsWith('_design/')) continue;
    yield { key: id, id };
  }
}

/** Whether a value meets a range (planner.ts) on the index key, before the document is read. */
function inRange(v: unknown, r: FieldRange): boolean {
  if (r === 'empty') return false;
  if (r.low !== MIN) {
    const c = collate(v, r.low);
    if (r.lcmp === '$gt' ? c <= 0 : c < 0) return false;
  }
  if (r.high !== MAX) {
    const c = collate(v, r.high);
    if (r.hcmp === '$lt' ? c >= 0 : c > 0) return false;
  }
  return true;
}

/**
 * The row's key meets the ranges of the index's leading columns. The scan bounds are inclusive
 * and cover whole key prefixes (mango_idx_view start_key/end_key), so rows outside the ranges
 * are read; their documents need not be, as the selector requires every range. `_id` is left to
 * the selector (it compares ids in raw order, not view collation).
 */
function keyInRanges(key: unknown, p: Plan): boolean {
  if (!Array.isArray(key)) return true;
  return p.ranges.every((r, i) => p.index.fields[i]![0] === '_id' || inRange(key[i], r));
}

/** The row's order relative to the bookmark's: > 0 when it comes after it in scan order. */
function afterBookmark(row: IndexRow, mark: { key: unknown; id: string }, json: boolean, descending: boolean): boolean {
  const c = (json ? collate(row.key, mark.key) : 0) || compareDocIds(row.id, mark.id);
  return descending ? c < 0 : c > 0;
}

export async function execute(db: Db, p: Plan, opts: FindOptions, source: JsonIndexSource): Promise<FindResult> {
  const started = process.hrtime.bigint();
  const stats: ExecutionStats = { total_keys_examined: 0, total_docs_examined: 0, total_quorum_docs_examined: 0, results_returned: 0, execution_time_ms: 0 };
  const matches = compileSelector(opts.selector);
  const descending = opts.sort.length > 0 && opts.sort[0]![1] === 'desc';
  const mark = opts.bookmark === null ? null : decodeBookmark(opts.bookmark);
  const json = p.index.type === 'json';
  // consider_index_coverage/3: the rows' keys answer the query, no document is read.
  const covering = covers(p.index, requiredFields(opts));
  const docs: string[] = [];
  let last: IndexRow | null = null;
  let skip = opts.skip;
  const empty = p.ranges.includes('empty') || [...p.fieldRanges.values()].includes('empty');
  // fabric_view:get_shards/2, reached unless mango_cursor_view:execute/3 stops at an empty range.
  if (opts.partition !== null && !db.partitioned && !empty) {
    throw new CouchError('bad_request', { reason: 'partition specified on non-partitioned db' });
  }
  const partition = opts.partition ?? undefined;
  if (opts.limit > 0 && !empty) {
    let rows: AsyncIterable<IndexRow> | Iterable<IndexRow>;
    let lo: unknown[] = [];
    let hi: unknown[] = [MAX];
    if (p.index.type === 'json') {
      lo = startKey(p.ranges);
      hi = endKey(p.ranges);
      const update = opts.update && opts.stale !== 'ok';
      const q = { descending, update, partition };
      rows = mark !== null && Array.isArray(mark.key)
        ? source.rows(db, p.index, { ...q, start: mark.key, startDocId: mark.id })
        : source.rows(db, p.index, { ...q, start: descending ? hi : lo });
    } else {
      rows = allDocsRows(db, p.fieldRanges.get('_id'), descending, mark?.id ?? null, opts.partition);
    }
    for await (const row of rows) {
      if (json) {
        if (descending ? compareToBound(row.key, lo) < 0 : compareToBound(row.key, hi) > 0) break;
        if (descending ? compareToBound(row.key, hi) > 0 : compareToBound(row.key, lo) < 0) continue;
      }
      if (mark !== null && !afterBookmark(row, mark, json, descending)) continue;
      if (json) {
        stats.total_keys_examined++; // view_cb/2 counts every row the view sends
        if (!keyInRanges(row.key, p)) continue;
      }
      const item = db.docs.lookup(Buffer.from(row.id, 'utf8'));
      if (!item || item.deleted || isExpired(item.expiry)) continue;
      if (!json) stats.total_keys_examined++; // `_all_docs` rows are the live documents
      let doc: Record<string, unknown>;
      if (covering) {
        doc = docFromRow(p.index as JsonIndex, row);
      } else {
        const state = stateFromItem(row.id, item, db.revsLimit, db.bucket.maxJsonDepth);
        if (state.winner.deleted || state.opaque) continue;
        // handle_all_docs_message/2 drops design documents before a quorum read; a shard's view_cb/2
        // has read them already when `r` is 1.
        const design = !json && row.id.startsWith('_design/');
        if (opts.r > 1 && !design) stats.total_quorum_docs_examined++;
        else if (opts.r === 1) stats.total_docs_examined++;
        if (design) continue;
        doc = winnerJson(db, state, { conflicts: opts.conflicts });
      }
      if (!matches(doc)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      if (docs.length >= opts.limit) break; // handle_doc/2 with no limit left: stop
      const text = docText(db, () => (opts.fields === 'all_fields' ? doc : project(doc, opts.fields)));
      if (!('text' in text)) continue;
      docs.push(text.text);
      last = row;
    }
  }
  stats.results_returned = docs.length;
  stats.execution_time_ms = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    docs,
    bookmark: last !== null ? encodeBookmark(last.key, last.id) : (opts.bookmark ?? 'nil'),
    stats,
    warnings: warnings(p, opts, stats),
  };
}

/** mango_cursor:maybe_add_warning/4. */
function warnings(p: Plan, opts: FindOptions, stats: ExecutionStats): string[] {
  const out: string[] = [];
  if (opts.useIndex.length > 0 && filterByUseIndex([p.index], opts.useIndex).length === 0) {
    const ddoc = opts.useIndex[0]!.replace(/^_design\//, '');
    out.push(opts.useIndex.length === 1
      ? `_design/${ddoc} was not used because it does not contain a valid index for this query.`
      : `_design/${ddoc}, ${opts.useIndex[1]} was not used because it is not a valid index for this query.`);
  }
  if (p.index.type === 'special') out.push(NO_INDEX_WARNING);
  const ratio = stats.results_returned === 0 ? stats.total_docs_examined : stats.total_docs_examined / stats.results_returned;
  if (ratio > INDEX_SCAN_WARNING_THRESHOLD) out.push(SCAN_WARNING);
  return out;
}
