/**
 * `GET|POST /{db}/_all_docs` (couch-replication.md §3.8): the query, and the reply around the
 * rows that couchdb/all-docs-rows.ts reads (by-id index range or given keys).
 */
import { keyRows, rangeRows } from '../couchdb/all-docs-rows.js';
import { allDocsRange } from './all-docs-query.js';
import { resolveDb } from './keyspace.js';
import { isObject, jsonDepthLimit, parseJson, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendJsonText } from './response.js';

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
