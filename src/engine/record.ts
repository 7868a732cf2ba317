/**
 * The on-disk encoding of one item version, stored as the value of its by-seq entry.
 *
 *   0  u8   format (1)
 *   1  u8   bits: 0x01 deleted, 0x02 deleted by expiry, 0x04 erased (types.ts Item.erased)
 *   2  u8   datatype
 *   3  u8   reserved
 *   4  u32  flags (opaque to the server, echoed as stored)
 *   8  u32  expiry (absolute epoch seconds, 0 = never)
 *  12  u32  delete time (epoch seconds, tombstones only)
 *  16  u64  CAS
 *  24  u64  rev seqno
 *  32  u64  bucket sequence
 *  40  u16  key length
 *  42  u32  xattrs length, 0xffffffff = none
 *  46  key, xattrs, value
 *
 * The vbucket and seqno live in the by-seq key, so they are not repeated here.
 *
 * Format 2 is format 1 for a document outside the default collection: its key region starts with
 * the collection id in unsigned LEB128 (as kv_engine's on-disk DocKey does, docs/Collections.md),
 * and the key length counts those bytes too. Default-collection records stay format 1, so data
 * written before collections existed needs no migration and those records keep their exact bytes.
 */
import type { Item } from './types.js';
import { readU64 } from '../store/keys.js';
import { decodeLeb128, encodeLeb128 } from '../codec/leb128.js';
import { readBigU64BE, writeBigU64BE } from '../codec/u64.js';
import { getU16, getU32, putU16, putU32, putU64 } from '../codec/bytes.js';

/**
 * The layout above as data, for readers that look at a few fields of a raw record without
 * decoding it (the HTTP face's `_changes` byte path, document counts, compaction).
 */
export const RecordLayout = {
  FORMAT: 1,
  FORMAT_COLLECTION: 2,
  BITS: 1,
  DATATYPE: 2,
  FLAGS: 4,
  EXPIRY: 8,
  DELETE_TIME: 12,
  CAS: 16,
  REV_SEQNO: 24,
  KEY_LEN: 40,
  XATTR_LEN: 42,
  HEADER: 46,
  NO_XATTRS: 0xffffffff,
  BIT_DELETED: 0x01,
  BIT_EXPIRED: 0x02,
  BIT_ERASED: 0x04,
} as const;

const { FORMAT, FORMAT_COLLECTION, HEADER, NO_XATTRS, BIT_DELETED, BIT_EXPIRED, BIT_ERASED } = RecordLayout;

/** Where a record's key starts and its collection (format 1: the default collection). */
export function recordKeyStart(b: Buffer): { collection: number; start: number } {
  if (b[0] !== FORMAT_COLLECTION) return { collection: 0, start: HEADER };
  const { value, length } = decodeLeb128(b, HEADER);
  return { collection: value, start: HEADER + length };
}

/** Where a record's key bytes start, after any collection prefix, read in place (no object made). */
export function recordKeyOffset(b: Buffer): number {
  if (b[0] !== FORMAT_COLLECTION) return HEADER;
  let at = HEADER;
  while ((b[at]! & 0x80) !== 0) at++;
  return at + 1;
}

/** Where a record's key bytes end (the key length counts a collection prefix too). */
export function recordKeyEnd(b: Buffer): number {
  return HEADER + getU16(b, RecordLayout.KEY_LEN);
}

/** The collection of a record without decoding it (format 1: the default collection). */
export function recordCollection(b: Buffer): number {
  if (b[0] !== FORMAT_COLLECTION) return 0;
  const first = b[HEADER]!;
  return first < 0x80 ? first : decodeLeb128(b, HEADER).value;
}

/** A tombstone (deleted or expired), read in place. */
export function recordDeleted(b: Buffer): boolean {
  return (b[RecordLayout.BITS]! & BIT_DELETED) !== 0;
}

/** The tombstone of an erased document (types.ts Item.erased), read in place. */
export function recordErased(b: Buffer): boolean {
  return (b[RecordLayout.BITS]! & BIT_ERASED) !== 0;
}

/** The absolute expiry in epoch seconds (0: never), read in place. */
export function recordExpiry(b: Buffer): number {
  return getU32(b, RecordLayout.EXPIRY);
}

/** Where the value starts (after the key and the xattrs); it runs to the record's end. */
export function recordValueStart(b: Buffer): number {
  const xl = getU32(b, RecordLayout.XATTR_LEN);
  return HEADER + getU16(b, RecordLayout.KEY_LEN) + (xl === NO_XATTRS ? 0 : xl);
}

export function encodeRecord(item: Item): Buffer {
  const xlen = item.xattrs ? item.xattrs.length : 0;
  const prefix = item.collection === 0 ? null : encodeLeb128(item.collection);
  const plen = prefix ? prefix.length : 0;
  const out = Buffer.allocUnsafe(HEADER + plen + item.key.length + xlen + item.value.length);
  out[0] = prefix ? FORMAT_COLLECTION : FORMAT;
  out[1] = (item.deleted ? BIT_DELETED : 0) | (item.expired ? BIT_EXPIRED : 0) | (item.erased === true ? BIT_ERASED : 0);
  out[2] = item.datatype;
  out[3] = 0;
  putU32(out, 4, item.flags);
  putU32(out, 8, item.expiry);
  putU32(out, 12, item.deleteTime);
  writeBigU64BE(out, 16, item.cas);
  putU64(out, 24, item.revSeqno);
  putU64(out, 32, item.bucketSeq);
  putU16(out, 40, plen + item.key.length);
  putU32(out, 42, item.xattrs ? xlen : NO_XATTRS);
  let at = HEADER;
  if (prefix) at += prefix.copy(out, at);
  at += item.key.copy(out, at);
  if (item.xattrs) at += item.xattrs.copy(out, at);
  item.value.copy(out, at);
  return out;
}

/**
 * Decode a record. Key, xattrs and value are views into `raw`, so `raw` must be a buffer the caller
 * owns: lmdb-js returns fresh copies from `get` and `getRange` on binary databases (only
 * `getBinaryFast` reuses its buffer, and the store never uses it for records).
 */
export function decodeRecord(raw: Uint8Array, vbucket: number, seqno: number): Item {
  const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (b.length < HEADER || (b[0] !== FORMAT && b[0] !== FORMAT_COLLECTION)) throw new Error(`corrupt item record (vb ${vbucket} seqno ${seqno})`);
  const keyLen = getU16(b, 40);
  const xl = getU32(b, 42);
  const xlen = xl === NO_XATTRS ? 0 : xl;
  const keyEnd = HEADER + keyLen;
  const xEnd = keyEnd + xlen;
  // Format 1 (the default collection) without a call or an object: this is every record read.
  let collection = 0;
  let start: number = HEADER;
  if (b[0] === FORMAT_COLLECTION) ({ collection, start } = recordKeyStart(b));
  return {
    key: b.subarray(start, keyEnd),
    collection,
    vbucket,
    seqno,
    value: b.subarray(xEnd),
    datatype: b[2]!,
    flags: getU32(b, 4),
    expiry: getU32(b, 8),
    deleteTime: getU32(b, RecordLayout.DELETE_TIME),
    cas: readBigU64BE(b, 16),
    revSeqno: readU64(b, 24),
    bucketSeq: readU64(b, 32),
    deleted: (b[1]! & BIT_DELETED) !== 0,
    expired: (b[1]! & BIT_EXPIRED) !== 0,
    erased: (b[1]! & BIT_ERASED) !== 0,
    xattrs: xl === NO_XATTRS ? null : b.subarray(keyEnd, xEnd),
  };
}
