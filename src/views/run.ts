/**
 * Running a view query: the rows (query-rows.ts), reduced and grouped when the view reduces,
 * `skip`/`limit`, `include_docs`, and CouchDB's response (couch_mrview_http.erl):
 *
 *   map     {"total_rows":N,"offset":O,"rows":[{"id","key","value"(,"doc")}…](,"update_seq":S)}
 *   reduce  {"rows":[{"key","value"}…](,"update_seq":S)}
 *
 * `include_docs` fetches the emitting document, or the one named by an emitted value's `_id`
 * (CouchDB's linked documents); a missing or deleted one is `"doc":null`.
 */
import { CouchError } from '../couch/errors.js';
import type { Db } from '../couchdb/db.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { docJson, docText, winnerJson } from '../couchdb/doc-json.js';
import { openRev } from '../couchdb/doc-revs.js';
import { parseRev } from '../couch/rev.js';
import type { StoredRow } from './index-store.js';
import type { ViewIndex } from './index.js';
import { keysRows, rangeRows, rowsBefore } from './query-rows.js';
import type { ViewQuery } from './query.js';
import { groupKey, reduceRows, sameGroup, type Reducer } from './reduce.js';
import { ReduceOverflow } from './reduce-limit.js';

/** Rows reduced per reduce call before re-reducing (see reduce.ts). */
export const REDUCE_CHUNK = 100;

function rowsOf(idx: ViewIndex, view: number, q: ViewQuery): Iterable<StoredRow> {
  return q.keys !== undefined ? keysRows(idx, view, q.keys, q) : rangeRows(idx, view, q);
}

/**
 * The `doc` of a row (couch_mrview_util maybe_load_doc): an emitted value `{_id}` names another
 * document and `{_rev}` a revision (of that document or the emitting one); otherwise the
 * winning revision. A missing one is null.
 */
function docFor(db: Db, row: StoredRow, q: ViewQuery): string {
  const v = row.value;
  const props = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const id = typeof props?._id === 'string' ? props._id : row.id;
  const rev = typeof props?._rev === 'string' ? props._rev : null;
  const state = loadDoc(db, id, db.revsLimit);
  if (!state || state.opaque) return 'null';
  const opts = { conflicts: q.conflicts ?? false, attachments: q.attachments, encodingInfo: q.encodingInfo ?? false };
  if (rev !== null) {
    const found = validRev(rev) ? openRev(state, rev) : null;
    if (!found) return 'null';
    const t = docText(db, () => docJson(db, state, rev, found.data, found.deleted, opts));
    return 'text' in t ? t.text : 'null';
  }
  if (state.winner.deleted) return 'null';
  const t = docText(db, () => winnerJson(db, state, opts));
  return 'text' in t ? t.text : 'null';
}

function validRev(rev: string): boolean {
  try {
    parseRev(rev);
    return true;
  } catch {
    return false;
  }
}

function tail(idx: ViewIndex, q: ViewQuery): string {
  return q.updateSeq ? `,"update_seq":${idx.seq}}` : '}';
}

/** A map row's JSON text. */
function mapRowText(idx: ViewIndex, row: StoredRow, q: ViewQuery): string {
  const text = `{"id":${JSON.stringify(row.id)},"key":${JSON.stringify(row.key)},"value":${JSON.stringify(row.value)}`;
  return (q.includeDocs ? `${text},"doc":${docFor(idx.db, row, q)}` : text) + '}';
}

/**
 * A view result as its head (what the response has besides `rows`, couch_mrview's meta) and its
 * rows' JSON texts, read as they are pulled: a list function (render-routes.ts) stops the read
 * where it stops asking, as couch_mrview_show list_cb answers `stop`. `close` ends the read.
 */
export interface RowStream {
  head: Record<string, unknown>;
  rows: Iterator<string>;
  close(): void;
}

/** A map query as a row stream: `skip` is read past first, since `offset` counts it. */
export function mapRowStream(idx: ViewIndex, view: number, q: ViewQuery): RowStream {
  const it = rowsOf(idx, view, q)[Symbol.iterator]();
  let skipped = 0;
  let next = it.next();
  while (!next.done && skipped < q.skip) {
    skipped++;
    next = it.next();
  }
  const offset = q.keys !== undefined ? 0 : rowsBefore(idx, view, q) + skipped;
  const head: Record<string, unknown> = { total_rows: idx.totalRows(view), offset };
  if (q.updateSeq) head.update_seq = idx.seq;
  let sent = 0;
  const rows: Iterator<string> = {
    next: () => {
      if (next.done || sent >= q.limit) return { done: true, value: undefined };
      const text = mapRowText(idx, next.value, q);
      sent++;
      next = sent < q.limit ? it.next() : { done: true, value: undefined };
      return { done: false, value: text };
    },
  };
  return { head, rows, close: () => void it.return?.() };
}

/** A map query's response text. */
export function mapQuery(idx: ViewIndex, view: number, q: ViewQuery): string {
  const { head, rows } = mapRowStream(idx, view, q);
  const out: string[] = [];
  for (let r = rows.next(); !r.done; r = rows.next()) out.push(r.value);
  return `{"total_rows":${head.total_rows as number},"offset":${head.offset as number},"rows":[${out.join(',')}]${tail(idx, q)}`;
}

/**
 * One reduce row; an overflowed reduction is fabric_view transform_row's error row, whose key is
 * null whatever the group's (couch_mrview_http row_to_json).
 */
function reducedRow(key: unknown, value: unknown): string {
  if (value instanceof ReduceOverflow) return `{"key":null,"error":"reduce_overflow_error","reason":${JSON.stringify(value.reason)}}`;
  return `{"key":${JSON.stringify(key)},"value":${JSON.stringify(value ?? null)}}`;
}

/** A reduce query's response text. */
export async function reduceQuery(idx: ViewIndex, view: number, q: ViewQuery, reducer: Reducer): Promise<string> {
  const level = q.groupLevel ?? 0;
  const groups: Array<{ key: unknown; rows: StoredRow[] }> = [];
  const push = (row: StoredRow): void => {
    const k = groupKey(row.key, level);
    const last = groups[groups.length - 1];
    if (last && sameGroup(last.key, k)) last.rows.push(row);
    else groups.push({ key: k, rows: [row] });
  };
  if (q.keys !== undefined) {
    // One group per requested key, in the order given (group=true is required with keys).
    for (const key of q.keys) {
      const rows = [...keysRows(idx, view, [key], q)];
      if (rows.length > 0) groups.push({ key, rows });
    }
  } else for (const row of rowsOf(idx, view, q)) push(row);
  const out: string[] = [];
  const chosen = groups.slice(q.skip, q.skip + Math.min(q.limit, groups.length));
  if (level === 0 && q.keys === undefined) {
    // Ungrouped: one row with key null, none when no rows match.
    if (groups.length > 0 && q.skip === 0 && q.limit > 0) {
      out.push(reducedRow(null, await reduceRows(reducer, groups[0]!.rows, REDUCE_CHUNK)));
    }
  } else {
    for (const g of chosen) out.push(reducedRow(g.key, await reduceRows(reducer, g.rows, REDUCE_CHUNK)));
  }
  return `{"rows":[${out.join(',')}]${tail(idx, q)}`;
}

/** The view's number in its design document, or 404 `missing_named_view`. */
export function viewNumber(names: readonly string[], name: string): number {
  const i = names.indexOf(name);
  if (i < 0) throw new CouchError('not_found_detail', { params: { detail: 'missing_named_view' } });
  return i;
}
