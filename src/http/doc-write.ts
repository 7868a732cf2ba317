/**
 * One document write, as PUT, POST, DELETE, `_bulk_docs` and multipart PUT all do it:
 *
 * 1. `parseDocBody`: split the special `_` members off the body (couch_doc.erl transfer_fields:
 *    unknown `_` members are `400 doc_validation "Bad special document member"`);
 * 2. `prepareAttachments` (async): decode inline base64 / `follows` MIME parts and store their
 *    bytes by digest, before anything references them;
 * 3. `writeDoc`: load the tree, apply the interactive (couch/edit.ts applyInteractiveEdit) or
 *    replicated (`new_edits: false`, applyReplicatedEdit) rules, resolve `stub` attachments
 *    against the parent revision (`412 missing_stub` when it lacks them), store; all in one turn.
 *
 * revpos: interactive writes give attachments with new data the new revision's generation
 * (couch_db:set_new_att_revpos/1); replicated writes keep the revpos they carry.
 */
import { CouchError } from '../couch/errors.js';
import { parseRev, parseRevHash, type AttachmentDigest } from '../couch/rev.js';
import type { Revisions } from '../couch/rev-tree.js';
import { applyInteractiveEdit, applyReplicatedEdit, previousStoredRev } from '../couch/edit.js';
import { hasAttachmentData, getAttachmentData, putAttachmentData } from './att-store.js';
import type { Db } from './db.js';
import { updateDoc, type AttMap, type AttMeta, type DocState, type RevData } from './doc-store.js';
import { isObject } from './request.js';

export interface ParsedDoc {
  id?: string;
  rev?: string;
  deleted: boolean;
  revisions?: Revisions;
  body: Record<string, unknown>;
  attachments?: Record<string, unknown>;
}

/** `_` members a client may send; the read-only ones are accepted and ignored. */
const SPECIAL_MEMBERS = new Set([
  '_id', '_rev', '_deleted', '_revisions', '_attachments', '_revs_info', '_conflicts', '_deleted_conflicts', '_local_seq',
]);

export function parseDocBody(json: unknown): ParsedDoc {
  if (!isObject(json)) throw new CouchError('not_an_object');
  const doc: ParsedDoc = { deleted: false, body: {} };
  for (const [k, v] of Object.entries(json)) {
    if (!k.startsWith('_')) {
      doc.body[k] = v;
      continue;
    }
    if (!SPECIAL_MEMBERS.has(k)) throw new CouchError('bad_special_member', { params: { name: k } });
    if (k === '_id') {
      if (typeof v !== 'string') throw new CouchError('docid_not_string');
      doc.id = v;
    } else if (k === '_rev') {
      parseRev(v);
      doc.rev = v as string;
    } else if (k === '_deleted') {
      doc.deleted = v === true;
    } else if (k === '_revisions') {
      doc.revisions = parseRevisions(v);
    } else if (k === '_attachments') {
      if (!isObject(v)) throw new CouchError('doc_validation', { params: { detail: '_attachments must be an object' } });
      doc.attachments = v;
    }
  }
  return doc;
}

function parseRevisions(v: unknown): Revisions {
  if (!isObject(v)) throw new CouchError('doc_validation', { params: { detail: '_revisions must be an object' } });
  if (!Number.isSafeInteger(v.start)) throw new CouchError('revisions_start_not_int');
  if (!Array.isArray(v.ids)) throw new CouchError('revisions_ids_not_array');
  const start = v.start as number;
  const ids = v.ids.map(parseRevHash);
  if (ids.length === 0 || start - ids.length + 1 < 1) throw new CouchError('invalid_rev_format');
  return { start, ids };
}

/** couch_doc:validate_docid/1 for documents (not `_local/`). */
export function validateDocId(id: unknown): string {
  if (typeof id !== 'string') throw new CouchError('docid_not_string');
  if (id.length === 0) throw new CouchError('docid_empty');
  if (id === '_design/') throw new CouchError('docid_bare_design');
  if (id === '_local/') throw new CouchError('docid_bare_local');
  if (id.startsWith('_') && !id.startsWith('_design/')) throw new CouchError('docid_underscore');
  return id;
}

export type PreparedAtt =
  | { name: string; kind: 'data'; content_type: string; digest: string; length: number; revpos: number | undefined }
  | { name: string; kind: 'stub'; content_type: string | undefined; digest: string | undefined; length: number | undefined; revpos: number | undefined };

/** Attachment bytes that arrived as MIME parts, by name (a `follows: true` entry takes its part). */
export type FollowsData = Map<string, Buffer>;

function optNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

export async function prepareAttachments(db: Db, raw: Record<string, unknown> | undefined, follows?: FollowsData): Promise<PreparedAtt[]> {
  const out: PreparedAtt[] = [];
  if (!raw) return out;
  for (const [name, spec] of Object.entries(raw)) {
    if (name.startsWith('_')) throw new CouchError('attachment_name_underscore', { params: { name } });
    if (!isObject(spec)) throw new CouchError('invalid_attachment_data', { params: { name } });
    const contentType = typeof spec.content_type === 'string' ? spec.content_type : undefined;
    const revpos = optNumber(spec.revpos);
    if (spec.stub === true) {
      const digest = typeof spec.digest === 'string' ? spec.digest : undefined;
      out.push({ name, kind: 'stub', content_type: contentType, digest, length: optNumber(spec.length), revpos });
      continue;
    }
    let data: Buffer;
    if (spec.follows === true) {
      const part = follows?.get(name);
      if (!part) throw new CouchError('multipart_invalid', { params: { detail: `no MIME part for attachment ${name}` } });
      data = part;
      const expected = optNumber(spec.length);
      if (expected !== undefined && expected > data.length) throw new CouchError('attachment_too_short');
      if (expected !== undefined && expected < data.length) throw new CouchError('attachment_too_long');
    } else if (typeof spec.data === 'string') {
      if (!/^[A-Za-z0-9+/\s]*=*\s*$/.test(spec.data)) throw new CouchError('invalid_attachment_data', { params: { name } });
      data = Buffer.from(spec.data, 'base64');
    } else {
      throw new CouchError('invalid_attachment_data', { params: { name } });
    }
    const digest = await putAttachmentData(db, data);
    if (spec.follows === true && typeof spec.digest === 'string' && spec.digest.startsWith('md5-') && spec.digest !== digest) {
      throw new CouchError('md5_mismatch');
    }
    out.push({ name, kind: 'data', content_type: contentType ?? 'application/octet-stream', digest, length: data.length, revpos });
  }
  return out;
}

/** Turn prepared attachments into metadata, taking stubs from `parent` (the revision edited). */
function resolveAttachments(db: Db, id: string, prepared: PreparedAtt[], parent: RevData | null, state: DocState | null): AttMap {
  const atts: AttMap = {};
  for (const p of prepared) {
    if (p.kind === 'data') {
      atts[p.name] = { content_type: p.content_type, digest: p.digest, length: p.length, revpos: p.revpos ?? 0 };
      continue;
    }
    const fromParent = parent?.atts[p.name];
    if (fromParent && (p.digest === undefined || p.digest === fromParent.digest)) {
      atts[p.name] = fromParent;
      continue;
    }
    // A replicator may send a stub for bytes we hold under another revision or document.
    const known = p.digest !== undefined ? findKnown(state, p.name, p.digest) : undefined;
    if (known) {
      atts[p.name] = { ...known, revpos: p.revpos ?? known.revpos };
    } else if (p.digest !== undefined && hasAttachmentData(db, p.digest)) {
      const length = p.length ?? getAttachmentData(db, p.digest)?.length ?? 0;
      atts[p.name] = { content_type: p.content_type ?? 'application/octet-stream', digest: p.digest, length, revpos: p.revpos ?? 0 };
    } else {
      throw new CouchError('missing_stub', { params: { id, name: p.name } });
    }
  }
  return atts;
}

function findKnown(state: DocState | null, name: string, digest: string): AttMeta | undefined {
  if (!state) return undefined;
  for (const leaf of state.leaves) {
    const a = state.revData(leaf.rev)?.atts[name];
    if (a && a.digest === digest) return a;
  }
  return undefined;
}

function digestsOf(atts: AttMap): AttachmentDigest[] {
  return Object.entries(atts).map(([name, a]) => ({ name, contentType: a.content_type, digest: a.digest }));
}

export interface WriteOptions {
  newEdits: boolean;
}

/** Write one document; resolves to the revision written (or already present, for replicated writes). */
export async function writeDoc(db: Db, id: string, doc: ParsedDoc, prepared: PreparedAtt[], opts: WriteOptions): Promise<string> {
  const revsLimit = db.revsLimit;
  return updateDoc(db.bucket, id, revsLimit, (state) => {
    if (opts.newEdits) {
      const parentRev = doc.rev ?? (state && state.winner.deleted ? state.winner.rev : null);
      const parent = parentRev && state ? state.revData(parentRev) : null;
      const atts = resolveAttachments(db, id, prepared, parent, state);
      const edit = applyInteractiveEdit(state?.tree ?? null, {
        rev: doc.rev ?? null,
        deleted: doc.deleted,
        body: doc.body,
        attachmentsDigests: digestsOf(atts),
        revsLimit,
      });
      const pos = parseRev(edit.rev).pos;
      for (const p of prepared) if (p.kind === 'data') atts[p.name]!.revpos = pos;
      return { next: { tree: edit.tree, rev: edit.rev, data: { body: doc.body, atts } }, result: edit.rev };
    }
    let revisions = doc.revisions;
    if (!revisions) {
      if (!doc.rev) throw new CouchError('new_edits_needs_rev');
      const r = parseRev(doc.rev);
      revisions = { start: r.pos, ids: [r.hash] };
    }
    const merged = applyReplicatedEdit(state?.tree ?? null, revisions, doc.deleted, revsLimit);
    if (!merged.changed) return { next: null, result: merged.rev };
    const parentRev = previousStoredRev(merged.tree, merged.rev);
    const parent = parentRev && state ? state.revData(parentRev) : null;
    const atts = resolveAttachments(db, id, prepared, parent, state);
    for (const p of prepared) if (p.kind === 'data' && p.revpos === undefined) atts[p.name]!.revpos = revisions.start;
    return { next: { tree: merged.tree, rev: merged.rev, data: { body: doc.body, atts } }, result: merged.rev };
  });
}
