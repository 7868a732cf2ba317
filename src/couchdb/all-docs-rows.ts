/**
 * The rows of `_all_docs` (couch-replication.md §3.8), as JSON text: a range read from the
 * engine's by-id index (engine/id-index.ts) in UTF-8 byte order, CouchDB's raw collation of
 * document ids, in O(log n + skip + rows); or the rows of given `keys`. Deleted documents are left
 * out unless named in `keys`, where they come back as `{"value":{"rev","deleted":true},
 * "doc":null}`; unknown keys give `{"key","error":"not_found"}` (fabric_view_all_docs). A
 * `_local/` id among the `keys` gives its local document's row (`rev` `0-N`): CouchDB opens each
 * key with fabric:open_doc, which reads local documents too (all_docs_test "_local_docs POST with
 * keys and limit"); the ranges never list them.
 *
 * With `include_docs`, a document that cannot be shown (a KV value with no JSON object form,
 * doc-store.ts) keeps its row, with `error`/`reason` in place of `doc` (doc-json.ts docText).
 *
 * Keys that are not valid UTF-8 (binary keys written on the KV side) cannot be CouchDB ids and
 * are skipped, as are items past their expiry that the pager has not turned into tombstones yet,
 * and index entries whose key has no current version.
 */
import type { Item } from '../engine/types.js';
import { idCount } from '../engine/id-index.js';
import { isExpired } from '../engine/expiry.js';
import type { Db } from './db.js';
import { docText, winnerJson } from './doc-json.js';
import { currentItem, stateFromItem } from './doc-store.js';
import { summarize } from './doc-sync.js';
import { isDocIdKey, isLocalId } from '../couch/doc.js';
import { LOCAL_PREFIX, localJson, readLocal } from './local-docs.js';

/** The range and shape of the rows (src/http/all-docs-query.ts parses them from a request). */
export interface AllDocsRowQuery {
  startKey?: unknown;
  endKey?: unknown;
  inclusiveEnd: boolean;
  limit: number;
  skip: number;
  descending: boolean;
  includeDocs: boolean;
  conflicts: boolean;
  attachments: boolean;
  /** `att_encoding_info`. */
  encodingInfo?: boolean;
}

/** The document id of a key, or null when the key is no CouchDB document id (not UTF-8, or not listable). */
function idOfKey(key: Buffer): string | null {
  return isDocIdKey(key) ? key.toString('utf8') : null;
}

function liveDeleted(item: Item, deleted: boolean): boolean {
  return deleted || (!item.deleted && isExpired(item.expiry));
}

/** The row as JSON text; with include_docs, a document that cannot be shown gets `error`/`reason` instead of `doc`. */
function row(db: Db, id: string, item: Item, q: AllDocsRowQuery, forKey: boolean): string | null {
  const { winner } = summarize(id, item, db.bucket.maxJsonDepth);
  const deleted = liveDeleted(item, winner.deleted);
  if (deleted && !forKey) return null;
  const head = JSON.stringify({ id, key: id, value: deleted ? { rev: winner.rev, deleted: true } : { rev: winner.rev } }).slice(0, -1);
  if (!q.includeDocs) return head + '}';
  if (deleted) return head + ',"doc":null}';
  const doc = docText(db, () => winnerJson(db, stateFromItem(id, item, db.revsLimit, db.bucket.maxJsonDepth), { conflicts: q.conflicts, attachments: q.attachments, encodingInfo: q.encodingInfo === true }));
  if ('text' in doc) return `${head},"doc":${doc.text}}`;
  return `${head},"error":${JSON.stringify(doc.error.error)},"reason":${JSON.stringify(doc.error.reason)}}`;
}

/** The row of local document `id` (`_local/...`), as fabric_view_all_docs:open_doc_int builds it; null when there is none. */
function localRow(db: Db, id: string, q: AllDocsRowQuery): string | null {
  const rec = readLocal(db, id.slice(LOCAL_PREFIX.length));
  if (!rec) return null;
  const head = JSON.stringify({ id, key: id, value: { rev: `0-${rec.rev}` } }).slice(0, -1);
  return q.includeDocs ? `${head},"doc":${JSON.stringify(localJson(id.slice(LOCAL_PREFIX.length), rec))}}` : head + '}';
}

/** The rows of `keys`: descending reverses the keys before `skip` and `limit` (fabric_view_all_docs). */
export function keyRows(db: Db, q: AllDocsRowQuery, keys: unknown[]): string[] {
  const rows: string[] = [];
  for (const key of q.descending ? [...keys].reverse() : keys) {
    if (typeof key === 'string' && isLocalId(key)) {
      rows.push(localRow(db, key, q) ?? JSON.stringify({ key, error: 'not_found' }));
      continue;
    }
    const k = typeof key === 'string' && key.length > 0 ? Buffer.from(key, 'utf8') : null;
    const item = k !== null && idOfKey(k) !== null ? currentItem(db, k) : undefined;
    const r = item ? row(db, key as string, item, q, true) : null;
    rows.push(r ?? JSON.stringify({ key, error: 'not_found' }));
  }
  return rows.slice(q.skip, q.skip + q.limit);
}

/**
 * A range bound as a document id, or where a key of another type falls: every id is a string,
 * and `_all_docs` compares keys raw, where every key that is no string (arrays and objects too)
 * sorts before all ids (CouchDB's all_docs "ordering" test: `startkey=[1,2]` lists every
 * document, `end_key=0` none). So such a bound leaves the low side open or empties the range.
 */
function bound(key: unknown, side: 'low' | 'high'): Buffer | 'open' | 'empty' {
  if (key === undefined) return 'open';
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  return side === 'low' ? 'open' : 'empty';
}

/** Rows from the by-id index (couchdb/db.ts keysFrom): O(log n + skip + rows). */
export function rangeRows(db: Db, q: AllDocsRowQuery): string[] {
  const rows: string[] = [];
  if (q.limit <= 0) return rows;
  // Descending, the start key is the high end of the range and the end key the low one.
  const startBound = bound(q.startKey, q.descending ? 'high' : 'low');
  const endBound = bound(q.endKey, q.descending ? 'low' : 'high');
  if (startBound === 'empty' || endBound === 'empty') return rows;
  const start = startBound === 'open' ? undefined : startBound;
  const end = endBound === 'open' ? undefined : endBound;
  let skip = q.skip;
  for (const k of db.keysFrom(start, q.descending)) {
    if (end) {
      const c = Buffer.compare(k, end);
      if (q.descending ? c < 0 : c > 0) break;
      if (c === 0 && !q.inclusiveEnd) break;
    }
    const id = idOfKey(k);
    const item = id === null ? undefined : db.docs.lookup(k);
    const r = id !== null && item ? row(db, id, item, q, false) : null;
    if (!r) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    rows.push(r);
    if (rows.length >= q.limit) break;
  }
  return rows;
}

/**
 * The documents a range listing passes before its start key: `offset` before `skip` (couch_mrview
 * map_fold: the by-id tree's reduction before the first row, all_docs_reduce_to_count, which
 * counts live documents; fabric_view_all_docs then adds `skip`, at most `total_rows`). Descending,
 * those after the start key. A start key that is no string sorts before every id: nothing before
 * it, or, descending, everything. Counted by the engine's by-id index with the counts it keeps
 * per chunk (engine/id-index.ts idCount), over the documents `counts()` counts (couch/doc.ts
 * isDocIdKey).
 */
export function rangeOffset(db: Db, q: AllDocsRowQuery): number {
  const start = bound(q.startKey, q.descending ? 'high' : 'low');
  if (start === 'open') return 0;
  const collection = db.collectionId;
  if (start === 'empty') return idCount(db.bucket, { collection, visible: isDocIdKey });
  if (!q.descending) return idCount(db.bucket, { collection, to: start, visible: isDocIdKey });
  return idCount(db.bucket, { collection, from: Buffer.concat([start, ZERO]), visible: isDocIdKey });
}

/** Appended to a key: the first key after it. */
const ZERO = Buffer.from([0]);
