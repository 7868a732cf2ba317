/**
 * `pending` (couch-replication.md §2.4): how many changes the index holds after the position a
 * reply ends at. LMDB can only count by walking, so counting to the end of a big database on every
 * `limit`ed page made a paging client (PouchDB pulls 100 rows a page and asks for each) quadratic:
 * a 1M-document pull walked 500k keys a page on average. The last count is remembered per bucket,
 * and while the persisted sequence has not moved, the next page only walks the keys between the
 * remembered position and its own. A write in between invalidates the memo (an update moves a
 * document's entry to the end of the index).
 */
import type { Bucket } from './bucket.js';
import { u64Key } from '../store/keys.js';

interface Memo {
  /** persistedBucketSeq when counted. */
  persisted: number;
  seq: number;
  after: number;
}

const memos = new WeakMap<Bucket, Memo>();

/** Rows in the index after (or, descending, before) `seq`. */
export function pendingAfter(bucket: Bucket, seq: number, descending: boolean): number {
  const changes = bucket.dbs.changes;
  if (descending) return changes.getKeysCount({ end: u64Key(seq) });
  const persisted = bucket.persistedBucketSeq;
  const memo = memos.get(bucket);
  const after = memo && memo.persisted === persisted && memo.seq <= seq
    ? memo.after - changes.getKeysCount({ start: u64Key(memo.seq + 1), end: u64Key(seq + 1) })
    : changes.getKeysCount({ start: u64Key(seq + 1) });
  memos.set(bucket, { persisted, seq, after });
  return after;
}
