/**
 * Standalone attachments (CouchDB api/document/attachments.rst; couch-replication.md §3.6):
 * `GET|HEAD|PUT|DELETE /{db}/{doc}/{name}` where the name may contain '/'. PUT and DELETE make a
 * new revision of the document that keeps its body and other attachments (as stubs). PouchDB's
 * replicator pulls attachment bytes this way after `_bulk_get` (§4.2).
 */
import { CouchError } from '../couch/errors.js';
import { formatRev, parseRev } from '../couch/rev.js';
import { getAttachmentData, putAttachmentData } from './att-store.js';
import { openRev } from './doc-read.js';
import { loadDoc, type AttMap } from './doc-store.js';
import { validateDocId, writeDoc, type PreparedAtt } from './doc-write.js';
import { docIdOf, requestRev } from './doc-routes.js';
import { resolveDb } from './keyspace.js';
import { readBody, type Handler } from './request.js';
import { sendBytes, sendJson } from './response.js';

function stubsOf(atts: AttMap, except: string): PreparedAtt[] {
  return Object.entries(atts)
    .filter(([name]) => name !== except)
    .map(([name, a]) => ({ name, kind: 'stub', content_type: a.content_type, digest: a.digest, length: a.length, revpos: a.revpos }));
}

const getAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const state = loadDoc(db.bucket, docIdOf(rc), db.revsLimit);
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
  const meta = found.data.atts[rc.params.att!];
  const data = meta ? getAttachmentData(db, meta.digest) : undefined;
  if (!meta || !data) throw new CouchError('attachment_not_found');
  const etag = `"${meta.digest.slice(4)}"`;
  if (rc.req.headers['if-none-match'] === etag) {
    rc.res.writeHead(304, { ETag: etag });
    rc.res.end();
    return;
  }
  sendBytes(rc.res, 200, data, {
    'Content-Type': meta.content_type,
    ETag: etag,
    'Content-MD5': meta.digest.slice(4),
    'Accept-Ranges': 'none',
  });
};

const putAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = validateDocId(docIdOf(rc));
  const name = rc.params.att!;
  if (name.startsWith('_')) throw new CouchError('attachment_name_underscore', { params: { name } });
  const data = await readBody(rc.req, rc.face.options.maxBodyBytes);
  const digest = await putAttachmentData(db, data);
  const rev = requestRev(rc);
  const state = loadDoc(db.bucket, id, db.revsLimit);
  const parent = rev !== undefined && state ? state.revData(rev) : null;
  if (rev !== undefined && !parent) throw new CouchError('conflict');
  const contentType = rc.req.headers['content-type'] ?? 'application/octet-stream';
  const prepared: PreparedAtt[] = [
    ...stubsOf(parent?.atts ?? {}, name),
    { name, kind: 'data', content_type: contentType, digest, length: data.length, revpos: undefined },
  ];
  const body = parent?.body ?? {};
  const written = await writeDoc(db, id, { rev, deleted: false, body }, prepared, { newEdits: true });
  sendJson(rc.res, 201, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

const deleteAttachment: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = validateDocId(docIdOf(rc));
  const name = rc.params.att!;
  const rev = requestRev(rc);
  if (rev === undefined) throw new CouchError('conflict');
  const state = loadDoc(db.bucket, id, db.revsLimit);
  if (!state) throw new CouchError('not_found');
  const parent = state.revData(rev);
  if (!parent) throw new CouchError('conflict');
  if (!parent.atts[name]) throw new CouchError('attachment_not_found');
  const written = await writeDoc(db, id, { rev, deleted: false, body: parent.body }, stubsOf(parent.atts, name), { newEdits: true });
  sendJson(rc.res, 200, { ok: true, id, rev: written }, { ETag: `"${written}"` });
};

export const attachmentHandlers = { GET: getAttachment, PUT: putAttachment, DELETE: deleteAttachment };
