/**
 * `GET|POST /{db}/_all_docs` (couch-replication.md §3.8) over the engine's by-id index
 * (engine/id-index.ts), in UTF-8 byte order: CouchDB's raw collation of document ids. Deleted documents are
 * left out unless named in `keys`, where they come back as `{"value":{"rev","deleted":true},
 * "doc":null}`; unknown keys give `{"key","error":"not_found"}` (fabric_view_all_docs).
 *
 * Keys that are not valid UTF-8 (binary keys written on the KV side) cannot be CouchDB ids and
 * are skipped, as are items past their expiry that the pager has not turned into tombstones yet.
 */
import type { Item } from '../engine/types.js';
import { isExpired } from '../engine/expiry.js';
import type { Db } from '../couchdb/db.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { currentItem, stateFromItem, summarize } from '../couchdb/doc-store.js';
import { allDocsRange, type AllDocsQuery } from './all-docs-query.js';
import { resolveDb } from './keyspace.js';
import { isObject, parseJson, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';

/** The document id of a key, or null when the key is not valid UTF-8. */
function idOfKey(key: Buffer): string | null {
  const id = key.toString('utf8');
  return Buffer.byteLength(id) === key.length && !id.includes('\ufffd') ? id : null;
}

function liveDeleted(item: Item, deleted: boolean): boolean {
  return deleted || (!item.deleted && isExpired(item.expiry));
}

function row(db: Db, id: string, item: Item, q: AllDocsQuery, forKey: boolean): Record<string, unknown> | null {
  const { winner } = summarize(id, item);
  const deleted = liveDeleted(item, winner.deleted);
  if (deleted && !forKey) return null;
  const r: Record<string, unknown> = { id, key: id, value: deleted ? { rev: winner.rev, deleted: true } : { rev: winner.rev } };
  if (q.includeDocs) {
    r.doc = deleted ? null : winnerJson(db, stateFromItem(id, item, db.revsLimit), { conflicts: q.conflicts, attachments: q.attachments });
  }
  return r;
}

function keyRows(db: Db, q: AllDocsQuery, keys: unknown[]): unknown[] {
  const rows: unknown[] = [];
  for (const key of keys) {
    const item = typeof key === 'string' && key.length > 0 ? currentItem(db.bucket, Buffer.from(key, 'utf8')) : undefined;
    const r = item ? row(db, key as string, item, q, true) : null;
    rows.push(r ?? { key, error: 'not_found' });
  }
  return rows.slice(q.skip, q.skip + q.limit);
}

/** Rows from the by-id index (couchdb/db.ts keysFrom): O(log n + skip + rows). */
function rangeRows(db: Db, q: AllDocsQuery): unknown[] {
  const rows: unknown[] = [];
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
  const out: Record<string, unknown> = { total_rows: db.counts().docCount, offset: q.keys ? null : q.skip, rows };
  if (q.updateSeq) out.update_seq = db.updateSeq;
  sendJson(rc.res, 200, out);
}

const getAllDocs: Handler = (rc) => allDocs(rc);

const postAllDocs: Handler = async (rc) => {
  requireJsonType(rc.req);
  const raw = await readBody(rc.req, rc.face.options.maxBodyBytes);
  const body = raw.length > 0 ? parseJson(raw) : {};
  await allDocs(rc, isObject(body) ? body.keys : undefined);
};

export const allDocsHandlers = { GET: getAllDocs, POST: postAllDocs };
