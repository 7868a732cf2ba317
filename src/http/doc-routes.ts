/**
 * Document endpoints (CouchDB api/document/common.rst; couch-replication.md §3.2–§3.6):
 * `GET|HEAD|PUT|DELETE|COPY /{db}/{doc}` (and `/{db}/_design/{ddoc}`), `POST /{db}`.
 *
 * The revision being edited may come from the body's `_rev`, `?rev=` or `If-Match`; when more
 * than one is given they must agree (400 otherwise, chttpd_db:extract_header_rev/2).
 */
import { CouchError, isCouchError } from '../couch/errors.js';
import { formatRev, parseRev } from '../couch/rev.js';
import { docRev, parseDocument, validateDocId, type ParsedDoc } from '../couch/doc.js';
import { requirePartitionForLookup } from '../couchdb/partition.js';
import { parseRelatedDocument } from '../couch/multipart.js';
import type { Db } from '../couchdb/db.js';
import { docJson, docText, inflateInline, revError } from '../couchdb/doc-json.js';
import { docOutOptions, hasMeta, mixedBody, parseOpenRevs, relatedFor, withoutMeta } from './doc-read.js';
import { openRev, openRevs } from '../couchdb/doc-revs.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { writeDoc } from '../couchdb/doc-write.js';
import { guardRead, guardWrite, resolveDb } from './keyspace.js';
import { absoluteUri, accepts, docPath, mediaType, jsonDepthLimit, parseJson, readJsonBytes, qBool, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { notModified, sendBody, sendJson, sendJsonText } from './response.js';
import { requestValidator } from './design.js';

/** The document id of the route: `:doc`, or `_design/:ddoc`. */
export function docIdOf(rc: RequestCtx): string {
  return rc.params.ddoc !== undefined ? `_design/${rc.params.ddoc}` : rc.params.doc!;
}

/** The rev named by `?rev=` or `If-Match`, checked against the body's (`_rev`). */
export function requestRev(rc: RequestCtx, bodyRev?: string): string | undefined {
  const q = rc.query.get('rev') ?? undefined;
  const header = rc.req.headers['if-match'];
  const h = typeof header === 'string' ? header.replace(/^"|"$/g, '') : undefined;
  if (q !== undefined) parseRev(q);
  if (h !== undefined) parseRev(h);
  // chttpd_db couch_doc_from_req: the query's rev against the body's first, then the If-Match
  // header (extract_header_rev) against whichever of the two was given.
  if (q !== undefined && bodyRev !== undefined && q !== bodyRev) throw new CouchError('rev_mismatch');
  const explicit = bodyRev ?? q;
  if (h !== undefined && explicit !== undefined && h !== explicit) throw new CouchError('rev_etag_mismatch');
  return explicit ?? h;
}

function location(rc: RequestCtx, db: Db, id: string): string {
  return absoluteUri(rc, docPath(db.name, id));
}

const getDoc: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  const id = docIdOf(rc);
  if (db.partitioned) requirePartitionForLookup(id);
  guardRead(rc, db, id);
  let opts = docOutOptions(rc.query);
  const revParam = rc.query.get('rev');
  let rev: string | null = null;
  if (revParam !== null) {
    const r = parseRev(revParam);
    rev = formatRev(r.pos, r.hash);
  }
  const state = loadDoc(db, id, db.revsLimit);
  db.stats.reads++; // CouchDB `database_reads`
  const wanted = parseOpenRevs(rc.query);
  if (wanted !== undefined) {
    if (!state && wanted === 'all') throw new CouchError('not_found');
    const results = openRevs(state, wanted, qBool(rc.query, 'latest'));
    const revOpts = { ...withoutMeta(opts), attsSince: null };
    // chttpd_db db_doc_req: `atts_since` only applies without `open_revs`, and the multipart/mixed
    // answer always sends attachment data (send_docs_multipart's options: attachments, follows).
    if (accepts(rc.req, 'multipart/mixed')) {
      await sendBody(rc.res, 200, mixedBody(db, state, results, { ...revOpts, attachments: true }));
      return;
    }
    // One entry per revision, each serialized on its own: a revision that cannot be shown is an
    // `{"error":{…}}` entry (as in `_bulk_get`), not a failed response. Large compressed
    // attachments are inflated off the event loop first (doc-json.ts inflateInline).
    const entries: string[] = [];
    for (const r of results) {
      if ('missing' in r) {
        entries.push(JSON.stringify(r));
        continue;
      }
      const inflated = await inflateInline(db, state!, r.ok.rev, r.ok.data.atts, revOpts);
      const doc = docText(db, () => docJson(db, state!, r.ok.rev, r.ok.data, r.ok.deleted, { ...revOpts, inflated }));
      entries.push('text' in doc ? `{"ok":${doc.text}}` : JSON.stringify(revError(id, r.ok.rev, doc.error)));
    }
    sendJsonText(rc.res, 200, `[${entries.join(',')}]`);
    return;
  }
  if (!state) throw new CouchError('not_found');
  // `latest=true` opens the winner whatever `rev` says (chttpd_db db_doc_req: "couch_doc_open will
  // open the winning rev despite of a rev passed").
  const winnerRead = rev === null || qBool(rc.query, 'latest');
  // couch_db:open_doc/3: a deleted winner is `{not_found, deleted}` unless `?deleted=true`.
  if (winnerRead && state.winner.deleted && !qBool(rc.query, 'deleted')) throw new CouchError('not_found_deleted');
  if (!winnerRead) opts = withoutMeta(opts);
  const found = openRev(state, rev === null || winnerRead ? state.winner.rev : rev);
  if (!found) throw new CouchError('not_found');
  // chttpd_db send_doc: an ETag (and If-None-Match) only for a document without meta members.
  const etag = winnerRead && hasMeta(state, opts) ? undefined : `"${found.rev}"`;
  if (etag !== undefined && notModified(rc.res, etag)) return;
  const etagHeader: Record<string, string> = etag === undefined ? {} : { ETag: etag };
  // chttpd_db send_doc_efficiently: `atts_since` implies `attachments`; a document with
  // attachments goes out as multipart/related to any client that accepts it (no Accept header
  // included), one without as JSON.
  const withData = opts.attachments === true || (opts.attsSince ?? null) !== null;
  if (withData && found.data.atts.length > 0 && accepts(rc.req, 'multipart/related')) {
    await sendBody(rc.res, 200, relatedFor(db, state, found, opts), etagHeader);
    return;
  }
  const inflated = await inflateInline(db, state, found.rev, found.data.atts, opts);
  sendJson(rc.res, 200, docJson(db, state, found.rev, found.data, found.deleted, { ...opts, inflated }), etagHeader);
};

/**
 * Whether a request comes from a Couchbase SDK rather than a CouchDB client. The C++ core (and the
 * SDKs on it) sends `client-context-id` on every HTTP service; the JVM SDKs do not, but name
 * themselves in `User-Agent` as `couchbase-java/3.x (...)`, `couchbase-scala/...`,
 * `couchbase-kotlin/...` (core-io env/UserAgent.java `formattedLong`, which
 * NonChunkedHttpMessageHandler sets on every request). CouchDB clients send neither.
 */
function fromCouchbaseSdk(rc: RequestCtx): boolean {
  if (rc.req.headers['client-context-id'] !== undefined) return true;
  const agent = rc.req.headers['user-agent'];
  return typeof agent === 'string' && agent.startsWith('couchbase-');
}

/**
 * A Couchbase SDK's write or delete of a design document, as Couchbase's views API (`capi`, port
 * 8092 there) takes it: last-write-wins. Freshet's CouchDB face is also the bucket's `capi`
 * service, and the SDK's view index manager upserts and drops design documents with no rev; ns_server
 * stores them as an `interactive_update` (capi_frontend update_doc -> capi_ddoc_manager, a
 * replicated_storage), which revises the stored document whatever rev the request names. So a
 * rev in the request is ignored too: the Java SDK's `publishDesignDocument` PUTs the development
 * document's body as it read it back, `_rev` included. Returns undefined for every other request
 * (CouchDB's MVCC applies), else the current live revision to write over (none: a create).
 */
function capiDesignRev(rc: RequestCtx, db: Db, id: string): { rev: string | undefined } | undefined {
  if (!id.startsWith('_design/') || !fromCouchbaseSdk(rc)) return undefined;
  const state = loadDoc(db, id, db.revsLimit);
  return { rev: state && !state.winner.deleted ? state.winner.rev : undefined };
}

/** Apply the rev named by `?rev=`/`If-Match` to a parsed document (interactive edits). */
function withRequestRev(rc: RequestCtx, doc: ParsedDoc, capi?: { rev: string | undefined }): ParsedDoc {
  if (capi !== undefined) doc.revisions = null;
  const rev = capi === undefined ? requestRev(rc, docRev(doc) ?? undefined) : capi.rev;
  if (rev !== undefined && doc.revisions === null) {
    const r = parseRev(rev);
    doc.revisions = { start: r.pos, ids: [r.hash] };
  }
  return doc;
}

const putDoc: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  const id = docIdOf(rc);
  validateDocId(id);
  // A JSON body may come gzipped (chttpd:json_body/1); a multipart one is read as sent.
  const multipart = mediaType(rc.req) === 'multipart/related';
  const raw = multipart ? await readBody(rc.req, rc.face.options.maxBodyBytes) : await readJsonBytes(rc);
  let doc: ParsedDoc;
  let followsData: Map<string, Buffer> | undefined;
  if (multipart) {
    const related = parseRelatedDocument(raw, rc.req.headers['content-type'] ?? '', jsonDepthLimit(rc));
    doc = parseDocument(related.doc);
    followsData = related.followsData;
  } else {
    doc = parseDocument(parseJson(raw, jsonDepthLimit(rc)));
  }
  doc.id = id;
  const newEdits = qBool(rc.query, 'new_edits', true);
  // chttpd_db validate_revs/2 runs before the write, so `?batch=ok` answers it too.
  if (!newEdits && doc.revisions === null && rc.query.get('rev') === null && rc.req.headers['if-match'] === undefined) throw new CouchError('new_edits_needs_rev');
  await guardWrite(rc, db, id, doc);
  const write = writeDoc(db, id, withRequestRev(rc, doc, capiDesignRev(rc, db, id)), { newEdits, followsData, validate: await requestValidator(rc, db) });
  if (rc.query.get('batch') === 'ok') return batchAccepted(rc, write, id);
  const written = await write;
  // chttpd_db update_doc: a deletion is `ok` (200), any other write `created` (201).
  sendJson(rc.res, doc.deleted ? 200 : 201, { ok: true, id, rev: written }, { ETag: `"${written}"`, Location: location(rc, db, id) });
};

/**
 * `?batch=ok` (chttpd_db update_doc): CouchDB queues the write and answers 202 `{ok, id}` at once,
 * so what becomes of it (a conflict, a refusal) is not the client's answer. Freshet still writes
 * before answering, and answers the same whatever the write's document-level outcome.
 */
async function batchAccepted(rc: RequestCtx, write: Promise<string>, id: string): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!isCouchError(err) || err.status >= 500) throw err;
  }
  sendJson(rc.res, 202, { ok: true, id });
}

const deleteDoc: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  const id = docIdOf(rc);
  validateDocId(id);
  if (db.partitioned) requirePartitionForLookup(id);
  // chttpd_db db_doc_req('DELETE') opens the document first, so a missing or deleted one is a
  // 404 whether or not a rev was given; only then does a rev-less delete conflict.
  const state = loadDoc(db, id, db.revsLimit);
  if (!state) throw new CouchError('not_found');
  if (state.winner.deleted) throw new CouchError('not_found_deleted');
  // That open reads as the requester (couch_users_db after_doc_read): another user's `_users`
  // document is 404 to a non-admin, anonymous or named, before any rev or validation is looked at.
  guardRead(rc, db, id);
  const capi = capiDesignRev(rc, db, id);
  const rev = capi === undefined ? requestRev(rc) : capi.rev;
  if (rev === undefined) throw new CouchError('conflict');
  const r = parseRev(rev);
  const doc: ParsedDoc = { id, revisions: { start: r.pos, ids: [r.hash] }, deleted: true, body: {} };
  await guardWrite(rc, db, id, doc);
  const written = await writeDoc(db, id, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  sendJson(rc.res, 200, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

/**
 * `COPY /{db}/{doc}` with `Destination: ID[?rev=REV]` (CouchDB api/document/common.rst): the
 * source's winning revision (or `?rev=`), attachments included, written as `ID`, a new document
 * or, with `?rev=` in the destination, a new revision of it (409 otherwise when `ID` exists), as
 * chttpd_db `db_doc_req('COPY')` with couch_httpd_db:parse_copy_destination_header/1.
 */
const copyDoc: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  const id = docIdOf(rc);
  guardRead(rc, db, id);
  const header = rc.req.headers.destination;
  if (typeof header !== 'string' || header === '') throw new CouchError('bad_request', { reason: 'Destination header is mandatory for COPY.' });
  if (/^https?:\/\//.test(header)) throw new CouchError('bad_request', { reason: 'Destination URL must be relative.' });
  const [rawDestId = '', destQuery] = header.split('?', 2);
  // chttpd_db db_doc_req('COPY') unquotes the id (mochiweb_util:unquote: %XX escapes, `+` a space).
  const destId = unquote(rawDestId);
  const destRev = destQuery === undefined ? undefined : (new URLSearchParams(destQuery).get('rev') ?? undefined);
  validateDocId(destId);
  // `_local/` documents live apart from the revision-tracked ones (couchdb/local-docs.ts).
  if (destId.startsWith('_local/')) throw new CouchError('bad_request', { reason: 'Use PUT for _local documents' });
  const state = loadDoc(db, id, db.revsLimit);
  if (!state) throw new CouchError('not_found');
  // The source's rev: `?rev=` or If-Match, which must agree (chttpd_db extract_header_rev/2).
  const sourceRev = requestRev(rc);
  const wanted = sourceRev === undefined ? null : parseRev(sourceRev);
  if (wanted === null && state.winner.deleted) throw new CouchError('not_found_deleted');
  const rev = wanted === null ? state.winner.rev : formatRev(wanted.pos, wanted.hash);
  const found = openRev(state, rev);
  if (!found || found.deleted) throw new CouchError('not_found');
  // The source's body under the new id, with its attachments as stored (bytes shared, compressed
  // ones kept so, the new revision's revpos), as couch_db flush_data keeps an active stream.
  const source = docJson(db, state, rev, found.data, false);
  delete source._rev;
  delete source._attachments;
  const doc = parseDocument({ ...source, _id: destId, ...(destRev === undefined ? {} : { _rev: destRev }) });
  if (found.data.atts.length > 0) doc.attachments = found.data.atts.map((meta) => ({ kind: 'stored', name: meta.name, contentType: meta.contentType, meta }));
  await guardWrite(rc, db, destId, doc);
  const written = await writeDoc(db, destId, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  sendJson(rc.res, 201, { ok: true, id: destId, rev: written }, { ETag: `"${written}"`, Location: location(rc, db, destId) });
};

/** mochiweb_util:unquote/1: `+` is a space, `%XX` a byte (UTF-8 decoded); a malformed escape stays as sent. */
function unquote(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** `POST /{db}`: create a document, with a generated id unless the body has one. */
export const postDoc: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  requireJsonType(rc.req);
  const doc = parseDocument(parseJson(await readJsonBytes(rc), jsonDepthLimit(rc)));
  const id = doc.id ?? rc.face.uuids.next();
  validateDocId(id);
  if (id.startsWith('_local/')) throw new CouchError('bad_request', { reason: 'Use PUT for _local documents' });
  await guardWrite(rc, db, id, doc);
  const write = writeDoc(db, id, withRequestRev(rc, doc), { newEdits: qBool(rc.query, 'new_edits', true), validate: await requestValidator(rc, db) });
  if (rc.query.get('batch') === 'ok') return batchAccepted(rc, write, id);
  const written = await write;
  sendJson(rc.res, 201, { ok: true, id, rev: written }, { ETag: `"${written}"`, Location: location(rc, db, id) });
};

export const docHandlers = { GET: getDoc, PUT: putDoc, DELETE: deleteDoc, COPY: copyDoc };
