/**
 * The size of a partition (couchdb/partition.ts) and `[couchdb] max_partition_size`
 * (couch_db_updater: a partition whose size has reached the limit refuses interactive writes
 * that would grow a document, with 403 `partition_overflow`; design documents, deletions,
 * shrinking updates and replicated writes still go through, and the write that crosses the limit
 * is accepted, as the check runs before it).
 *
 * A partition's size is the bytes of its live documents' stored values and attachments (the `sizes` of
 * `GET /{db}/_partition/{p}`), counted by a scan of its ids the first time it is needed and then
 * kept per keyspace, moved by every write that goes through the CouchDB layer (doc-write.ts) and
 * dropped when a purge or a KV write could have changed it without telling (`forgetPartitions`).
 * CouchDB reads the same figure from its by-id tree's reduction; a scan once per partition and
 * process is the price of not keeping one here.
 */
import type { Bucket } from '../engine/bucket.js';
import type { Db } from './db.js';
import { partitionEnd, partitionOf, partitionStart } from './partition.js';
import { storedDocBytes } from './doc-sizes.js';

/** CouchDB's default `[couchdb] max_partition_size`: 10 GiB. 0 or less turns the check off. */
export const DEFAULT_MAX_PARTITION_SIZE = 10 * 1024 * 1024 * 1024;

export interface PartitionSize {
  docCount: number;
  delCount: number;
  bytes: number;
}

/** Known sizes per bucket, by `collectionId:partition`. */
const known = new WeakMap<Bucket, Map<string, number>>();

function cacheOf(db: Db): Map<string, number> {
  let m = known.get(db.bucket);
  if (!m) known.set(db.bucket, (m = new Map()));
  return m;
}

/** Count a partition by scanning its ids [`p:`, `p;`). */
export function scanPartition(db: Db, p: string): PartitionSize {
  const out: PartitionSize = { docCount: 0, delCount: 0, bytes: 0 };
  const end = Buffer.from(partitionEnd(p), 'utf8');
  for (const key of db.keysFrom(Buffer.from(partitionStart(p), 'utf8'), false)) {
    if (Buffer.compare(key, end) >= 0) break;
    const item = db.docs.lookup(key);
    // A purged document's tombstone (erased) is no document at all (couchdb/purge.ts).
    if (!item || item.erased === true || partitionOf(key.toString('utf8')) !== p) continue;
    if (item.deleted) out.delCount++;
    else {
      out.docCount++;
      out.bytes += storedDocBytes(item);
    }
  }
  cacheOf(db).set(`${db.collectionId}:${p}`, out.bytes);
  return out;
}

/** The partition's size in bytes: kept, or scanned once. */
export function partitionBytes(db: Db, p: string): number {
  return cacheOf(db).get(`${db.collectionId}:${p}`) ?? scanPartition(db, p).bytes;
}

/** A write through the CouchDB layer changed document `id` by `delta` bytes. */
export function notePartitionWrite(db: Db, id: string, delta: number): void {
  const p = partitionOf(id);
  if (p === undefined) return;
  const cache = cacheOf(db);
  const key = `${db.collectionId}:${p}`;
  const bytes = cache.get(key);
  if (bytes !== undefined) cache.set(key, Math.max(0, bytes + delta));
}

/** Forget what is known of a database's partitions (a purge, or writes that bypassed the CouchDB layer): the next check scans. */
export function forgetPartitions(db: Db): void {
  const cache = cacheOf(db);
  const prefix = `${db.collectionId}:`;
  for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key);
}

/** Whether document `id`'s partition has reached `max` bytes (never when `max` ≤ 0). */
export function partitionFull(db: Db, id: string, max: number): boolean {
  if (max <= 0) return false;
  const p = partitionOf(id);
  return p !== undefined && partitionBytes(db, p) >= max;
}
