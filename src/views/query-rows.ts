/**
 * Rows of one view in query order: a key range (`startkey`/`endkey`, their `_docid`s,
 * `inclusive_end`, `descending`) or each of a list of keys, read from the index in LMDB order.
 *
 * LMDB bounds come from the encoded keys (index-store.ts): rows of a key `k` all lie between
 * enc(k) and enc(k)+FF (document ids are UTF-8, never FF). Rows whose key was cut at KEY_BYTES
 * (and bounds that were) are exact only up to the cut: such rows are collected per shared prefix,
 * put in order with `collate` and the document id, and tested against the bounds in JavaScript.
 */
import { collate, compareDocIds } from '../couch/collate.js';
import { rowKeyBound, viewPrefix, type StoredRow } from './index-store.js';
import type { ViewIndex } from './index.js';

export interface ViewRange {
  startKey?: unknown;
  hasStart: boolean;
  endKey?: unknown;
  hasEnd: boolean;
  startDocId?: string;
  endDocId?: string;
  inclusiveEnd: boolean;
  descending: boolean;
  /** Only this partition's rows, of a partitioned index (index-store.ts viewPrefix). */
  partition?: string;
}

const FF = Buffer.of(0xff);
const ONE = Buffer.of(0x01);

function cmpRow(row: StoredRow, key: unknown, docId: string | undefined): number {
  return collate(row.key, key) || (docId === undefined ? 0 : compareDocIds(row.id, docId));
}

/** Whether a row is inside the range (exact test, used where bytes are not exact). */
function inRange(r: ViewRange, row: StoredRow): boolean {
  const lo = r.descending ? r.hasEnd : r.hasStart;
  const hi = r.descending ? r.hasStart : r.hasEnd;
  if (!r.descending) {
    if (lo && cmpRow(row, r.startKey, r.startDocId) < 0) return false;
    if (hi) {
      const c = cmpRow(row, r.endKey, r.endDocId);
      if (c > 0 || (c === 0 && !r.inclusiveEnd)) return false;
    }
  } else {
    if (hi && cmpRow(row, r.startKey, r.startDocId) > 0) return false;
    if (lo) {
      const c = cmpRow(row, r.endKey, r.endDocId);
      if (c < 0 || (c === 0 && !r.inclusiveEnd)) return false;
    }
  }
  return true;
}

/** LMDB bytes for "just before every row of key (+ docid)" and "just after". */
function lowBound(no: number, view: number, key: unknown, docId: string | undefined, partition: string | undefined): { b: Buffer; loose: boolean } {
  const { bytes, truncated } = rowKeyBound(no, view, key, partition);
  if (truncated || docId === undefined) return { b: bytes, loose: truncated };
  return { b: Buffer.concat([bytes, Buffer.from(docId, 'utf8')]), loose: false };
}

function highBound(no: number, view: number, key: unknown, docId: string | undefined, partition: string | undefined): { b: Buffer; loose: boolean } {
  const { bytes, truncated } = rowKeyBound(no, view, key, partition);
  if (truncated || docId === undefined) return { b: Buffer.concat([bytes, FF]), loose: truncated };
  return { b: Buffer.concat([bytes, Buffer.from(docId, 'utf8'), ONE]), loose: false };
}

/** Re-order runs of cut rows (same stored key prefix) exactly; pass the rest through. */
function* exactOrder(rows: Iterable<StoredRow>, descending: boolean): Iterable<StoredRow> {
  let run: StoredRow[] = [];
  const flush = function* (): Iterable<StoredRow> {
    run.sort((a, b) => (collate(a.key, b.key) || compareDocIds(a.id, b.id)) * (descending ? -1 : 1));
    yield* run;
    run = [];
  };
  for (const row of rows) {
    if (row.truncated) {
      run.push(row);
      continue;
    }
    if (run.length > 0) yield* flush();
    yield row;
  }
  if (run.length > 0) yield* flush();
}

/** Rows of `view` in the range, in query order. */
export function* rangeRows(idx: ViewIndex, view: number, r: ViewRange): Iterable<StoredRow> {
  const no = idx.store.no;
  const p = r.partition;
  const prefix = viewPrefix(no, view, p);
  const end = Buffer.concat([prefix, FF]);
  let lo: { b: Buffer; loose: boolean } = { b: prefix, loose: false };
  let hi: { b: Buffer; loose: boolean } = { b: end, loose: false };
  // Ascending: start..end; descending: start is the high side.
  const startHigh = r.descending;
  if (r.hasStart) {
    const b = startHigh ? highBound(no, view, r.startKey, r.startDocId, p) : lowBound(no, view, r.startKey, r.startDocId, p);
    if (startHigh) hi = b; else lo = b;
  }
  if (r.hasEnd) {
    // The end side, inclusive or not; exactness is re-checked below when not inclusive.
    const b = startHigh ? lowBound(no, view, r.endKey, r.endDocId, p) : highBound(no, view, r.endKey, r.endDocId, p);
    if (startHigh) lo = b; else hi = b;
  }
  const exact = !lo.loose && !hi.loose;
  const rows = r.descending ? idx.store.range(hi.b, lo.b, true) : idx.store.range(lo.b, hi.b, false);
  // lmdb-js reverse ranges include `start` and exclude `end`: a descending read starting at the
  // high bound and ending at the low one excludes rows equal to the low bytes, which no row is.
  // A partition shares its rows' prefix with any other of the same hash: theirs are dropped here.
  const own = p === undefined ? null : `${p}:`;
  for (const row of exactOrder(rows, r.descending)) {
    if (own !== null && !row.id.startsWith(own)) continue;
    if ((!exact || row.truncated || !r.inclusiveEnd) && !inRange(r, row)) continue;
    yield row;
  }
}

/** Rows before the range in query order (the `offset` of the first row, before `skip`). */
export function rowsBefore(idx: ViewIndex, view: number, r: ViewRange): number {
  const no = idx.store.no;
  const p = r.partition;
  const prefix = viewPrefix(no, view, p);
  if (!r.hasStart) return 0;
  if (!r.descending) return idx.store.count(prefix, lowBound(no, view, r.startKey, r.startDocId, p).b);
  return idx.store.count(highBound(no, view, r.startKey, r.startDocId, p).b, Buffer.concat([prefix, FF]));
}

/**
 * Rows of each key in turn (`keys`), in query order within a key. `startkey_docid` and
 * `endkey_docid` bound the document ids within every key (couch_mrview_util key_opts: the range
 * of each key is {K, start docid}..{K, end docid}), `inclusive_end` the end docid.
 */
export function* keysRows(idx: ViewIndex, view: number, keys: readonly unknown[], r: Pick<ViewRange, 'descending' | 'startDocId' | 'endDocId' | 'inclusiveEnd' | 'partition'>): Iterable<StoredRow> {
  for (const key of keys) {
    const range: ViewRange = { startKey: key, hasStart: true, endKey: key, hasEnd: true, inclusiveEnd: r.endDocId === undefined || r.inclusiveEnd, descending: r.descending };
    if (r.partition !== undefined) range.partition = r.partition;
    if (r.startDocId !== undefined) range.startDocId = r.startDocId;
    if (r.endDocId !== undefined) range.endDocId = r.endDocId;
    yield* rangeRows(idx, view, range);
  }
}
