/**
 * Standalone attachments (CouchDB api/document/attachments.rst; couch-replication.md §3.6):
 * `GET|HEAD|PUT|DELETE /{db}/{doc}/{name}` where the name may contain '/'. PUT and DELETE make a
 * new revision of the document that keeps its body and other attachments (as stubs). PouchDB's
 * replicator pulls attachment bytes this way after `_bulk_get` (§4.2).
 */
import { validateAttachmentName, type AttachmentMeta, type IncomingAttachment } from '../couch/attachments.js';
import { isEncoded } from '../couch/att-encoding.js';
import { acceptedEncodings, requestEncoding, requestMd5, sendEncodedAttachment } from './attachment-encoding.js';
import { parseDocument, validateDocId, type ParsedDoc } from '../couch/doc.js';
import { parseMultipart } from '../couch/multipart.js';
import { byteRangesBody, contentRange, parseByteRanges } from '../couch/byte-ranges.js';
import { CouchError } from '../couch/errors.js';
import { formatRev, parseRev } from '../couch/rev.js';
import { getAttachmentData } from '../couchdb/att-store.js';
import { openRev } from '../couchdb/doc-revs.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { writeDoc } from '../couchdb/doc-write.js';
import { docIdOf, requestRev } from './doc-routes.js';
import { guardWrite, resolveDb } from './keyspace.js';
import { absoluteUri, docPath, jsonDepthLimit, parseJson, readBody, type Handler } from './request.js';
import { notModified, sendBytes, sendJson } from './response.js';
import { requestValidator } from './design.js';

function stubsOf(atts: readonly AttachmentMeta[], except: string): IncomingAttachment[] {
  return atts
    .filter((a) => a.name !== except)
    .map((a) => ({ kind: 'stub', name: a.name, contentType: a.contentType, digest: a.digest, length: a.length, revpos: a.revpos }));
}

function revisionsOf(rev: string | undefined): ParsedDoc['revisions'] {
  if (rev === undefined) return null;
  const r = parseRev(rev);
  return { start: r.pos, ids: [r.hash] };
}

const getAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const state = loadDoc(db, docIdOf(rc), db.revsLimit);
  if (!state) throw new CouchError('not_found');
  const revParam = rc.query.get('rev');
  let rev = state.winner.rev;
  if (revParam !== null) {
    const r = parseRev(revParam);
    rev = formatRev(r.pos, r.hash);
  } else if (state.winner.deleted) {
    throw new CouchError('not_found_deleted');
  }
  const found = openRev(state, rev);
  if (!found) throw new CouchError('not_found');
  const meta = found.data.atts.find((a) => a.name === rc.params.att);
  const data = meta ? getAttachmentData(db, meta.digest) : undefined;
  if (!meta || !data) throw new CouchError('attachment_not_found');
  const etag = `"${meta.digest.slice(4)}"`;
  const accepted = acceptedEncodings(rc.req);
  if (notModified(rc.res, etag)) return;
  // Stored gzip-compressed: served as stored or decoded, never by ranges (attachment-encoding.ts).
  if (isEncoded(meta.encoding)) return sendEncodedAttachment(rc.res, meta, data, etag, accepted);
  // Byte ranges of identity-encoded attachments, as CouchDB serves them (couch/byte-ranges.ts).
  const identity = meta.encoding === undefined;
  const range = rc.req.headers.range;
  const ranges = identity ? parseByteRanges(typeof range === 'string' ? range : undefined, data.length) : null;
  const common = { ETag: etag, 'Accept-Ranges': identity ? 'bytes' : 'none' };
  if (ranges !== null && ranges.length === 1) {
    const [from, to] = ranges[0]!;
    sendBytes(rc.res, 206, data.subarray(from, to + 1), { ...common, 'Content-Type': meta.contentType, 'Content-Range': contentRange(ranges[0]!, data.length) });
    return;
  }
  if (ranges !== null) {
    const multi = byteRangesBody(data, ranges, meta.contentType);
    sendBytes(rc.res, 206, multi.body, { ...common, 'Content-Type': multi.contentType });
    return;
  }
  sendBytes(rc.res, 200, data, { ...common, 'Content-Type': meta.contentType, 'Content-MD5': meta.digest.slice(4) });
};

const putAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = docIdOf(rc);
  validateDocId(id);
  const name = rc.params.att!;
  validateAttachmentName(name);
  const data = await readBody(rc.req, rc.face.options.maxBodyBytes);
  const rev = requestRev(rc);
  const state = loadDoc(db, id, db.revsLimit);
  const parent = rev !== undefined && state ? state.revData(rev) : null;
  if (rev !== undefined && !parent) throw new CouchError('conflict');
  const contentType = rc.req.headers['content-type'] ?? 'application/octet-stream';
  // Content-Encoding and Content-MD5 of the body (attachment-encoding.ts).
  const encoding = requestEncoding(rc.req);
  const digest = requestMd5(rc.req);
  const attachments: IncomingAttachment[] = [
    ...stubsOf(parent?.atts ?? [], name),
    { kind: 'inline', name, contentType, data, revpos: 0, ...(encoding ? { encoding } : {}), ...(digest ? { digest } : {}) },
  ];
  const doc: ParsedDoc = { id, revisions: revisionsOf(rev), deleted: false, body: parent?.body ?? {}, attachments };
  await guardWrite(rc, db, id, doc);
  const written = await writeDoc(db, id, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  // chttpd_db db_attachment_req: the attachment's URL in Location.
  sendJson(rc.res, 201, { ok: true, id, rev: written }, { ETag: `"${written}"`, Location: absoluteUri(rc, docPath(db.name, id, name)) });
};

const deleteAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = docIdOf(rc);
  validateDocId(id);
  const name = rc.params.att!;
  const rev = requestRev(rc);
  if (rev === undefined) throw new CouchError('conflict');
  const state = loadDoc(db, id, db.revsLimit);
  if (!state) throw new CouchError('not_found');
  const parent = state.revData(rev);
  if (!parent) throw new CouchError('conflict');
  if (!parent.atts.some((a) => a.name === name)) throw new CouchError('attachment_not_found');
  const doc: ParsedDoc = { id, revisions: revisionsOf(rev), deleted: false, body: parent.body, attachments: stubsOf(parent.atts, name) };
  await guardWrite(rc, db, id, doc);
  const written = await writeDoc(db, id, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  sendJson(rc.res, 200, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

/** `name` and `filename` of a form-data part's Content-Disposition (RFC 7578), quoted or not. */
function disposition(header: string | undefined): { name?: string; filename?: string } {
  const out: { name?: string; filename?: string } = {};
  for (const m of (header ?? '').matchAll(/;\s*(name|filename)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/gi)) {
    out[m[1]!.toLowerCase() as 'name' | 'filename'] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return out;
}

/**
 * `POST /{db}/{docid}` with a `multipart/form-data` body (chttpd_db db_doc_req POST, HTML form
 * uploads): the `_attachments` file fields become attachments of a new revision of the document
 * named by the `_rev` field (or of the `_doc` field's JSON), replacing same-named ones and keeping
 * the others as stubs. Any other content type is 415, as CouchDB answers.
 */
const postForm: Handler = async (rc) => {
  const db = resolveDb(rc, undefined, { userDoc: true });
  const id = docIdOf(rc);
  validateDocId(id);
  const contentType = rc.req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) throw new CouchError('bad_content_type', { params: { type: 'multipart/form-data' } });
  const parts = parseMultipart(await readBody(rc.req, rc.face.options.maxBodyBytes), contentType).map((p) => ({ ...disposition(p.headers['content-disposition']), part: p }));
  const field = (name: string): string | undefined => parts.find((p) => p.name === name && p.filename === undefined)?.part.body.toString('utf8');
  const uploads: IncomingAttachment[] = parts
    .filter((p) => p.name === '_attachments' && p.filename !== undefined && p.filename !== '')
    .map(({ filename, part }) => {
      validateAttachmentName(filename!);
      const data = part.body;
      return { kind: 'inline', name: filename!, contentType: part.headers['content-type'] ?? 'application/octet-stream', data, revpos: 0 };
    });
  const docJson = field('_doc');
  let doc: ParsedDoc;
  if (docJson !== undefined) {
    doc = parseDocument(parseJson(Buffer.from(docJson), jsonDepthLimit(rc)));
  } else {
    const rev = field('_rev');
    const state = loadDoc(db, id, db.revsLimit);
    if (rev === undefined) {
      // No revision named: a new document (a live one is a conflict, as a rev-less PUT is).
      if (state && !state.winner.deleted) throw new CouchError('conflict');
      doc = { id, revisions: null, deleted: false, body: {}, attachments: [] };
    } else {
      const r = parseRev(rev);
      // Only a stored leaf can be edited: anything else conflicts, as for a PUT.
      const parent = state ? state.revData(formatRev(r.pos, r.hash)) : null;
      if (!parent) throw new CouchError('conflict');
      doc = { id, revisions: revisionsOf(rev), deleted: false, body: parent.body, attachments: stubsOf(parent.atts, '') };
    }
  }
  doc.id = id;
  const replaced = new Set(uploads.map((u) => u.name));
  doc.attachments = [...uploads, ...(doc.attachments ?? []).filter((a) => !replaced.has(a.name))];
  await guardWrite(rc, db, id, doc);
  const written = await writeDoc(db, id, doc, { newEdits: true, validate: await requestValidator(rc, db) });
  sendJson(rc.res, 201, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

export const attachmentHandlers = { GET: getAttachment, PUT: putAttachment, DELETE: deleteAttachment };
export const formHandlers = { POST: postForm };
