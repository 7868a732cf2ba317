/**
 * Binary LMDB keys. Big-endian fixed-width integers sort in numeric order under LMDB's default
 * memcmp comparison, so range scans over seqnos need no custom comparator.
 *
 *   by-seq key    [vbucket u16][seqno u64]      → item record
 *   changes key   [bucket seq u64]              → [vbucket u16][seqno u64] ([collection u32]
 *                                                   outside the default collection, so that a
 *                                                   collection's feed skips others unread)
 *   expiry key    [expiry u32][vbucket u16][seqno u64] → empty
 */

import { getU64, putU16, putU32, putU64 } from '../codec/bytes.js';

/** The u64 at `offset` as a number (the caller makes sure 8 bytes are there). */
export function readU64(buf: Uint8Array, offset: number): number {
  return getU64(buf, offset);
}

export function seqKey(vbucket: number, seqno: number): Buffer {
  return writeSeqKey(Buffer.allocUnsafe(10), vbucket, seqno);
}

/**
 * The `...Key` layouts written into a caller's buffer of exactly the key's size, for a key that
 * lmdb-js copies as the operation is queued (engine/index-ops.ts reuses one buffer per layout).
 */
export function writeSeqKey(b: Buffer, vbucket: number, seqno: number): Buffer {
  putU16(b, 0, vbucket);
  putU64(b, 2, seqno);
  return b;
}

export function decodeSeqKey(key: Uint8Array): { vbucket: number; seqno: number } {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { vbucket: b.readUInt16BE(0), seqno: readU64(b, 2) };
}

export function u64Key(n: number): Buffer {
  return writeU64Key(Buffer.allocUnsafe(8), n);
}

export function writeU64Key(b: Buffer, n: number): Buffer {
  putU64(b, 0, n);
  return b;
}

export function expiryKey(expiry: number, vbucket: number, seqno: number): Buffer {
  return writeExpiryKey(Buffer.allocUnsafe(14), expiry, vbucket, seqno);
}

export function writeExpiryKey(b: Buffer, expiry: number, vbucket: number, seqno: number): Buffer {
  putU32(b, 0, expiry);
  putU16(b, 4, vbucket);
  putU64(b, 6, seqno);
  return b;
}

export function decodeExpiryKey(key: Uint8Array): { expiry: number; vbucket: number; seqno: number } {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { expiry: b.readUInt32BE(0), vbucket: b.readUInt16BE(4), seqno: readU64(b, 6) };
}

/** A changes-index value: the by-seq key, and the collection when it is not the default one. */
export function changeRef(vbucket: number, seqno: number, collection: number): Buffer {
  if (collection === 0) return seqKey(vbucket, seqno);
  const b = Buffer.allocUnsafe(14);
  putU16(b, 0, vbucket);
  putU64(b, 2, seqno);
  putU32(b, 10, collection);
  return b;
}

/** The collection of a changes-index value (0 for the 10-byte default-collection form). */
export function changeRefCollection(value: Uint8Array): number {
  if (value.length < 14) return 0;
  return ((value[10]! << 24) >>> 0) + (value[11]! << 16) + (value[12]! << 8) + value[13]!;
}
