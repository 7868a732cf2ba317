// Attachment metadata: reading `_attachments` from an incoming document
// (inline base64, `stub: true`, `follows: true`), resolving stubs against the
// parent revision, and building the `_attachments` object of a response.
//
// Sources: apache/couchdb couch_att.erl (`from_json/2`, `merge_stubs/2`,
// `to_json/4`, `write_streamed_attachment/3`), couch_doc.erl `merge_stubs/2`,
// couch_db.erl `set_new_att_revpos/1` and `find_ancestor_rev_pos/2`,
// chttpd_db.erl `validate_attachment_name/1`; spec §3.6. How bytes are
// stored (compressed or not) and what that records: att-encoding.ts.

import {
  ASYNC_ZLIB_BYTES,
  compressibleType,
  gunzipAttachment,
  gunzipAttachmentAsync,
  gzipAttachment,
  gzipAttachmentAsync,
  isEncoded,
  md5Digest,
  NO_COMPRESSION,
  type AttachmentCompression,
} from './att-encoding.js';
import { CouchError } from './errors.js';
import { formatRev, parseRev } from './rev.js';
import type { Revisions } from './rev-tree.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** What the storage engine keeps per attachment of a revision. */
export interface AttachmentMeta {
  name: string;
  contentType: string;
  /** Length of the identity (decoded) data (couch_att `disk_len`). */
  length: number;
  /** `md5-<base64>` of the bytes as stored: the gzip bytes when `encoding` is set (couch_att `md5`). */
  digest: string;
  /** Generation of the revision that introduced this content. */
  revpos: number;
  /** Content-Encoding of the stored bytes (`gzip`), absent for identity. */
  encoding?: string;
  /** Length of the stored bytes when `encoding` is set (couch_att `att_len`). */
  encodedLength?: number;
}

export { md5Digest };

interface Common {
  name: string;
  contentType: string;
}
export type IncomingAttachment =
  | (Common & { kind: 'stub'; revpos?: number; digest?: string; length?: number })
  /**
   * Bytes in the request: base64 in the JSON (always identity), a standalone PUT or a form upload.
   * `encoding`: the PUT's Content-Encoding (`gzip`); `digest`: its Content-MD5, checked.
   */
  | (Common & { kind: 'inline'; data: Buffer; revpos: number; encoding?: string; digest?: string })
  | (Common & { kind: 'follows'; revpos: number; digest?: string; length?: number; encoding?: string; encodedLength?: number })
  /** Bytes already in the attachment store (written before the revision, or kept by COPY). */
  | (Common & { kind: 'stored'; meta: AttachmentMeta });

function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** chttpd_db:validate_attachment_name/1. */
export function validateAttachmentName(name: string): void {
  if (name.startsWith('_')) throw new CouchError('attachment_name_underscore', { params: { name } });
  if (hasLoneSurrogate(name)) throw new CouchError('attachment_name_not_utf8');
}

// Strict base64 lives with the codec (KV range scans decode it too); re-exported for the CouchDB face.
import { decodeBase64 } from '../codec/base64.js';
export { decodeBase64, isBase64 } from '../codec/base64.js';

function optionalInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads a document's `_attachments` member (couch_att:from_json/2), keeping
 * document order. Like CouchDB, entries whose value is not an object are
 * ignored. Throws invalid_attachment_data / attachment name errors.
 */
export function parseAttachments(value: unknown): IncomingAttachment[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CouchError('bad_special_member', { params: { name: '_attachments' } });
  }
  const out: IncomingAttachment[] = [];
  for (const [name, props] of Object.entries(value as Record<string, unknown>)) {
    if (typeof props !== 'object' || props === null || Array.isArray(props)) continue;
    validateAttachmentName(name);
    const p = props as Record<string, unknown>;
    const contentType = optionalString(p.content_type) ?? DEFAULT_CONTENT_TYPE;
    if (p.stub === true) {
      out.push({
        kind: 'stub',
        name,
        contentType,
        revpos: optionalInt(p.revpos),
        digest: optionalString(p.digest),
        length: optionalInt(p.length),
      });
    } else if (p.follows === true) {
      const encoding = optionalString(p.encoding);
      out.push({
        kind: 'follows',
        name,
        contentType,
        revpos: optionalInt(p.revpos) ?? 0,
        digest: optionalString(p.digest),
        length: optionalInt(p.length),
        encoding,
        encodedLength: encoding === undefined ? undefined : optionalInt(p.encoded_length) ?? optionalInt(p.length),
      });
    } else {
      const data = typeof p.data === 'string' ? decodeBase64(p.data) : null;
      if (data === null) throw new CouchError('invalid_attachment_data', { params: { name } });
      // couch_att inline_from_json/2: the data is identity and its `digest` is not read.
      out.push({ kind: 'inline', name, contentType, data, revpos: optionalInt(p.revpos) ?? 0 });
    }
  }
  return out;
}

export interface ResolveOptions {
  docId: string;
  /**
   * Interactive edits: the new revision's generation, stamped as `revpos` on
   * new content (set_new_att_revpos/1). Replicated writes: null, keeping the
   * sender's `revpos`.
   */
  newRevpos: number | null;
  /** Attachments of the stored revision that stubs refer to; null if none. */
  parent: readonly AttachmentMeta[] | null;
  /** Bodies of `follows` entries, by attachment name (from multipart). */
  followsData?: ReadonlyMap<string, Buffer>;
  /** The `[attachments]` settings new identity content is stored under; default: as sent. */
  compression?: AttachmentCompression;
  /** The largest identity length a gzip body may decode to (413 beyond it). */
  maxLength?: number;
  /** Zlib work already done off the event loop (prepareAttachments). */
  prepared?: PreparedAttachments;
}

/** What prepareAttachments did beforehand, by attachment name. */
export interface PreparedAttachments {
  /** The gzip of identity content to be compressed, at the settings' level. */
  gzip: Map<string, Buffer>;
  /** gzip content checked to decode (within `maxLength`). */
  decodable: Set<string>;
}

/**
 * The zlib work resolveAttachments will do on large content (at least ASYNC_ZLIB_BYTES), done
 * first without holding the event loop: compressing a big text attachment (in slices,
 * att-encoding.ts gzipAttachmentAsync) or checking that a big gzip one decodes (on zlib's thread
 * pool). Pass the result as its `prepared` option.
 */
export async function prepareAttachments(incoming: readonly IncomingAttachment[], opts: ResolveOptions): Promise<PreparedAttachments> {
  const prepared: PreparedAttachments = { gzip: new Map(), decodable: new Set() };
  const c = opts.compression ?? NO_COMPRESSION;
  await Promise.all(incoming.map(async (att) => {
    if (att.kind !== 'inline' && att.kind !== 'follows') return;
    const data = att.kind === 'inline' ? att.data : opts.followsData?.get(att.name);
    if (data === undefined || data.length < ASYNC_ZLIB_BYTES) return;
    if (att.encoding === 'gzip') {
      await gunzipAttachmentAsync(att.name, data, opts.maxLength);
      prepared.decodable.add(att.name);
    } else if (!isEncoded(att.encoding) && compressibleType(att.contentType, c.types)) {
      const gz = await gzipAttachmentAsync(data, c.level);
      if (gz !== null) prepared.gzip.set(att.name, gz);
    }
  }));
  return prepared;
}

export interface ResolvedAttachments {
  /** Metadata of the new revision's attachments, in document order. */
  attachments: AttachmentMeta[];
  /** New content to store (as stored: compressed or not), keyed by attachment name. */
  data: Map<string, Buffer>;
}

type FollowsAttachment = Extract<IncomingAttachment, { kind: 'follows' }>;
type DataAttachment = Extract<IncomingAttachment, { kind: 'inline' | 'follows' }>;

/**
 * A `follows` body checked against the announced length, the encoded one for
 * an encoded part (couch_att.erl write_streamed_attachment/3).
 */
function followsBody(att: FollowsAttachment, body: Buffer | undefined): Buffer {
  if (body === undefined) throw new CouchError('attachment_too_short');
  const expected = isEncoded(att.encoding) ? att.encodedLength : att.length;
  if (expected !== undefined && body.length > expected) throw new CouchError('attachment_too_long');
  if (expected !== undefined && body.length < expected) throw new CouchError('attachment_too_short');
  return body;
}

/**
 * New content as couch_db:with_stream/3 stores it (att-encoding.ts): a gzip
 * body as it came (its identity length the declared one, else its own), an
 * identity body of a compressible type gzip-compressed, anything else as sent.
 * A digest the client sent must be the md5 of the bytes as received.
 */
function flushAttachment(att: DataAttachment, received: Buffer, opts: ResolveOptions): { meta: AttachmentMeta; bytes: Buffer } {
  const base = { name: att.name, contentType: att.contentType, revpos: opts.newRevpos ?? att.revpos };
  let receivedDigest: string | undefined;
  const digestOfReceived = (): string => (receivedDigest ??= md5Digest(received));
  if (att.digest !== undefined && att.digest !== digestOfReceived()) throw new CouchError('md5_mismatch');
  if (isEncoded(att.encoding)) {
    if (att.encoding !== 'gzip') {
      throw new CouchError('bad_request', { reason: `Unsupported attachment encoding: ${att.encoding}` });
    }
    // Not kept: decoding only proves the bytes can be served to a client that takes identity.
    if (opts.prepared?.decodable.has(att.name) !== true) gunzipAttachment(att.name, received, opts.maxLength);
    const length = att.kind === 'follows' ? (att.length ?? received.length) : received.length;
    return { meta: { ...base, length, digest: digestOfReceived(), encoding: 'gzip', encodedLength: received.length }, bytes: received };
  }
  const c = opts.compression ?? NO_COMPRESSION;
  const gz = compressibleType(att.contentType, c.types) ? (opts.prepared?.gzip.get(att.name) ?? gzipAttachment(received, c.level)) : null;
  if (gz === null) return { meta: { ...base, length: received.length, digest: digestOfReceived() }, bytes: received };
  return { meta: { ...base, length: received.length, digest: md5Digest(gz), encoding: 'gzip', encodedLength: gz.length }, bytes: gz };
}

/**
 * Turns incoming entries into the new revision's attachment metadata. Stubs
 * must match a parent attachment of the same name (and `revpos`, if given),
 * else 412 missing_stub, exactly as couch_att:merge_stubs/2. New content is
 * returned as it is to be stored (flushAttachment).
 */
export function resolveAttachments(incoming: readonly IncomingAttachment[], opts: ResolveOptions): ResolvedAttachments {
  const attachments: AttachmentMeta[] = [];
  const data = new Map<string, Buffer>();
  for (const att of incoming) {
    if (att.kind === 'stub') {
      if (opts.parent === null) throw new CouchError('missing_stub_no_parent', { params: { id: opts.docId } });
      const prev = opts.parent.find((p) => p.name === att.name);
      if (prev === undefined || (att.revpos !== undefined && att.revpos !== prev.revpos)) {
        throw new CouchError('missing_stub', { params: { id: opts.docId, name: att.name } });
      }
      attachments.push({ ...prev });
      continue;
    }
    if (att.kind === 'stored') {
      attachments.push({ ...att.meta, name: att.name, contentType: att.contentType, revpos: opts.newRevpos ?? att.meta.revpos });
      continue;
    }
    const received = att.kind === 'inline' ? att.data : followsBody(att, opts.followsData?.get(att.name));
    const { meta, bytes } = flushAttachment(att, received, opts);
    attachments.push(meta);
    data.set(att.name, bytes);
  }
  return { attachments, data };
}

/**
 * The size rule of a revision with attachments (CouchDB 413s: couch_att.erl
 * validate_attachment_size/3 `attachment_too_large` with the attachment's name,
 * couch_doc.erl from_json_obj_validate/2 `document_too_large` with the doc id).
 * Freshet has one limit for both, the engine's value limit: each attachment,
 * and the JSON body plus every attachment of the revision (stubs included), so
 * that the document read back with `attachments=true` stays within bounds.
 */
export function checkAttachmentSize(name: string, length: number, limit: number): void {
  if (length > limit) throw new CouchError('attachment_too_large', { params: { name } });
}

export function checkRevisionSize(docId: string, bodyBytes: number, atts: readonly AttachmentMeta[], limit: number): void {
  let total = bodyBytes;
  for (const att of atts) {
    checkAttachmentSize(att.name, att.length, limit);
    total += att.length;
  }
  if (total > limit) throw new CouchError('document_too_large', { params: { id: docId } });
}

/**
 * couch_db:find_ancestor_rev_pos/2: the generation of the newest revision in
 * the document's history that the client listed in `atts_since` (0 if none).
 */
export function attsSinceRevpos(history: Revisions, attsSince: readonly string[]): number {
  const known = new Set(attsSince.map((r) => {
    const p = parseRev(r);
    return formatRev(p.pos, p.hash);
  }));
  for (let i = 0; i < history.ids.length; i++) {
    const pos = history.start - i;
    if (known.has(formatRev(pos, history.ids[i]))) return pos;
  }
  return 0;
}

export interface AttachmentsJsonOptions {
  /** `?attachments=true`: inline base64 data. */
  attachments?: boolean;
  /** `?atts_since=[…]`: data only for content newer than those revisions. */
  attsSince?: readonly string[] | null;
  /** The revision's `_revisions`, required with `attsSince`. */
  history?: Revisions;
  /** Multipart responses: `follows: true` instead of inline data. */
  follows?: boolean;
  /**
   * `?att_encoding_info=true` (and every multipart answer, whose parts carry the stored bytes):
   * `encoding` and `encoded_length` of compressed attachments.
   */
  encodingInfo?: boolean;
}

/** Whether the attachment's bytes are sent (inline or as a following part). */
export function attachmentHasData(meta: AttachmentMeta, opts: AttachmentsJsonOptions): boolean {
  const wantData = opts.attachments === true || opts.attsSince != null;
  if (!wantData) return false;
  if (opts.attsSince == null) return true;
  if (opts.history === undefined) throw new TypeError('attsSince needs the revision history');
  return meta.revpos > attsSinceRevpos(opts.history, opts.attsSince);
}

/**
 * The `_attachments` object of a response (couch_att:to_json/4): field order
 * content_type, revpos, digest, then `length`+`stub`, `length`+`follows`, or
 * `data`, then `encoding`+`encoded_length`. `length` is the identity length;
 * `getData` returns the identity bytes of an attachment (to_json gunzips).
 */
export function attachmentsToJson(
  metas: readonly AttachmentMeta[],
  opts: AttachmentsJsonOptions,
  getData: (meta: AttachmentMeta) => Buffer,
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const meta of metas) {
    const json: Record<string, unknown> = { content_type: meta.contentType, revpos: meta.revpos, digest: meta.digest };
    if (!attachmentHasData(meta, opts)) {
      json.length = meta.length;
      json.stub = true;
    } else if (opts.follows === true) {
      json.length = meta.length;
      json.follows = true;
    } else {
      json.data = getData(meta).toString('base64');
    }
    if (opts.encodingInfo === true && isEncoded(meta.encoding)) {
      json.encoding = meta.encoding;
      json.encoded_length = meta.encodedLength;
    }
    out[meta.name] = json;
  }
  return out;
}
