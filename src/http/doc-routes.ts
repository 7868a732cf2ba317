/**
 * Document endpoints (CouchDB api/document/common.rst; couch-replication.md §3.2–§3.6):
 * `GET|HEAD|PUT|DELETE /{db}/{doc}` (and `/{db}/_design/{ddoc}`), `POST /{db}`.
 *
 * The revision being edited may come from the body's `_rev`, `?rev=` or `If-Match`; when more
 * than one is given they must agree (400 otherwise, chttpd_db:extract_header_rev/2).
 */
import { randomBytes } from 'node:crypto';
import { CouchError } from '../couch/errors.js';
import { formatRev, parseRev } from '../couch/rev.js';
import type { Db } from './db.js';
import { docJson } from './doc-json.js';
import { docOutOptions, mixedBody, openRev, openRevs, parseOpenRevs, relatedFor } from './doc-read.js';
import { loadDoc } from './doc-store.js';
import { parseDocBody, prepareAttachments, validateDocId, writeDoc, type FollowsData, type ParsedDoc } from './doc-write.js';
import { resolveDb } from './keyspace.js';
import { parseMultipart, partFilename } from './multipart.js';
import { accepts, isObject, mediaType, parseJson, qBool, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendBytes, sendJson } from './response.js';

/** The document id of the route: `:doc`, or `_design/:ddoc`. */
export function docIdOf(rc: RequestCtx): string {
  return rc.params.ddoc !== undefined ? `_design/${rc.params.ddoc}` : rc.params.doc!;
}

/** The rev named by `?rev=` or `If-Match`, checked against the body's (`_rev`). */
export function requestRev(rc: RequestCtx, bodyRev?: string): string | undefined {
  const q = rc.query.get('rev') ?? undefined;
  const header = rc.req.headers['if-match'];
  const h = typeof header === 'string' ? header.replace(/^"|"$/g, '') : undefined;
  if (q !== undefined && h !== undefined && q !== h) throw new CouchError('rev_etag_mismatch');
  const given = q ?? h;
  if (given !== undefined) parseRev(given);
  if (given !== undefined && bodyRev !== undefined && given !== bodyRev) throw new CouchError('rev_mismatch');
  return given ?? bodyRev;
}

function location(rc: RequestCtx, db: Db, id: string): string {
  const host = rc.req.headers.host ?? `${rc.face.ctx.host}:${rc.face.ctx.ports.http}`;
  return `http://${host}/${encodeURIComponent(db.name)}/${id.split('/').map(encodeURIComponent).join('/')}`;
}

const getDoc: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = docIdOf(rc);
  const opts = docOutOptions(rc.query);
  const state = loadDoc(db.bucket, id, db.revsLimit);
  const wanted = parseOpenRevs(rc.query);
  if (wanted !== undefined) {
    if (!state && wanted === 'all') throw new CouchError('not_found');
    const results = openRevs(state, wanted, qBool(rc.query, 'latest'));
    if (accepts(rc.req, 'multipart/mixed')) {
      const { contentType, body } = mixedBody(db, state, results, opts);
      sendBytes(rc.res, 200, body, { 'Content-Type': contentType });
      return;
    }
    sendJson(rc.res, 200, results.map((r) => ('missing' in r ? r : { ok: docJson(db, state!, r.ok.rev, r.ok.data, r.ok.deleted, opts) })));
    return;
  }
  if (!state) throw new CouchError('not_found');
  const revParam = rc.query.get('rev');
  let rev: string;
  if (revParam !== null) {
    const r = parseRev(revParam);
    rev = formatRev(r.pos, r.hash);
  } else {
    if (state.winner.deleted) throw new CouchError('not_found_deleted');
    rev = state.winner.rev;
  }
  const found = openRev(state, rev);
  if (!found) throw new CouchError('not_found');
  const etag = `"${rev}"`;
  if (rc.req.headers['if-none-match'] === etag) {
    rc.res.writeHead(304, { ETag: etag });
    rc.res.end();
    return;
  }
  if (opts.attachments && accepts(rc.req, 'multipart/related')) {
    const { contentType, body } = relatedFor(db, state, found, opts);
    sendBytes(rc.res, 200, body, { 'Content-Type': contentType, ETag: etag });
    return;
  }
  sendJson(rc.res, 200, docJson(db, state, rev, found.data, found.deleted, opts), { ETag: etag });
};

/** The JSON document and the `follows` attachment bytes of a `multipart/related` body. */
function splitRelated(raw: Buffer, contentType: string): { json: unknown; follows: FollowsData } {
  const parts = parseMultipart(raw, contentType);
  if (parts.length === 0) throw new CouchError('multipart_invalid', { params: { detail: 'no document part' } });
  const json = parseJson(parts[0]!.body);
  const follows: FollowsData = new Map();
  const atts = isObject(json) && isObject(json._attachments) ? json._attachments : {};
  const followNames = Object.entries(atts).filter(([, a]) => isObject(a) && a.follows === true).map(([n]) => n);
  const rest = parts.slice(1);
  rest.forEach((part, i) => {
    const name = partFilename(part) ?? followNames[i];
    if (name !== undefined) follows.set(name, part.body);
  });
  return { json, follows };
}

/** Parse, prepare and write one document; resolves to its new rev. */
async function write(rc: RequestCtx, db: Db, id: string, doc: ParsedDoc, follows?: FollowsData): Promise<string> {
  const newEdits = qBool(rc.query, 'new_edits', true);
  const prepared = await prepareAttachments(db, doc.attachments, follows);
  return writeDoc(db, id, doc, prepared, { newEdits });
}

const putDoc: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = validateDocId(docIdOf(rc));
  const raw = await readBody(rc.req, rc.face.options.maxBodyBytes);
  let doc: ParsedDoc;
  let follows: FollowsData | undefined;
  if (mediaType(rc.req) === 'multipart/related') {
    const related = splitRelated(raw, rc.req.headers['content-type'] ?? '');
    doc = parseDocBody(related.json);
    follows = related.follows;
  } else {
    doc = parseDocBody(parseJson(raw));
  }
  const rev = requestRev(rc, doc.rev);
  if (rev !== undefined) doc.rev = rev;
  const written = await write(rc, db, id, doc, follows);
  const status = rc.query.get('batch') === 'ok' ? 202 : 201;
  sendJson(rc.res, status, { ok: true, id, rev: written }, { ETag: `"${written}"`, Location: location(rc, db, id) });
};

const deleteDoc: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = validateDocId(docIdOf(rc));
  const rev = requestRev(rc);
  if (rev === undefined) throw new CouchError('conflict');
  const written = await writeDoc(db, id, { rev, deleted: true, body: {} }, [], { newEdits: true });
  sendJson(rc.res, 200, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

/** `POST /{db}`: create a document, with a generated id unless the body has one. */
export const postDoc: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireJsonType(rc.req);
  const doc = parseDocBody(parseJson(await readBody(rc.req, rc.face.options.maxBodyBytes)));
  const id = validateDocId(doc.id ?? randomBytes(16).toString('hex'));
  const written = await write(rc, db, id, doc);
  const status = rc.query.get('batch') === 'ok' ? 202 : 201;
  sendJson(rc.res, status, { ok: true, id, rev: written }, { ETag: `"${written}"`, Location: location(rc, db, id) });
};

export const docHandlers = { GET: getDoc, PUT: putDoc, DELETE: deleteDoc };
