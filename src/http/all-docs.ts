/**
 * `GET|POST /{db}/_all_docs` (couch-replication.md §3.8) over the engine's by-id index
 * (engine/id-index.ts), in UTF-8 byte order: CouchDB's raw collation of document ids. Deleted documents are
 * left out unless named in `keys`, where they come back as `{"value":{"rev","deleted":true},
 * "doc":null}`; unknown keys give `{"key","error":"not_found"}` (fabric_view_all_docs).
 *
 * With `include_docs`, a document that cannot be shown (a KV value with no JSON object form,
 * doc-store.ts) keeps its row, with `error`/`reason` in place of `doc` (doc-json.ts docText).
 *
 * Keys that are not valid UTF-8 (binary keys written on the KV side) cannot be CouchDB ids and
 * are skipped, as are items past their expiry that the pager has not turned into tombstones yet.
 */
import type { Item } from '../engine/types.js';
import { isExpired } from '../engine/expiry.js';
import type { Db } from '../couchdb/db.js';
import { docText, winnerJson } from '../couchdb/doc-json.js';
import { currentItem, stateFromItem, summarize } from '../couchdb/doc-store.js';
import { allDocsRange, type AllDocsQuery } from './all-docs-query.js';
import { resolveDb } from './keyspace.js';
import { isObject, jsonDepthLimit, parseJson, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendJsonText } from './response.js';

/** The document id of a key, or null when the key is not valid UTF-8. */
function idOfKey(key: Buffer): string | null {
  const id = key.toString('utf8');
  return Buffer.byteLength(id) === key.length && !id.includes('\ufffd') ? id : null;
}

function liveDeleted(item: Item, deleted: boolean): boolean {
  return deleted || (!item.deleted && isExpired(item.expiry));
}

/** The row as JSON text; with include_docs, a document that cannot be shown gets `error`/`reason` instead of `doc`. */
function row(db: Db, id: string, item: Item, q: AllDocsQuery, forKey: boolean): string | null {
  const { winner } = summarize(id, item, db.bucket.maxJsonDepth);
  const deleted = liveDeleted(item, winner.deleted);
  if (deleted && !forKey) return null;
  const head = JSON.stringify({ id, key: id, value: deleted ? { rev: winner.rev, deleted: true } : { rev: winner.rev } }).slice(0, -1);
  if (!q.includeDocs) return head + '}';
  if (deleted) return head + ',"doc":null}';
  const doc = docText(db, () => winnerJson(db, stateFromItem(id, item, db.revsLimit, db.bucket.maxJsonDepth), { conflicts: q.conflicts, attachments: q.attachments }));
  if ('text' in doc) return `${head},"doc":${doc.text}}`;
  return `${head},"error":${JSON.stringify(doc.error.error)},"reason":${JSON.stringify(doc.error.reason)}}`;
}

function keyRows(db: Db, q: AllDocsQuery, keys: unknown[]): string[] {
  const rows: string[] = [];
  for (const key of keys) {
    const item = typeof key === 'string' && key.length > 0 ? currentItem(db.bucket, Buffer.from(key, 'utf8')) : undefined;
    const r = item ? row(db, key as string, item, q, true) : null;
    rows.push(r ?? JSON.stringify({ key, error: 'not_found' }));
  }
  return rows.slice(q.skip, q.skip + q.limit);
}

/** Rows from the by-id index (couchdb/db.ts keysFrom): O(log n + skip + rows). */
function rangeRows(db: Db, q: AllDocsQuery): string[] {
  const rows: string[] = [];
  if (q.limit <= 0) return rows;
  const start = typeof q.startKey === 'string' ? Buffer.from(q.startKey, 'utf8') : undefined;
  const end = typeof q.endKey === 'string' ? Buffer.from(q.endKey, 'utf8') : undefined;
  let skip = q.skip;
  for (const k of db.keysFrom(start, q.descending)) {
    if (end) {
      const c = Buffer.compare(k, end);
      if (q.descending ? c < 0 : c > 0) break;
      if (c === 0 && !q.inclusiveEnd) break;
    }
    const id = idOfKey(k);
    const item = id === null ? undefined : db.bucket.lookup(k);
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

async function allDocs(rc: RequestCtx, keysFromBody?: unknown): Promise<void> {
  const db = resolveDb(rc);
  const q = allDocsRange(rc.query, keysFromBody);
  const rows = q.keys ? keyRows(db, q, q.keys) : rangeRows(db, q);
  const head = JSON.stringify({ total_rows: db.counts().docCount, offset: q.keys ? null : q.skip }).slice(0, -1);
  const tail = q.updateSeq ? `,"update_seq":${JSON.stringify(db.updateSeq)}}` : '}';
  sendJsonText(rc.res, 200, `${head},"rows":[${rows.join(',')}]${tail}`);
}

const getAllDocs: Handler = (rc) => allDocs(rc);

const postAllDocs: Handler = async (rc) => {
  requireJsonType(rc.req);
  const raw = await readBody(rc.req, rc.face.options.maxBodyBytes);
  const body = raw.length > 0 ? parseJson(raw, jsonDepthLimit(rc)) : {};
  await allDocs(rc, isObject(body) ? body.keys : undefined);
};

export const allDocsHandlers = { GET: getAllDocs, POST: postAllDocs };
