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
import { changeRefCollection, u64Key } from '../store/keys.js';

interface Range {
  start?: Buffer;
  end?: Buffer;
}

/**
 * Entries of one collection in a range of the index. While the bucket has only its default
 * collection every entry is one of its, and LMDB counts keys without reading values; otherwise
 * each entry's value names its collection (store/keys.ts).
 */
function count(bucket: Bucket, range: Range, collection: number): number {
  const changes = bucket.dbs.changes;
  if (collection === 0 && bucket.manifest.collections.length === 1) return changes.getKeysCount(range);
  let n = 0;
  for (const { value } of changes.getRange(range)) if (changeRefCollection(value) === collection) n++;
  return n;
}

interface Memo {
  collection: number;
  /** persistedBucketSeq when counted. */
  persisted: number;
  seq: number;
  after: number;
}

const memos = new WeakMap<Bucket, Memo>();

/** Rows of `collection` (default 0) in the index after (or, descending, before) `seq`. */
export function pendingAfter(bucket: Bucket, seq: number, descending: boolean, collection = 0): number {
  if (descending) return count(bucket, { end: u64Key(seq) }, collection);
  const persisted = bucket.persistedBucketSeq;
  const memo = memos.get(bucket);
  const after = memo && memo.collection === collection && memo.persisted === persisted && memo.seq <= seq
    ? memo.after - count(bucket, { start: u64Key(memo.seq + 1), end: u64Key(seq + 1) }, collection)
    : count(bucket, { start: u64Key(seq + 1) }, collection);
  memos.set(bucket, { collection, persisted, seq, after });
  return after;
}
