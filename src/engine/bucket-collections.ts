/**
 * Changing a bucket's collections manifest, as kv_engine applies one pushed by ns_server
 * (docs/Collections.md): the new manifest and one system event per active vbucket are committed
 * in one LMDB transaction, so after a crash either both or neither exist.
 *
 * System events are records of the system collection (id 1, kv_engine CollectionID::System) in
 * each vbucket's by-seq history, at their own seqnos, keyed `_collection:<hex id>` or
 * `_scope:<hex id>`. Creating is a live version, dropping a tombstone of the same key, so that a
 * backfill after a drop sees only the drop, as kv_engine's does. They are kept out of the key
 * directory and the bucket-wide change order (only DCP shows them; vbucket.ts `systemKeys`).
 *
 * Dropping a collection makes its documents invisible at once (every read checks the manifest)
 * and purges them in the background, in batches, as kv_engine's collection eraser does; a purge
 * interrupted by a restart starts again at warm-up (documents of a collection the manifest lacks).
 */
import { bucketCore, type Bucket } from './bucket.js';
import { collectionRange, parseDirKey } from './dir-keys.js';
import { MANIFEST_KEY, SYSTEM_COLLECTION_ID, type Manifest, type ManifestEvent, type RemoteEvent } from './manifest.js';
import { decodeRecord, encodeRecord } from './record.js';
import { expiryKey, seqKey, u64Key } from '../store/keys.js';
import type { WriteOp } from '../store/group-commit.js';
import { DATATYPE_JSON, type Item } from './types.js';

const PURGE_BATCH = 1000;

/** A system event as the engine stores it (the value of a system-collection record, JSON). */
export type SystemEventInfo = RemoteEvent;

/** The event a system-collection item records. */
export function systemEventOf(item: Item): SystemEventInfo {
  return JSON.parse(item.value.toString('utf8')) as SystemEventInfo;
}

function eventKey(e: ManifestEvent): string {
  return e.type === 'create-collection' || e.type === 'drop-collection' ? `_collection:${e.collection.id.toString(16)}` : `_scope:${e.scope.id.toString(16)}`;
}

/** The system-collection record of an event: a create is live, a drop a tombstone of the same key. */
export function systemEventItem(vbucket: number, info: SystemEventInfo, seqno: number, cas: bigint, now: number): Item {
  const deleted = info.type === 'drop-collection' || info.type === 'drop-scope';
  const key = info.collectionId !== undefined ? `_collection:${info.collectionId.toString(16)}` : `_scope:${info.scopeId.toString(16)}`;
  return {
    key: Buffer.from(key),
    collection: SYSTEM_COLLECTION_ID,
    vbucket,
    value: Buffer.from(JSON.stringify(info)),
    datatype: DATATYPE_JSON,
    flags: 0,
    expiry: 0,
    cas,
    revSeqno: 1,
    seqno,
    bucketSeq: 0,
    deleted,
    deleteTime: deleted ? now : 0,
    expired: false,
    xattrs: null,
  };
}

function eventInfo(e: ManifestEvent, uid: number): SystemEventInfo {
  if (e.type === 'create-scope' || e.type === 'drop-scope') return { type: e.type, manifestUid: uid, scopeId: e.scope.id, name: e.scope.name };
  const c = e.collection;
  return { type: e.type, manifestUid: uid, scopeId: c.scopeId, collectionId: c.id, name: c.name, ...(c.maxTTL ? { maxTTL: c.maxTTL } : {}) };
}

/**
 * Commit `next` and its events: one system event per active vbucket, the manifest record, all in
 * one transaction. Resolves once on disk; then dropped collections start purging.
 */
export async function applyManifest(bucket: Bucket, next: Manifest, events: ManifestEvent[]): Promise<Manifest> {
  const core = bucketCore(bucket);
  const { bySeq } = core.dbs;
  const ops: WriteOp[] = [];
  const written: Array<{ vb: (typeof core.vbuckets)[number]; key: string; seqno: number }> = [];
  const now = core.nowSeconds();
  for (const vb of core.vbuckets) {
    if (vb.state !== 'active') continue;
    for (const e of events) {
      const key = eventKey(e);
      const prev = vb.systemKeys.get(key);
      const item = systemEventItem(vb.id, eventInfo(e, next.uid), ++vb.highSeqno, core.hlc.next(), now);
      if (prev !== undefined) ops.push({ db: bySeq, key: seqKey(vb.id, prev), value: null });
      ops.push({ db: bySeq, key: seqKey(vb.id, item.seqno), value: encodeRecord(item) });
      core.queueSystemEvent(vb, item, prev);
      vb.systemKeys.set(key, item.seqno);
      if (e.type === 'create-collection' || e.type === 'drop-collection') vb.noteCollectionSeqno(e.collection.id, item.seqno);
      written.push({ vb, key, seqno: item.seqno });
    }
  }
  ops.push({ db: core.dbs.collections, key: MANIFEST_KEY, value: Buffer.from(JSON.stringify(next.toData())) });
  const previous = core.manifest;
  // Reads see the new manifest at once (a dropped collection is invisible from here on); a failed
  // commit puts the old one back.
  core.manifest = next;
  try {
    await core.writeOps(ops);
  } catch (err) {
    core.manifest = previous;
    for (const w of written) {
      w.vb.checkpoints.markLost(w.seqno);
      w.vb.wake();
    }
    throw err;
  }
  core.store.noteCommit();
  for (const w of written) w.vb.markPersisted(w.seqno);
  bucket.emit('manifest', next);
  const dropped = events.flatMap((e) => (e.type === 'drop-collection' ? [e.collection.id] : []));
  for (const id of dropped) schedulePurge(bucket, id);
  return next;
}

const purging = new WeakMap<Bucket, Set<number>>();

/** Purge a dropped collection's documents in the background (errors are reported as 'error'). */
export function schedulePurge(bucket: Bucket, collection: number): void {
  let set = purging.get(bucket);
  if (!set) purging.set(bucket, (set = new Set()));
  if (set.has(collection)) return;
  set.add(collection);
  purgeCollection(bucket, collection)
    .catch((err: unknown) => {
      if (!bucket.isClosed) bucket.emit('error', err);
    })
    .finally(() => set.delete(collection));
}

/** Collections still being purged (a test waits for none). */
export function purgesInProgress(bucket: Bucket): number {
  return purging.get(bucket)?.size ?? 0;
}

/** Remove every document of a collection the manifest no longer has. Returns how many. */
export async function purgeCollection(bucket: Bucket, collection: number): Promise<number> {
  const core = bucketCore(bucket);
  await core.quiesce();
  const { start, end } = collectionRange(collection);
  const { bySeq, changes, expiries } = core.dbs;
  let purged = 0;
  for (;;) {
    if (core.isClosed || core.manifest.hasCollection(collection)) return purged;
    const batch: Array<{ key: Buffer; vb: number; seqno: number }> = [];
    const ops: WriteOp[] = [];
    for (const k of core.ids.from(start || undefined, false)) {
      if (k >= end || batch.length >= PURGE_BATCH) break;
      const key = Buffer.from(parseDirKey(k).key, 'latin1');
      const vb = core.vbucketOf(key);
      const seqno = core.seqnoOf(vb, k);
      if (seqno === undefined) continue;
      const raw = bySeq.get(seqKey(vb, seqno));
      batch.push({ key, vb, seqno });
      if (!raw) continue;
      const item = decodeRecord(raw, vb, seqno);
      ops.push({ db: bySeq, key: seqKey(vb, seqno), value: null }, { db: changes, key: u64Key(item.bucketSeq), value: null });
      if (item.expiry !== 0 && !item.deleted) ops.push({ db: expiries, key: expiryKey(item.expiry, vb, seqno), value: null });
    }
    if (batch.length === 0) return purged;
    await core.writeOps(ops);
    core.store.noteCommit();
    for (const b of batch) core.forgetKey(b.key, b.vb, b.seqno, collection);
    purged += batch.length;
    core.stats.purged += batch.length;
    // Let the event loop serve requests between batches.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Re-start purges a restart interrupted: collections with data that the manifest lacks. */
export function resumePurges(bucket: Bucket): void {
  const core = bucketCore(bucket);
  const seen = new Set<number>();
  for (const vb of core.vbuckets) for (const id of vb.collectionHigh.keys()) seen.add(id);
  for (const id of seen) if (id !== SYSTEM_COLLECTION_ID && !core.manifest.hasCollection(id)) schedulePurge(bucket, id);
}
