/**
 * A replica vbucket: the engine side of intra-cluster replication (the DCP client that feeds it is
 * src/cluster/replica-connection.ts). It follows kv_engine's PassiveStream / DcpConsumer:
 *
 * - Items keep the active's seqno, CAS, rev seqno, flags, expiry, datatype and xattrs
 *   (`applyReplicated`); only this node's bucket-wide `_changes` sequence is assigned here. Seqnos
 *   must grow: a stale or out-of-order item is an error, not something to paper over.
 * - Snapshot markers are recorded (`noteSnapshot`): a replica is consistent only at the end of a
 *   snapshot (the active deduplicates within it, kv docs/dcp/documentation/concepts.md), so the
 *   range decides both where a re-request resumes (`replicaResumePosition`, the StreamRequest snapshot
 *   fields) and where a promotion branches (`promotionSeqno`).
 * - The stream request's Success body is the active's failover log, which replaces this copy's
 *   log and is persisted (`adoptFailoverLog`; kv DcpConsumer::streamAccepted →
 *   FailoverTable::replaceFailoverLog), so both copies name the history with the same uuids.
 * - Promotion (kv KVBucket::setVBucketState, replica → active without takeover): a new failover
 *   entry at the persisted snapshot end when the last snapshot is complete, else at its start.
 * - Rollback (a Rollback reply to the stream request): Freshet keeps one version per key, so it
 *   cannot restore the versions a rollback point would need; the vbucket is reset to empty and
 *   streamed again from 0 (what kv does when it cannot roll back to the point asked:
 *   KVBucket::rollback falls back to resetVBucket).
 */
import { bucketCore, type Bucket } from './bucket.js';
import { EngineError } from './errors.js';
import { FailoverLog } from './failover-log.js';
import { decodeRecord, encodeRecord } from './record.js';
import { applyManifest, systemEventItem, type SystemEventInfo } from './bucket-collections.js';
import { expiryKey, readU64, seqKey, u64Key } from '../store/keys.js';
import type { FailoverEntry, Item, MutationResult } from './types.js';
import type { WriteOp } from '../store/group-commit.js';

/** One replicated change, as a DCP mutation, deletion or expiration carries it. */
export interface ReplicatedChange {
  readonly key: Buffer;
  /** Collection id (0 when the feed is not collection-aware). */
  readonly collection?: number;
  readonly seqno: number;
  readonly revSeqno: number;
  readonly cas: bigint;
  readonly deleted: boolean;
  /** A tombstone made by expiry (DCP_EXPIRATION) rather than an explicit delete. */
  readonly expired: boolean;
  readonly value: Buffer;
  readonly datatype: number;
  readonly flags: number;
  /** Absolute expiry in epoch seconds, 0 = none. */
  readonly expiry: number;
  readonly deleteTime: number;
  /** System xattrs as a JSON object's bytes, or null. */
  readonly xattrs: Buffer | null;
}

interface SnapshotRange {
  start: number;
  end: number;
}

/** The last snapshot marker received per vbucket, per bucket (kv keeps it in vbucket_state). */
const ranges = new WeakMap<Bucket, Map<number, SnapshotRange>>();

function rangesOf(bucket: Bucket): Map<number, SnapshotRange> {
  let m = ranges.get(bucket);
  if (m === undefined) ranges.set(bucket, (m = new Map()));
  return m;
}

function replicaVBucket(bucket: Bucket, vbId: number): ReturnType<Bucket['vbucket']> {
  const vb = bucket.vbucket(vbId);
  if (vb.state === 'active') throw new EngineError('NOT_MY_VBUCKET', `vbucket ${vbId} is active here; it takes no replicated items`);
  return vb;
}

/** A snapshot marker: the items that follow belong to [start, end]. */
export function noteSnapshot(bucket: Bucket, vbId: number, start: number, end: number): void {
  replicaVBucket(bucket, vbId);
  rangesOf(bucket).set(vbId, { start, end });
}

/** Store one replicated change with the active's metadata; resolves once it is on disk. */
export function applyReplicated(bucket: Bucket, vbId: number, change: ReplicatedChange): Promise<MutationResult> {
  let vb;
  try {
    vb = replicaVBucket(bucket, vbId);
    if (change.seqno <= vb.highSeqno) {
      throw new EngineError('EINVAL', `vbucket ${vbId}: replicated seqno ${change.seqno} is not above the high seqno ${vb.highSeqno}`);
    }
    if (bucket.vbucketOf(change.key) !== vbId) throw new EngineError('EINVAL', `key does not belong to vbucket ${vbId}`);
  } catch (err) {
    return Promise.reject(err);
  }
  const collection = change.collection ?? 0;
  const prev = bucketCore(bucket).lookup(change.key, collection);
  const version: Omit<Item, 'bucketSeq'> = {
    key: change.key,
    collection,
    vbucket: vbId,
    value: change.value,
    datatype: change.datatype,
    flags: change.flags,
    expiry: change.deleted ? 0 : change.expiry,
    cas: change.cas,
    revSeqno: change.revSeqno,
    seqno: change.seqno,
    deleted: change.deleted,
    deleteTime: change.deleted ? change.deleteTime : 0,
    expired: change.deleted && change.expired,
    xattrs: change.xattrs,
  };
  return bucketCore(bucket).commitReplicated(vb, prev, version);
}

/**
 * Store one replicated system event (a manifest change the active recorded at `seqno`), and adopt
 * the change here when it is newer than this node's manifest: the manifest follows, and this
 * node's own active vbuckets record it too (bucket-collections.ts), so that every node of a
 * development cluster converges on one manifest, as ns_server's push achieves in Couchbase.
 */
export async function applyReplicatedSystemEvent(bucket: Bucket, vbId: number, seqno: number, cas: bigint, info: SystemEventInfo): Promise<void> {
  const core = bucketCore(bucket);
  const vb = replicaVBucket(bucket, vbId);
  if (seqno <= vb.highSeqno) throw new EngineError('EINVAL', `vbucket ${vbId}: replicated seqno ${seqno} is not above the high seqno ${vb.highSeqno}`);
  const item = systemEventItem(vbId, info, seqno, cas, core.nowSeconds());
  const key = item.key.toString('latin1');
  const prev = vb.systemKeys.get(key);
  const ops: WriteOp[] = [];
  if (prev !== undefined) ops.push({ db: core.dbs.bySeq, key: seqKey(vbId, prev), value: null });
  ops.push({ db: core.dbs.bySeq, key: seqKey(vbId, seqno), value: encodeRecord(item) });
  vb.highSeqno = seqno;
  core.hlc.observe(cas);
  if (cas > vb.maxCas) vb.maxCas = cas;
  core.queueSystemEvent(vb, item, prev);
  vb.systemKeys.set(key, seqno);
  if (info.collectionId !== undefined) vb.noteCollectionSeqno(info.collectionId, seqno);
  try {
    await core.writeOps(ops);
  } catch (err) {
    vb.checkpoints.markLost(seqno);
    vb.wake();
    throw err;
  }
  core.store.noteCommit();
  vb.markPersisted(seqno);
  const change = core.manifest.withRemoteEvent(info);
  if (change) await applyManifest(bucket, change.manifest, change.events);
}

/** Replace the vbucket's failover log with the active's (newest first) and persist it. */
export async function adoptFailoverLog(bucket: Bucket, vbId: number, entries: readonly FailoverEntry[]): Promise<void> {
  const vb = replicaVBucket(bucket, vbId);
  vb.failoverLog = new FailoverLog(entries.map((e) => ({ uuid: e.uuid, seqno: e.seqno })));
  await bucketCore(bucket).saveVBucket(vb);
}

/**
 * Where a stream request for this replica resumes: its high seqno, and the snapshot it is in the
 * middle of (kv PassiveStream sends the current snapshot range so the active can tell a resumable
 * partial snapshot from a diverged history). A complete snapshot, or no marker yet, is [high, high].
 */
export function replicaResumePosition(bucket: Bucket, vbId: number): { start: number; vbUuid: number; snapStart: number; snapEnd: number } {
  const vb = bucket.vbucket(vbId);
  const high = vb.highSeqno;
  const r = rangesOf(bucket).get(vbId);
  const partial = r !== undefined && r.start <= high && high < r.end;
  return { start: high, vbUuid: vb.failoverLog.latest.uuid, snapStart: partial ? r.start : high, snapEnd: partial ? r.end : high };
}

/**
 * The seqno a promotion branches at (kv KVBucket::setVBucketState): the high seqno when the last
 * snapshot was received to its end, else the start of that snapshot, the last point both copies
 * are known to agree on.
 */
export function promotionSeqno(bucket: Bucket, vbId: number): number {
  const vb = bucket.vbucket(vbId);
  const r = rangesOf(bucket).get(vbId);
  if (r === undefined || vb.highSeqno >= r.end) return vb.highSeqno;
  return Math.min(r.start, vb.highSeqno);
}

/** Forget the snapshot range (the vbucket was promoted or reset). */
export function clearSnapshot(bucket: Bucket, vbId: number): void {
  rangesOf(bucket).delete(vbId);
}

/**
 * Empty a replica vbucket: every version (tombstones included) leaves the by-seq, changes and
 * expiry indexes and the key directory; the seqnos restart at 0 under a fresh failover log.
 */
export async function resetReplica(bucket: Bucket, vbId: number): Promise<void> {
  const core = bucketCore(bucket);
  const vb = replicaVBucket(bucket, vbId);
  await core.quiesce();
  const { bySeq, changes, expiries } = core.dbs;
  const ops: WriteOp[] = [];
  const dropped: Array<{ key: Buffer; seqno: number; collection: number }> = [];
  for (const { key, value } of bySeq.getRange({ start: seqKey(vbId, 0), end: seqKey(vbId, Number.MAX_SAFE_INTEGER) })) {
    const item = decodeRecord(value, vbId, readU64(key, 2));
    ops.push({ db: bySeq, key, value: null }, { db: changes, key: u64Key(item.bucketSeq), value: null });
    if (item.expiry !== 0 && !item.deleted) ops.push({ db: expiries, key: expiryKey(item.expiry, vbId, item.seqno), value: null });
    dropped.push({ key: item.key, seqno: item.seqno, collection: item.collection });
  }
  // The key directory changes only once the removals are committed (a full disk keeps both).
  await core.writeOps(ops);
  for (const d of dropped) core.forgetKey(d.key, vbId, d.seqno, d.collection);
  vb.systemKeys.clear();
  vb.collectionHigh.clear();
  vb.maxCas = 0n;
  vb.resetSeqnos(0);
  vb.purgeSeqno = 0;
  vb.failoverLog = FailoverLog.fresh();
  clearSnapshot(bucket, vbId);
  await core.saveMeta({ bucketSeqFloor: core.bucketSeq });
  await core.saveVBucket(vb);
}
