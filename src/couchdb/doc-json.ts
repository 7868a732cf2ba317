/**
 * A stored revision as CouchDB's JSON document (couch/doc.ts buildDocResponse, in
 * couch_doc:to_json_obj/2 member order), with `_revisions`, `_revs_info`, `_conflicts`,
 * `_deleted_conflicts` and `_attachments` as asked (couch-replication.md §3.2, §3.3, §3.6).
 *
 * Attachments come as stubs unless data is asked for: `attachments=true` inlines every one;
 * `atts_since=[revs]` only those newer than the newest listed ancestor (couch/attachments.ts
 * attachmentHasData); `follows` marks data that travels as a later MIME part.
 */
import { attachmentHasData, attachmentsToJson, type AttachmentMeta, type AttachmentsJsonOptions } from '../couch/attachments.js';
import { inflateAttachment, isEncoded } from '../couch/att-encoding.js';
import { buildDocResponse, type DocResponseParts } from '../couch/doc.js';
import { conflicts, deletedConflicts, revisionsFor, revsInfo } from '../couch/rev-tree-query.js';
import { CouchError } from '../couch/errors.js';
import { getAttachmentData, getIdentityData } from './att-store.js';
import { toCouchError } from './errors.js';
import type { Db } from './db.js';
import type { DocState } from './doc-store.js';
import type { RevData } from './doc-sync.js';

export interface DocOutOptions {
  revs?: boolean;
  revsInfo?: boolean;
  conflicts?: boolean;
  deletedConflicts?: boolean;
  /** Inline every attachment's data. */
  attachments?: boolean;
  /** Inline data only of attachments newer than these revisions (when one is an ancestor). */
  attsSince?: string[] | null;
  /** Mark attachments with data as `follows` (the bytes travel as MIME parts). */
  follows?: boolean;
  /**
   * `encoding`/`encoded_length` of compressed attachments (`?att_encoding_info=true`; every
   * multipart answer, whose parts carry the stored bytes: chttpd_db adds att_encoding_info).
   */
  encodingInfo?: boolean;
  /** Add `_local_seq`: the document's change sequence (`?local_seq=true`, design option `local_seq`). */
  localSeq?: boolean;
  /** Identity bytes already inflated, by digest (inflateInline): inline `data` takes these first. */
  inflated?: ReadonlyMap<string, Buffer>;
}

function attOptions(state: DocState, rev: string, opts: DocOutOptions): AttachmentsJsonOptions {
  const out: AttachmentsJsonOptions = { attachments: opts.attachments === true, follows: opts.follows === true, encodingInfo: opts.encodingInfo === true };
  if (opts.attsSince && opts.attsSince.length > 0) {
    const history = revisionsFor(state.tree, rev);
    if (history) {
      out.attsSince = opts.attsSince;
      out.history = history;
    }
  }
  return out;
}

/** The attachments of `rev` whose bytes are sent (inline or as MIME parts). */
export function attachmentsWithData(state: DocState, rev: string, atts: readonly AttachmentMeta[], opts: DocOutOptions): AttachmentMeta[] {
  const o = attOptions(state, rev, opts);
  return atts.filter((a) => attachmentHasData(a, o));
}

/** The identity bytes of an attachment (inline `data`, a client that takes no gzip). */
export function attachmentBytes(db: Db, meta: AttachmentMeta, inflated?: ReadonlyMap<string, Buffer>): Buffer {
  return inflated?.get(meta.digest) ?? getIdentityData(db, meta) ?? Buffer.alloc(0);
}

/**
 * The `inflated` option for docJson of `rev` with `opts`: the compressed attachments it would
 * inline, inflated off the event loop when large (att-encoding.ts inflateAttachment), as
 * couch_att foldl_decode streams them in CouchDB. One that does not inflate is left to docJson:
 * its error then stays that revision's (docText).
 */
export async function inflateInline(db: Db, state: DocState, rev: string, atts: readonly AttachmentMeta[], opts: DocOutOptions): Promise<ReadonlyMap<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (opts.follows === true) return out;
  for (const meta of attachmentsWithData(state, rev, atts, opts)) {
    const stored = isEncoded(meta.encoding) && !out.has(meta.digest) ? getAttachmentData(db, meta.digest) : undefined;
    if (stored === undefined) continue;
    const data = await inflateAttachment(meta.name, stored, meta.length).catch(() => undefined);
    if (data !== undefined) out.set(meta.digest, data);
  }
  return out;
}

/** The bytes as stored (gzip when `meta.encoding` says so): MIME parts send these. */
export function storedAttachmentBytes(db: Db, meta: AttachmentMeta): Buffer {
  return getAttachmentData(db, meta.digest) ?? Buffer.alloc(0);
}

/** The JSON document for revision `rev` of `state`, whose stored data is `data`. */
export function docJson(db: Db, state: DocState, rev: string, data: RevData, deleted: boolean, opts: DocOutOptions = {}): Record<string, unknown> {
  if (data.opaque) throw new CouchError('not_json_object', { params: { limit: db.bucket.maxJsonDepth } });
  const parts: DocResponseParts = { id: state.id, rev, body: data.body, deleted };
  if (opts.revs) {
    const r = revisionsFor(state.tree, rev);
    if (r) parts.revisions = r;
  }
  // A deleted winner is shown only on `?deleted=true`, with its meta as any winner (couch_db open_doc/3).
  if (opts.revsInfo) {
    const info = revsInfo(state.tree, rev, (r) => state.hasHistory(r));
    if (info) parts.revsInfo = info;
  }
  if (opts.conflicts) parts.conflicts = conflicts(state.tree);
  if (opts.deletedConflicts) parts.deletedConflicts = deletedConflicts(state.tree);
  if (data.atts.length > 0) {
    parts.attachments = attachmentsToJson(data.atts, attOptions(state, rev, opts), (m) => attachmentBytes(db, m, opts.inflated));
  }
  const out = buildDocResponse(parts);
  // couch_doc to_json_obj: the sequence of the document's last update, as `_changes` numbers it.
  if (opts.localSeq) out._local_seq = state.item.bucketSeq;
  return out;
}

/** The winning revision as JSON (`include_docs`, `_all_docs`, plain GET). */
export function winnerJson(db: Db, state: DocState, opts: DocOutOptions = {}): Record<string, unknown> {
  const w = state.winner;
  const data = state.revData(w.rev) ?? { body: {}, atts: [] };
  return docJson(db, state, w.rev, data, w.deleted, opts);
}

/**
 * One document of a listing as JSON text, or the error that takes its place in that row. Building
 * and serializing happen here, per document, so that a document which cannot be shown (an opaque
 * KV value, or one too deep for JSON.stringify, which is recursive) fails its own row only and
 * never the whole `_all_docs` / `_bulk_get` / `_changes` / `open_revs` response.
 */
export function docText(db: Db, build: () => unknown): { text: string } | { error: CouchError } {
  try {
    return { text: JSON.stringify(build()) };
  } catch (err) {
    db.stats.rowDocErrors++;
    return { error: err instanceof RangeError ? new CouchError('internal', { params: { detail: `document cannot be serialized: ${err.message}` } }) : toCouchError(err) };
  }
}

/** A revision that cannot be returned, as a `_bulk_get` / `open_revs` entry (chttpd_db bulk_get). */
export function revError(id: unknown, rev: unknown, err: CouchError): Record<string, unknown> {
  return { error: { id, rev: typeof rev === 'string' ? rev : 'undefined', ...err.toJSON() } };
}
