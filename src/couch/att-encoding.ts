// Attachment compression as CouchDB 3.x stores attachments (couch_db.erl with_stream/3,
// compressible_att_type/1; couch_stream.erl gzip_init/1, close; couch_att.erl flush_data/3,
// write_streamed_attachment/3): an identity attachment of a compressible type is kept
// gzip-compressed, one that arrives gzip-encoded is kept as it came, and every other one as sent.
//
// What the stored attachment records (couch_att `att_len`, `disk_len`, `md5`, `encoding`):
//   - `digest`: md5 of the bytes as stored, so of the gzip bytes when compressed. The revision id
//     hashes it (couch_db update_docs flushes attachments before new_revs), so a document with a
//     compressible attachment gets a different rev than the same write with compression off.
//   - `length`: the identity length; `encodedLength`: the stored (gzip) length. A gzip body sent to
//     the standalone API has no declared identity length: both are its own length, as in with_stream.
//   - a digest the client sent (a `follows` entry's `digest`, the standalone PUT's Content-MD5) is
//     checked against the md5 of the bytes as received (couch_stream's IdentityMd5), 500
//     `md5_mismatch` otherwise.
// Node bundles Chromium's zlib, whose deflate output differs from the system zlib's Erlang uses:
// the gzip bytes, `encoded_length` and digests of compressed attachments are Freshet's own, stable
// for a given level and content, but not byte-identical to CouchDB's.

import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzip, gzipSync, type ZlibOptions } from 'node:zlib';
import { CouchError } from './errors.js';

/** `[attachments]` in CouchDB 3's default.ini. */
export const DEFAULT_COMPRESSION_LEVEL = 8;
export const DEFAULT_COMPRESSIBLE_TYPES = 'text/*, application/javascript, application/json, application/xml';

/** The `[attachments]` settings a write applies. */
export interface AttachmentCompression {
  /** `compression_level`: 1 (fastest) to 9 (smallest); anything else stores identity. */
  level: number;
  /** `compressible_types`: comma-separated MIME types, `*` a wildcard. */
  types: string;
}

export const DEFAULT_ATTACHMENT_COMPRESSION: AttachmentCompression = Object.freeze({
  level: DEFAULT_COMPRESSION_LEVEL,
  types: DEFAULT_COMPRESSIBLE_TYPES,
});

/** No compression: every attachment is stored as sent. */
export const NO_COMPRESSION: AttachmentCompression = Object.freeze({ level: 0, types: '' });

const matchers = new Map<string, RegExp | null>();

/**
 * couch_db:compressible_att_type/1: whether `mime` matches one of `types`, parameters
 * (`;charset=…`) and surrounding spaces ignored, case-insensitive. CouchDB builds its regexp from
 * the type text unescaped (so `+` in `application/xhtml+xml` is a quantifier there); here the text
 * is literal and each `*` matches anything.
 */
export function compressibleType(mime: string, types: string): boolean {
  let re = matchers.get(types);
  if (re === undefined) {
    const alternatives = types
      .split(/\s*,\s*/)
      .filter((t) => t.trim() !== '')
      .map((t) => t.trim().replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*'));
    re = alternatives.length === 0 ? null : new RegExp(`^\\s*(?:${alternatives.join('|')})(?:\\s*;.*?)?\\s*$`, 'is');
    if (matchers.size > 64) matchers.clear();
    matchers.set(types, re);
  }
  return re !== null && re.test(mime);
}

/** `"md5-" + base64(md5(data))`, the `digest` CouchDB reports. */
export function md5Digest(data: Uint8Array): string {
  return 'md5-' + createHash('md5').update(data).digest('base64');
}

/** Whether an attachment stored with `encoding` is not identity. */
export function isEncoded(encoding: string | undefined): encoding is string {
  return encoding !== undefined && encoding !== 'identity';
}

/**
 * couch_stream gzip_init/1: zlib deflateInit(Level, deflated, 16 + 15, 8, default), a gzip stream;
 * null for a level outside 1..9 (identity, as CouchDB then writes the bytes unchanged).
 */
export function gzipAttachment(data: Buffer, level: number): Buffer | null {
  return validLevel(level) ? gzipSync(data, gzipOptions(level)) : null;
}

const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip);
const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip);

/** Below this size compressing on the event loop costs less than a trip to zlib's thread pool. */
export const ASYNC_ZLIB_BYTES = 64 * 1024;

/**
 * gzipAttachment on zlib's thread pool, for content large enough that compressing it would hold
 * the event loop (a 20 MiB text of high entropy takes about half a second at level 8).
 */
export function gzipAttachmentAsync(data: Buffer, level: number): Promise<Buffer | null> {
  return validLevel(level) ? gzipAsync(data, gzipOptions(level)) : Promise.resolve(null);
}

function validLevel(level: number): boolean {
  return Number.isInteger(level) && level >= 1 && level <= 9;
}

function gzipOptions(level: number): ZlibOptions {
  return { level, windowBits: 15, memLevel: 8 };
}

/**
 * The identity bytes of gzip-stored data (couch_stream foldl_decode/5). `maxLength` bounds the
 * output (413 `attachment_too_large` beyond it); corrupt data is 400 invalid_attachment_data.
 */
export function gunzipAttachment(name: string, data: Buffer, maxLength?: number): Buffer {
  try {
    return gunzipSync(data, maxLength === undefined ? {} : { maxOutputLength: Math.max(1, maxLength) });
  } catch (cause) {
    throw gunzipError(name, cause);
  }
}

/** gunzipAttachment on zlib's thread pool (large attachments, see gzipAttachmentAsync). */
export async function gunzipAttachmentAsync(name: string, data: Buffer, maxLength?: number): Promise<Buffer> {
  try {
    return await gunzipAsync(data, maxLength === undefined ? {} : { maxOutputLength: Math.max(1, maxLength) });
  } catch (cause) {
    throw gunzipError(name, cause);
  }
}

function gunzipError(name: string, cause: unknown): CouchError {
  if (cause instanceof RangeError) return new CouchError('attachment_too_large', { params: { name }, cause });
  return new CouchError('invalid_attachment_data', { params: { name }, cause });
}
