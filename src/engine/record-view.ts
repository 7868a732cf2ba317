/**
 * The engine's read-only view of one stored item record, for readers that look at a few fields
 * of many records without decoding each into an Item: the `_changes` feed (change-scan.ts, and
 * the CouchDB layer's byte-level rows).
 *
 * The record format belongs to src/engine/record.ts; this is the only way layers above the engine
 * read it (nothing outside src/engine imports src/store). `RecordOffsets` is that layout as data
 * for a byte-level reader; a record whose first byte is not `RecordOffsets.FORMAT` must be
 * decoded by `toItem`, never read by offset.
 */
import type { Item } from './types.js';
import { decodeRecord, recordCollection, recordDeleted, recordErased, recordKeyStart, RecordLayout } from './record.js';
import { readU64 } from '../store/keys.js';
import { getU16, getU32 } from '../codec/bytes.js';

export { recordExpiry, recordKeyStart, recordValueStart } from './record.js';

/** Offsets and bits of an item record (record.ts, format 1). */
export const RecordOffsets = RecordLayout;

const { FORMAT, REV_SEQNO, KEY_LEN, XATTR_LEN, HEADER, NO_XATTRS } = RecordLayout;

// ---- readers of one field of a raw record, in place (no Item), for messages built from the
// bytes: a KV GET reply (kv/commands/data.ts) and a DCP backfill mutation (dcp/messages.ts) ----

/** A record's document as an Item whose buffers are views of `raw`. */
export function recordItem(raw: Buffer, vbucket: number, seqno: number): Item {
  return decodeRecord(raw, vbucket, seqno);
}

/** Where the key ends (it starts at `recordKeyStart`, or at RecordOffsets.HEADER for format 1). */
export function recordKeyEnd(raw: Buffer): number {
  return HEADER + getU16(raw, KEY_LEN);
}

export function recordRevSeqno(raw: Buffer): number {
  return readU64(raw, REV_SEQNO);
}

/** Whether the record holds xattrs (an empty section counts). */
export function recordHasXattrs(raw: Buffer): boolean {
  return getU32(raw, XATTR_LEN) !== NO_XATTRS;
}

/** The item flags of a record, read in place. */
export function recordFlags(raw: Buffer): number {
  return getU32(raw, RecordLayout.FLAGS);
}

/** The datatype of a record's value, read in place. */
export function recordDatatype(raw: Buffer): number {
  return raw[RecordLayout.DATATYPE]!;
}

export class RecordView {
  vbucket = 0;
  seqno = 0;
  /** The record bytes: during a scan, valid only during the visit (the next read reuses the buffer). */
  raw: Buffer = Buffer.alloc(0);

  /** Whether the record is in the format the offsets describe. */
  get plain(): boolean {
    return this.raw[0] === FORMAT;
  }

  /** The collection id (record.ts: format 1 records are the default collection's). */
  get collection(): number {
    return recordCollection(this.raw);
  }

  /** The key as a document id, or null when it is not valid UTF-8. */
  id(): string | null {
    const end = HEADER + getU16(this.raw, KEY_LEN);
    const start = this.raw[0] === FORMAT ? HEADER : recordKeyStart(this.raw).start;
    const len = end - start;
    const id = this.raw.toString('utf8', start, end);
    return Buffer.byteLength(id) === len && !id.includes('\ufffd') ? id : null;
  }

  get revSeqno(): number {
    return readU64(this.raw, REV_SEQNO);
  }

  /** A tombstone (deleted or expired). */
  get deleted(): boolean {
    return recordDeleted(this.raw);
  }

  /** The tombstone of an erased document (types.ts Item.erased). */
  get erased(): boolean {
    return recordErased(this.raw);
  }

  /** Up to `max` leading characters of the xattrs (latin1), or '' when there are none. */
  xattrsPrefix(max: number): string {
    const xl = getU32(this.raw, XATTR_LEN);
    if (xl === NO_XATTRS || xl === 0) return '';
    const start = HEADER + getU16(this.raw, KEY_LEN);
    return this.raw.toString('latin1', start, start + Math.min(xl, max));
  }

  /** The whole record as an engine Item whose buffers are views of `raw` (use within the visit). */
  toItem(): Item {
    return decodeRecord(this.raw, this.vbucket, this.seqno);
  }

  /** The whole record as an Item that owns its bytes (outlives the visit). */
  copyItem(): Item {
    const n = this.raw.length;
    const own = Buffer.allocUnsafe(n);
    // Not `raw.copy`: lmdb-js redefines `length` on its shared read buffer, which Buffer#copy ignores.
    own.set(new Uint8Array(this.raw.buffer, this.raw.byteOffset, n));
    return decodeRecord(own, this.vbucket, this.seqno);
  }
}
