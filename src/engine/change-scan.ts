/**
 * The one reader of the bucket-wide change index (changes.ts describes the order): pages of
 * changes visited inside one LMDB read snapshot, each record read in place through a RecordView
 * rather than decoded and copied into an Item. Decoding every record dominated the cost of a
 * `_changes` row; a reader that needs the whole item asks for it (`toItem` within the visit,
 * `copyItem` to keep it). `readChanges` (changes.ts) and the CouchDB layer's `_changes` rows both
 * read through here.
 */
import type { Bucket } from './bucket.js';
import { RecordView } from './record-view.js';
import { changeRefCollection, readU64, u64Key } from '../store/keys.js';

/** One change: its bucket sequence and the record of the version it made current. */
export class RawChange extends RecordView {
  seq = 0;
}

/**
 * lmdb-js `getBinaryFast`: the record without a copy, in a buffer the next read reuses (its
 * typings omit the options argument, which the implementation takes, read.js).
 */
type FastGet = (key: Buffer, options: { transaction: unknown }) => Buffer | undefined;

export interface ScanOptions {
  /** Exclusive lower bound (or upper bound when descending; 0 = from the newest). */
  since: number;
  limit?: number;
  descending?: boolean;
  /**
   * The collection whose changes to visit (0, the default collection, when omitted): the index
   * entry names it, so other collections' changes are skipped without reading their records.
   * Entries skipped count toward `limit` (it bounds the index entries read, as before).
   */
  collection?: number;
  /**
   * Updated with the sequence of every index entry read, skipped ones included, so that a reader
   * of one collection moves past the others' changes (a position that stays put would loop).
   */
  progress?: { last: number };
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
    const collection = opts.collection ?? 0;
    for (const { key: seq, value } of bucket.store.changesReader(bucket.name).getRange({ ...range, limit: opts.limit, transaction: snapshot.txn })) {
      read++;
      if (opts.progress) opts.progress.last = seq;
      if (changeRefCollection(value) !== collection) continue;
      const raw = getFast(value.length === 10 ? value : value.subarray(0, 10), { transaction: snapshot.txn });
      if (!raw) continue;
      change.seq = seq;
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
