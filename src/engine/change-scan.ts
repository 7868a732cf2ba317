/**
 * The `_changes` hot loop's view of the engine: pages of the bucket-wide change order read
 * without decoding every record into an Item.
 *
 * Bucket.readChanges decodes and copies each record's key, xattrs and value, which dominated the
 * cost of a `_changes` row. Here a page is visited inside one LMDB read snapshot and each record
 * is read in place: the id, rev seqno, deleted bit and the front of the xattrs (which carries the
 * `_sync` summary, doc-store.ts) are enough for most rows; a row that needs more (conflicts,
 * KV-written documents, include_docs, selectors) asks for the full Item (`toItem`). Offsets are
 * those of src/store/record.ts (format 1); a record of another format is always decoded by the
 * engine's own decoder.
 */
import type { Bucket } from './bucket.js';
import type { Item } from './types.js';
import { decodeRecord, RecordLayout } from '../store/record.js';
import { readU64, u64Key } from '../store/keys.js';

const { FORMAT, REV_SEQNO, KEY_LEN, XATTR_LEN, HEADER, NO_XATTRS } = RecordLayout;

export class RawChange {
  seq = 0;
  vbucket = 0;
  seqno = 0;
  /** The record bytes: valid only during the visit (the next read reuses the buffer). */
  raw: Buffer = Buffer.alloc(0);

  get plain(): boolean {
    return this.raw[0] === FORMAT;
  }

  /** The key as a document id, or null when it is not valid UTF-8. */
  id(): string | null {
    const len = this.raw.readUInt16BE(KEY_LEN);
    const id = this.raw.toString('utf8', HEADER, HEADER + len);
    return Buffer.byteLength(id) === len && !id.includes('\ufffd') ? id : null;
  }

  get revSeqno(): number {
    return readU64(this.raw, REV_SEQNO);
  }

  /** Up to `max` leading characters of the xattrs (latin1), or '' when there are none. */
  xattrsPrefix(max: number): string {
    const xl = this.raw.readUInt32BE(XATTR_LEN);
    if (xl === NO_XATTRS || xl === 0) return '';
    const start = HEADER + this.raw.readUInt16BE(KEY_LEN);
    return this.raw.toString('latin1', start, start + Math.min(xl, max));
  }

  /** The whole record as an engine Item (copies). */
  toItem(): Item {
    return decodeRecord(this.raw, this.vbucket, this.seqno);
  }
}

/**
 * lmdb-js `getBinaryFast`: the record without a copy, in a buffer the next read reuses (its
 * typings omit the options argument, which the implementation takes, read.js).
 */
type FastGet = (key: Buffer, options: { transaction: unknown }) => Buffer | undefined;

export interface ScanOptions {
  /** Exclusive lower bound (or upper bound when descending; 0 = from the newest). */
  since: number;
  limit: number;
  descending?: boolean;
}

/**
 * Visit up to `limit` changes after (or before) `since`; `visit` returns false to stop early.
 * Returns the number of changes read from the index.
 */
export function scanChanges(bucket: Bucket, opts: ScanOptions, visit: (c: RawChange) => boolean): number {
  const snapshot = bucket.store.snapshot();
  const change = new RawChange();
  const bySeq = bucket.dbs.bySeq;
  const getFast = (bySeq as unknown as { getBinaryFast: FastGet }).getBinaryFast.bind(bySeq);
  let read = 0;
  try {
    const range = opts.descending
      ? { start: opts.since > 0 ? u64Key(opts.since) : u64Key(Number.MAX_SAFE_INTEGER), reverse: true, exclusiveStart: opts.since > 0 }
      : { start: u64Key(opts.since + 1) };
    for (const { key, value } of bucket.dbs.changes.getRange({ ...range, limit: opts.limit, transaction: snapshot.txn })) {
      read++;
      const raw = getFast(value, { transaction: snapshot.txn });
      if (!raw) continue;
      change.seq = readU64(key, 0);
      change.vbucket = value.readUInt16BE(0);
      change.seqno = readU64(value, 2);
      change.raw = raw;
      if (!visit(change)) break;
    }
  } finally {
    snapshot.release();
  }
  return read;
}
