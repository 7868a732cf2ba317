/**
 * Show, list and update functions (CouchDB api/ddoc/render.rst; couch_mrview_show.erl,
 * chttpd_external.erl), run in the design sandbox (src/design/render-env.ts):
 *
 * - `GET|POST /{db}/_design/{ddoc}/_show/{func}[/{docid}]`: the function gets the document's
 *   winning revision (with `_revisions` and `_conflicts`, as couch_query_servers:json_doc gives
 *   it), or null when there is no id, no such document or a deleted one; and CouchDB's `req`.
 * - `GET|POST /{db}/_design/{ddoc}/_list/{func}/[{other-ddoc}/]{view}`: see `list` below.
 * - `POST|PUT /{db}/_design/{ddoc}/_update/{func}[/{docid}]`: the same as a show, and a document it returns
 *   is saved as a `PUT` would save it (validate_doc_update included), answered 201 with
 *   `X-Couch-Update-NewRev` and `X-Couch-Id`; otherwise 200. A `code` of the function's own
 *   wins: couch_mrview_show puts its code first in the response's proplist, and
 *   chttpd_external's fold over it keeps the last one (CouchDB's test COUCHDB-648).
 *
 * The response object is chttpd_external's: `code` (200), `headers`, and one of `json`
 * (application/json), `body` (text/html; charset=utf-8) or `base64` (application/binary, decoded);
 * a `Content-Type` header overrides those defaults. Other members are `external_response_error`.
 * Body responses carry CouchDB 3's `Content-Security-Policy: sandbox`, shows `Vary: Accept`.
 */
import { createHash } from 'node:crypto';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { CouchError } from '../couch/errors.js';
import { parseDocument, validateDocId } from '../couch/doc.js';
import type { Db } from '../couchdb/db.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { writeDoc } from '../couchdb/doc-write.js';
import { dbKeyOf, loadDesignDoc } from '../design/design-docs.js';
import type { DesignFunctionKind, RenderResponse } from '../design/sandbox.js';
import { renderRequest, requestValidator } from './design.js';
import { guardRead, guardWrite, resolveDb } from './keyspace.js';
import { isObject, readBody, readJsonObject, type Handler, type RequestCtx } from './request.js';
import { allDocsResult } from './all-docs.js';
import { baseHeaders, notModified } from './response.js';
import { viewRows } from './view-routes.js';
import { streamList } from './list-stream.js';
// A type only: the views modules load on first use (view-routes.ts).
import type { RowStream } from '../views/run.js';

type RenderKind = Extract<DesignFunctionKind, 'show' | 'list' | 'update'>;
const SECTION: Record<RenderKind, string> = { show: 'shows', list: 'lists', update: 'updates' };

/**
 * The named function of the route's design document, compiled (404 as CouchDB words it), and the
 * design document's revision (a show's ETag names it).
 */
async function renderFunction<K extends RenderKind>(rc: RequestCtx, db: Db, kind: K) {
  const name = rc.params.fn!;
  const ddocId = `_design/${rc.params.ddoc!}`;
  const ddoc = loadDesignDoc(db, ddocId);
  if (ddoc === null) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
  const section = ddoc[SECTION[kind]];
  if (!isObject(section) || typeof section[name] !== 'string') {
    throw new CouchError('not_found_detail', { params: { detail: `missing ${SECTION[kind]} function ${name} on design doc ${ddocId}` } });
  }
  const sandbox = await rc.face.design.sandbox();
  return { fn: sandbox.compile(ddoc, kind, [SECTION[kind], name], dbKeyOf(db)), ddocRev: ddoc._rev };
}

/** The route's document id (`*docid`, which may hold '/'), or null. */
function docIdParam(rc: RequestCtx): string | null {
  const id = rc.params.docid;
  return id === undefined || id === '' ? null : id;
}

/** The document as a render function sees it, or null (none, or deleted). */
function renderDoc(rc: RequestCtx, db: Db, id: string | null): Record<string, unknown> | null {
  if (id === null) return null;
  guardRead(rc, db, id);
  const state = loadDoc(db, id, db.revsLimit);
  if (!state || state.winner.deleted) return null;
  return winnerJson(db, state, { revs: true, conflicts: true });
}

/** A header a function set, as a string; a name or value HTTP cannot carry is the function's error. */
function checkedHeader(name: string, value: unknown): string {
  const text = String(value);
  try {
    validateHeaderName(name);
    validateHeaderValue(name, text);
  } catch (err) {
    throw new CouchError('external_response_error', { params: { detail: `Invalid header from the function: ${err instanceof Error ? err.message : String(err)}` } });
  }
  return text;
}

/**
 * chttpd_external parse_external_response: the status, headers (`extra` set before the
 * function's, `fixed` after) and body of a response object. `code` is the status when the
 * function names none (an update's 201 or 200); `csp`: the body gets CouchDB 3's sandbox policy
 * whatever its member (a list's head, maybe_add_csp_header "showlist").
 */
function externalResponse(resp: RenderResponse, code: number | undefined, extra: Record<string, string>, fixed: Record<string, string> = {}, csp = false): { status: number; headers: Record<string, string>; body: Buffer } {
  let status = code ?? 200;
  let body: Buffer = Buffer.alloc(0);
  let type = 'application/json';
  const headers: Record<string, string> = { ...extra };
  for (const [key, value] of Object.entries(resp)) {
    if (key === 'code' && typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) status = value;
    else if (key === 'json') [body, type] = [Buffer.from(JSON.stringify(value) ?? 'null'), 'application/json'];
    else if (key === 'body' && typeof value === 'string') [body, type, csp] = [Buffer.from(value), 'text/html; charset=utf-8', true];
    else if (key === 'base64' && typeof value === 'string') [body, type, csp] = [Buffer.from(value, 'base64'), 'application/binary', true];
    else if (key === 'headers' && isObject(value)) for (const [h, v] of Object.entries(value)) headers[h] = checkedHeader(h, v);
    else if (key !== 'stop') throw new CouchError('external_response_error', { params: { detail: `Invalid data from external server: ${key}` } });
  }
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = type;
  if (csp && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-security-policy')) headers['Content-Security-Policy'] = 'sandbox';
  // Headers the server controls (a show's ETag and Vary, chttpd_show apply_etag) replace the
  // function's, whatever their case.
  for (const [name, value] of Object.entries(fixed)) {
    for (const h of Object.keys(headers)) if (h.toLowerCase() === name.toLowerCase()) delete headers[h];
    headers[name] = value;
  }
  return { status, headers, body };
}

/** chttpd_external:send_external_response/2 (see externalResponse). */
function sendRenderResponse(rc: RequestCtx, resp: RenderResponse, code: number | undefined, extra: Record<string, string>, fixed: Record<string, string> = {}): void {
  const { status, headers, body } = externalResponse(resp, code, extra, fixed);
  headers['Content-Length'] = String(body.length);
  rc.res.writeHead(status, baseHeaders(headers));
  rc.res.end(rc.method === 'HEAD' ? undefined : body);
}

/**
 * chttpd_show show_etag: the design document's and the document's revisions, the `Accept` header
 * and the user, hashed; a request that names it in `If-None-Match` gets 304 without the function
 * running.
 */
function showEtag(rc: RequestCtx, ddocRev: unknown, doc: Record<string, unknown> | null): string {
  const user = rc.user === null ? [null, []] : [rc.user.name, rc.user.roles];
  const parts = [ddocRev, doc?._rev ?? null, rc.req.headers.accept ?? null, user];
  return `"${createHash('md5').update(JSON.stringify(parts)).digest('hex')}"`;
}

const show: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { fn, ddocRev } = await renderFunction(rc, db, 'show');
  const id = docIdParam(rc);
  const doc = renderDoc(rc, db, id);
  const etag = showEtag(rc, ddocRev, doc);
  if (notModified(rc.res, etag)) return;
  const bodyText = rc.method === 'POST' ? (await readBody(rc.req, rc.face.options.maxBodyBytes)).toString('utf8') : undefined;
  const resp = fn.show(doc, renderRequest(rc, db, bodyText, id));
  sendRenderResponse(rc, resp, undefined, {}, { ETag: etag, Vary: 'Accept' });
};

const update: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { fn } = await renderFunction(rc, db, 'update');
  const id = docIdParam(rc);
  const bodyText = (await readBody(rc.req, rc.face.options.maxBodyBytes)).toString('utf8');
  const [out, resp] = fn.update(renderDoc(rc, db, id), renderRequest(rc, db, bodyText, id));
  if (out === null) return sendRenderResponse(rc, resp, 200, {});
  if (!isObject(out)) throw new CouchError('not_an_object');
  const doc = parseDocument(out);
  const docId = doc.id ?? '';
  validateDocId(docId);
  await guardWrite(rc, db, docId, doc);
  const rev = await writeDoc(db, docId, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  sendRenderResponse(rc, resp, 201, { 'X-Couch-Update-NewRev': rev, 'X-Couch-Id': encodeURIComponent(docId) });
};

/**
 * `GET|POST /{db}/_design/{ddoc}/_list/{func}/[{other-ddoc}/]{view}`: the function gets the view
 * result's head (`{total_rows, offset}` for a map view, `{}` for a reduce; couch_mrview_show
 * list_cb's meta) and reads the rows with `getRow()` while its output streams (list-stream.ts).
 * Without a `Content-Type` of its own the answer is `application/json`, chttpd_external's default.
 */
const list: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { fn } = await renderFunction(rc, db, 'list');
  const body = rc.method === 'POST' ? await readJsonObject(rc) : undefined;
  // `_list/{fn}/_all_docs` lists the database's documents (chttpd_show handle_view_list_req).
  const source = rc.params.view === '_all_docs' && rc.params.viewddoc === undefined
    ? allDocsRows(allDocsResult(db, rc.query, body))
    : await viewRows(rc, db, rc.params.viewddoc ?? rc.params.ddoc!, rc.params.view!, body);
  const req = renderRequest(rc, db, body === undefined ? undefined : JSON.stringify(body), null);
  const headOf = (resp: RenderResponse): { status: number; headers: Record<string, string> } => externalResponse(resp, undefined, {}, {}, true);
  await streamList(rc, source, headOf, (host) => fn.list(source.head, req, host));
};

/** An `_all_docs` result (collected by all-docs.ts) as a row stream. */
function allDocsRows(result: Record<string, unknown>): RowStream {
  const { rows, ...head } = result;
  const texts = (Array.isArray(rows) ? rows : []).map((r) => JSON.stringify(r));
  return { head, rows: texts[Symbol.iterator](), close: () => undefined };
}

/** `_show`, `_list`, `_update` or `_view` with no function or view named: chttpd's 404 "Invalid path.". */
const invalidPath: Handler = async (rc) => {
  resolveDb(rc);
  throw new CouchError('not_found_detail', { params: { detail: 'Invalid path.' } });
};
export const invalidPathHandlers = { GET: invalidPath, POST: invalidPath, PUT: invalidPath, DELETE: invalidPath };

export const showHandlers = { GET: show, POST: show };
/**
 * OPTIONS runs a list as GET does (chttpd_show handle_view_list_req: `Method =:= 'GET' orelse
 * Method =:= 'OPTIONS'`, the function seeing `req.method` "OPTIONS"), though a 405 still names
 * only GET,POST,HEAD (routes.ts declares it unlisted).
 */
export const listHandlers = { GET: list, POST: list, OPTIONS: list };
export const updateHandlers = { POST: update, PUT: update };
