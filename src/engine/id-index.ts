/**
 * The by-id index: every key that has a current version (tombstones included), in byte order,
 * so that `_all_docs` pages through ids in O(log n + rows) (CouchDB reads its by-id b-tree the
 * same way, couch_db:fold_docs/4) instead of sorting every key after each write.
 *
 * A persistent LMDB database of presence entries (key bytes → empty), chosen over an in-memory
 * ordered structure because:
 * - the set of keys changes only when a key is created or its last version is purged or
 *   discarded; an update of an existing key does not touch the index, so a write pays one small
 *   put, in the same group-committed transaction as its item, only when it creates a key;
 * - the key's seqno is already in the bucket's in-memory key directory (Bucket.lookup), so the
 *   index needs no value and is never rewritten on update;
 * - LMDB's B+tree is already ordered and survives restarts: no balanced tree of every key in
 *   memory beside the directory, and no O(n log n) sort at every start-up.
 *
 * Written by BucketCore's enqueue (a new key), removed by BucketCore.forgetKey (tombstone purge,
 * rollback discard, replica reset), both through the group committer. An entry whose key has no
 * current version (a removal lost to a full disk) is skipped by readers, which look each key up. A data directory from before the index gets it built once on open
 * (`ensureIdIndex`); a marker in the bucket's vbucket-state database records that it is complete.
 */
import type { Bucket } from './bucket.js';
import type { BucketDbs } from '../store/lmdb-store.js';
import type { WriteOp } from '../store/group-commit.js';
import { recordKey } from '../store/record.js';

const EMPTY = Buffer.alloc(0);
/** Key of the "index complete" marker in the bucket's `vbuckets` database. */
const MARKER = 'id-index';

/** The write that adds a new key, for the item's own transaction. */
export function idIndexPut(dbs: BucketDbs, key: Buffer): WriteOp {
  return { db: dbs.byId, key, value: EMPTY };
}

/** The write that removes a key whose last version left the by-seq index. */
export function idIndexRemove(dbs: BucketDbs, key: Buffer): WriteOp {
  return { db: dbs.byId, key, value: null };
}

/** Build the index from the by-seq index when it is missing (one transaction); true when built. */
export async function ensureIdIndex(dbs: BucketDbs): Promise<boolean> {
  if (dbs.vbuckets.get(MARKER) === 1) return false;
  await dbs.byId.transaction(() => {
    for (const { value } of dbs.bySeq.getRange({})) dbs.byId.putSync(recordKey(value), EMPTY);
    dbs.vbuckets.putSync(MARKER, 1);
  });
  return true;
}

export interface IdRangeOptions {
  /** First key (inclusive); with `descending`, the last key (inclusive). */
  start?: Buffer;
  descending?: boolean;
}

/**
 * Keys in byte order (reverse when descending) from `start`; lazy, so a caller that stops after
 * `limit` rows reads O(log n + rows). Only committed keys: a write still in flight is not seen.
 */
export function idRange(bucket: Bucket, opts: IdRangeOptions = {}): Iterable<Buffer> {
  return bucket.dbs.byId.getKeys({ ...(opts.start ? { start: opts.start } : {}), reverse: opts.descending === true });
}
