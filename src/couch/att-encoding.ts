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
// The deflate is pako 2.1.0's, a port of zlib's own: its gzip bytes are the ones the zlib Erlang
// links (so CouchDB) writes for the same content and level, and so are `encoded_length`, the
// digest and the new rev's hash. Node's zlib is Chromium's fork, whose output differs (49 bytes
// where CouchDB's tests expect 47 for "This is a base64 encoded text"), and so does pako 3's.
// Decompression stays node:zlib's: inflating has one right answer.

import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { gunzip, gunzipSync, type ZlibOptions } from 'node:zlib';
import { Deflate, gzip } from 'pako';
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
  return validLevel(level) ? toBuffer(gzip(data, deflateOptions(level))) : null;
}

const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip);

/** Below this size an attachment is (de)compressed in one go; above it, in slices between which the event loop runs. */
export const ASYNC_ZLIB_BYTES = 64 * 1024;

/**
 * gzipAttachment for content large enough that compressing it at once would hold the event loop
 * (a 20 MiB text of high entropy takes about half a second at level 8): fed to the deflate in
 * 64 KiB slices, yielding to the event loop between them. The output does not depend on the
 * slicing (every slice but the last is pushed without a flush).
 */
export async function gzipAttachmentAsync(data: Buffer, level: number): Promise<Buffer | null> {
  if (!validLevel(level)) return null;
  const deflate = new Deflate({ ...deflateOptions(level), gzip: true });
  let at = 0;
  do {
    const end = Math.min(at + ASYNC_ZLIB_BYTES, data.length);
    deflate.push(data.subarray(at, end), end === data.length);
    at = end;
    if (at < data.length) await yieldToLoop();
  } while (at < data.length);
  if (deflate.err !== 0) throw new Error(`deflate failed: ${deflate.msg}`);
  return toBuffer(deflate.result);
}

function validLevel(level: number): boolean {
  return Number.isInteger(level) && level >= 1 && level <= 9;
}

/** couch_stream gzip_init/1's deflateInit2 arguments (pako's gzip wrapper is windowBits 16 + 15). */
function deflateOptions(level: number): { level: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9; windowBits: number; memLevel: number } {
  return { level: level as 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9, windowBits: 15, memLevel: 8 };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

/**
 * The identity bytes of gzip-stored data for a reader that can wait: inflated at once when small,
 * on zlib's thread pool when either the stored bytes or the identity length (`identityLength`,
 * the attachment's `length` when known) reach ASYNC_ZLIB_BYTES, so that a large attachment read
 * inline (`attachments=true`, `_bulk_get`, `open_revs`) or decoded by the replicator never holds
 * the event loop. A highly compressible attachment is small as stored but slow to inflate: its
 * identity length decides. The bytes are the same either way.
 */
export async function inflateAttachment(name: string, data: Buffer, identityLength = 0): Promise<Buffer> {
  if (Math.max(data.length, identityLength) < ASYNC_ZLIB_BYTES) return gunzipAttachment(name, data);
  return gunzipAttachmentAsync(name, data);
}

function gunzipError(name: string, cause: unknown): CouchError {
  if (cause instanceof RangeError) return new CouchError('attachment_too_large', { params: { name }, cause });
  return new CouchError('invalid_attachment_data', { params: { name }, cause });
}
