/**
 * The LMDB operations of one version (bucket-core.ts, the write pipeline): its record in the
 * by-seq index, its entry in the bucket-wide change order and in the expiry index, and the removal
 * of the same entries of the version it replaces, so each key has one entry in each index (the
 * deduplication DCP backfills and `_changes` rely on, dcp.md §3.4).
 */
import type { BucketDbs } from '../store/lmdb-store.js';
import type { WriteOp } from '../store/group-commit.js';
import { changeRef, expiryKey, seqKey, u64Key } from '../store/keys.js';
import type { Item } from './types.js';

const EMPTY = Buffer.alloc(0);

/** `record` is `item`'s encoding (record.ts encodeRecord). */
export function indexOps(dbs: BucketDbs, prev: Item | undefined, item: Item, record: Buffer): WriteOp[] {
  const { bySeq, changes, expiries } = dbs;
  const vb = item.vbucket;
  const ops: WriteOp[] = [];
  if (prev) {
    ops.push({ db: bySeq, key: seqKey(vb, prev.seqno), value: null });
    ops.push({ db: changes, key: u64Key(prev.bucketSeq), value: null });
    if (prev.expiry !== 0 && !prev.deleted) ops.push({ db: expiries, key: expiryKey(prev.expiry, vb, prev.seqno), value: null });
  }
  ops.push({ db: bySeq, key: seqKey(vb, item.seqno), value: record });
  ops.push({ db: changes, key: u64Key(item.bucketSeq), value: changeRef(vb, item.seqno, item.collection) });
  if (item.expiry !== 0 && !item.deleted) ops.push({ db: expiries, key: expiryKey(item.expiry, vb, item.seqno), value: EMPTY });
  return ops;
}
