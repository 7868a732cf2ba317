/**
 * Background and operator work on a bucket: the expiry pager, tombstone purging (compaction), and
 * simulated failover with optional discard of history (for testing consumers' rollback handling).
 */
import { bucketCore, type Bucket } from './bucket.js';
import { decodeRecord, recordCollection, recordDeleted, RecordLayout } from './record.js';
import { getU32 } from '../codec/bytes.js';
import { decodeExpiryKey, expiryKey, readU64, seqKey, u64Key } from '../store/keys.js';
import type { Item, VBucketInfo } from './types.js';
import type { WriteOp } from '../store/group-commit.js';
import { copyOut } from '../store/lmdb-store.js';
import { SYSTEM_COLLECTION_ID } from './manifest.js';
import { expireItem } from './mutations.js';
import type { VBucket } from './vbucket.js';

/** A discarded system event leaves its vbucket's system keys (it is no longer the current one). */
function forgetSystemKey(vb: VBucket, item: Item): void {
  const k = item.key.toString('latin1');
  if (vb.systemKeys.get(k) === item.seqno) vb.systemKeys.delete(k);
}

/**
 * Expire every item whose expiry has passed, using the expiry index (so the pager reads only what
 * is due, not the whole bucket). Returns how many items were expired.
 */
export async function runExpiryPager(bucket: Bucket, at?: number): Promise<number> {
  const core = bucketCore(bucket);
  const now = at ?? core.nowSeconds();
  const due: Array<{ vbucket: number; seqno: number }> = [];
  for (const { key } of bucket.dbs.expiries.getRange({ end: expiryKey(now + 1, 0, 0) })) {
    const { vbucket, seqno } = decodeExpiryKey(key);
    due.push({ vbucket, seqno });
  }
  const writes: Promise<unknown>[] = [];
  for (const { vbucket, seqno } of due) {
    const vb = core.vbuckets[vbucket];
    if (!vb || vb.state !== 'active') continue;
    const raw = core.dbs.bySeq.get(seqKey(vbucket, seqno));
    if (!raw) continue;
    const item = decodeRecord(raw, vbucket, seqno);
    // Only expire the version the index pointed at if it is still the current one (and its
    // collection was not dropped: the purge of a dropped collection removes it).
    if (!core.manifest.hasCollection(item.collection)) continue;
    const current = core.lookup(item.key, item.collection);
    if (!current || current.seqno !== seqno || current.deleted) continue;
    writes.push(expireItem(core, vb, current));
  }
  await Promise.all(writes);
  return writes.length;
}

/**
 * A record worth decoding in a compaction: a tombstone deleted at or before `purgeCutoff`, outside
 * the system collection, checked in place in lmdb-js's read buffer; every other record (most of
 * them) is passed over without a copy. The scan is synchronous, so one slot serves it.
 */
let purgeCutoff = 0;
const NOT_PURGEABLE = Buffer.alloc(0);

function purgeable(bytes: Buffer, size: number): Buffer {
  if (!recordDeleted(bytes) || getU32(bytes, RecordLayout.DELETE_TIME) > purgeCutoff) return NOT_PURGEABLE;
  // System events stay: a drop's tombstone is how a late consumer learns of the drop.
  if (recordCollection(bytes) === SYSTEM_COLLECTION_ID) return NOT_PURGEABLE;
  return copyOut(bytes, size);
}

export interface CompactionResult {
  purged: number;
  expired: number;
  /** Purge seqno per vbucket that changed. */
  purgeSeqnos: Record<number, number>;
}

/**
 * Purge tombstones deleted more than `purgeAgeSeconds` ago and raise each vbucket's purge seqno
 * to the highest seqno purged (kv_engine `persistent_metadata_purge_age`, default 3 days). A
 * consumer resuming from below the purge seqno is then told to roll back to 0 (dcp.md §3.5 step 2).
 */
export async function compact(bucket: Bucket, purgeAgeSeconds: number, at?: number): Promise<CompactionResult> {
  const core = bucketCore(bucket);
  const now = at ?? core.nowSeconds();
  const expired = await runExpiryPager(bucket, now);
  await core.quiesce();
  const cutoff = now - purgeAgeSeconds;
  const result: CompactionResult = { purged: 0, expired, purgeSeqnos: {} };
  const { bySeq, changes } = core.dbs;
  const ops: WriteOp[] = [];
  const purged: Item[] = [];
  const records = core.store.bySeqReader(core.name, purgeable);
  purgeCutoff = cutoff;
  for (const vb of core.vbuckets) {
    let purgeSeqno = vb.purgeSeqno;
    for (const { key: seqno, value } of records.getRange({ start: seqKey(vb.id, 0), end: seqKey(vb.id, Number.MAX_SAFE_INTEGER) })) {
      if (value === NOT_PURGEABLE) continue;
      const item = decodeRecord(value, vb.id, seqno);
      // A newer version still in flight will remove this entry itself; leave the key alone.
      const current = core.lookup(item.key, item.collection);
      if (!current || current.seqno !== seqno) continue;
      ops.push({ db: bySeq, key: seqKey(vb.id, seqno), value: null }, { db: changes, key: u64Key(item.bucketSeq), value: null });
      purged.push(item);
      purgeSeqno = Math.max(purgeSeqno, seqno);
    }
    if (purgeSeqno !== vb.purgeSeqno) result.purgeSeqnos[vb.id] = purgeSeqno;
  }
  // Memory follows the disk: keys and purge seqnos change only once the removals are committed,
  // so a failed commit (full disk) leaves both as they were.
  await core.writeOps(ops);
  for (const item of purged) core.forgetKey(item.key, item.vbucket, item.seqno, item.collection);
  result.purged = purged.length;
  const saves: Promise<void>[] = [];
  for (const [id, purgeSeqno] of Object.entries(result.purgeSeqnos)) {
    const vb = core.vbucket(Number(id));
    vb.purgeSeqno = Math.max(vb.purgeSeqno, purgeSeqno);
    // Purged tombstones may still sit in the checkpoint queue: streams read them from disk now.
    vb.trimCheckpoints(0);
    saves.push(core.saveVBucket(vb));
  }
  if (result.purged > 0) saves.push(core.saveMeta({ bucketSeqFloor: core.bucketSeq }));
  await Promise.all(saves);
  core.stats.purged += result.purged;
  return result;
}

export interface FailoverOptions {
  /** Discard every item above this seqno (as a replica promoted with less history would lack them). */
  discardAbove?: number;
}

/**
 * Simulate a failover of one vbucket: optionally discard history above a seqno, then start a new
 * branch in the failover log at the (new) high seqno. Open followers end: with `rollback` when
 * history was discarded, `state_changed` otherwise. Consumers re-requesting then get the rollback
 * the algorithm dictates.
 */
export async function simulateFailover(bucket: Bucket, vbId: number, opts: FailoverOptions = {}): Promise<VBucketInfo> {
  const core = bucketCore(bucket);
  const vb = core.vbucket(vbId);
  await core.quiesce();
  const discard = opts.discardAbove;
  let discarded = false;
  if (discard !== undefined && discard < vb.highSeqno) {
    if (!Number.isInteger(discard) || discard < 0) throw new RangeError('discardAbove must be a non-negative integer');
    const { bySeq, changes, expiries } = core.dbs;
    const ops: WriteOp[] = [];
    const dropped: Item[] = [];
    for (const { key, value } of bySeq.getRange({ start: seqKey(vbId, discard + 1), end: seqKey(vbId, Number.MAX_SAFE_INTEGER) })) {
      const item = decodeRecord(value, vbId, readU64(key, 2));
      ops.push({ db: bySeq, key, value: null }, { db: changes, key: u64Key(item.bucketSeq), value: null });
      if (item.expiry !== 0 && !item.deleted) ops.push({ db: expiries, key: expiryKey(item.expiry, vbId, item.seqno), value: null });
      dropped.push(item);
    }
    await core.writeOps(ops);
    for (const item of dropped) {
      if (item.collection === SYSTEM_COLLECTION_ID) forgetSystemKey(vb, item);
      else core.forgetKey(item.key, item.vbucket, item.seqno, item.collection);
    }
    vb.resetSeqnos(discard);
    vb.purgeSeqno = Math.min(vb.purgeSeqno, discard);
    discarded = true;
    await core.saveMeta({ bucketSeqFloor: core.bucketSeq });
  }
  vb.failoverLog.createEntry(vb.highSeqno);
  await core.saveVBucket(vb);
  vb.endFollowers(discarded ? 'rollback' : 'state_changed');
  bucket.emit('failover', vbId, vb.info());
  return vb.info();
}
