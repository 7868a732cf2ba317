/**
 * The inside of a bucket: its vbuckets, the key directory, the write pipeline that gives every
 * change its seqnos, and the reads that see both committed and in-flight writes. Engine modules
 * (mutations.ts, maintenance.ts, replica.ts) work on this; the faces see only `Bucket`
 * (bucket.ts), which owns one core and exposes what a face needs.
 *
 * Writes are decided synchronously (read current state, check CAS, assign seqno, CAS and bucket
 * sequence) and then queued to LMDB. Until the batch is on disk the new version is in flight in
 * the key directory (key-directory.ts), so the next operation on the same key sees it (kv_engine's
 * hash table in front of its flusher), and in its vbucket's checkpoint queue, from which DCP
 * streams it. When the write is acknowledged depends on its mode (types.ts WriteMode, issue #16):
 * a plain KV write at once, like Couchbase; an HTTP write or a SyncWrite that persists once its
 * batch is on disk (write-batches.ts settles them). The dirty backlog is bounded: past
 * `maxDirtyBytes`, writes answer TMPFAIL, as Couchbase does when its memory is full.
 */
import type { EventEmitter } from 'node:events';
import { EngineError, engineWrite, isEngineError } from './errors.js';
import { HybridLogicalClock } from './hlc.js';
import { clockSeconds, type Clock } from './clock.js';
import { KeyDirectory } from './key-directory.js';
import type { IdIndex } from './id-index.js';
import { owned } from './checkpoints.js';
import { isExpired } from './expiry.js';
import { VBucket } from './vbucket.js';
import { vbucketOf } from './vbucket-hash.js';
import { MAX_KEY_BYTES } from './limits.js';
import type { BucketDbs, LmdbStore } from '../store/lmdb-store.js';
import type { WriteOp } from '../store/group-commit.js';
import { decodeRecord, encodeRecord, recordDeleted, recordExpiry } from './record.js';
import { RecordCache } from './record-cache.js';
import { warmUp } from './warmup.js';
import { seqKey } from '../store/keys.js';
import { dirKey } from './dir-keys.js';
import { Manifest } from './manifest.js';
import { writeModeOf } from './types.js';
import { expireItem } from './mutations.js';
import { IndexWrite } from './index-ops.js';
import { WriteBatches } from './write-batches.js';
import type { DurabilityLevel, FollowEndReason, Item, Key, MutationResult, WriteMode, Written } from './types.js';
import { DEFAULT_WRITE_PATH_LIMITS, type BucketConfig, type BucketMeta, type BucketStats, type ConflictResolutionType, type NewVersion, type WritePathLimits } from './bucket-config.js';

export type { BucketConfig, BucketMeta, BucketStats, NewVersion, WritePathLimits } from './bucket-config.js';

export class BucketCore {
  readonly name: string;
  readonly numVBuckets: number;
  readonly uuid: string;
  readonly dbs: BucketDbs;
  readonly vbuckets: VBucket[] = [];
  readonly stats: BucketStats = { reads: 0, readMisses: 0, recordCacheHits: 0, bgFetches: 0, writes: 0, writeFailures: 0, expirations: 0, purged: 0, tmpfails: 0, syncWriteConflicts: 0 };
  readonly hlc: HybridLogicalClock;
  /** Every key's current version: seqnos, versions in flight, byte order (key-directory.ts). */
  readonly #dir: KeyDirectory;
  /** Recent records by version, so most reads of a current version skip LMDB (record-cache.ts). */
  readonly #records: RecordCache;
  /** The collections manifest in force (bucket-collections.ts changes it). */
  manifest = Manifest.initial();
  /** Bucket-wide maxTTL in seconds (0 = none); a collection's own maxTTL overrides it. */
  maxTTL = 0;
  /** The least durability of every write (Couchbase's bucket `durabilityMinLevel`). */
  durabilityMinLevel: DurabilityLevel = 'none';
  /** How with-meta (XDCR) writes resolve conflicts (with-meta.ts); fixed at bucket creation. */
  readonly conflictResolution: ConflictResolutionType;
  /** The directory's keys in byte order (id-index.ts), for `_all_docs`. */
  get ids(): IdIndex {
    return this.#dir.ids;
  }
  #bucketSeq = 0;
  /** The writes between acknowledgement and disk, and what they cost (write-batches.ts). */
  readonly #batches: WriteBatches;
  #closed = false;

  constructor(
    readonly store: LmdbStore,
    config: BucketConfig,
    readonly clock: Clock,
    /** The public Bucket: 'vbucket-state', 'failover' and 'error' are emitted on it. */
    readonly events: EventEmitter,
    /** Deepest JSON nesting a value may have to count as JSON (codec/json-check.ts). */
    readonly maxJsonDepth: number,
    readonly limits: WritePathLimits = DEFAULT_WRITE_PATH_LIMITS,
  ) {
    this.name = config.name;
    this.numVBuckets = config.numVBuckets;
    this.#dir = new KeyDirectory(config.numVBuckets);
    this.#records = new RecordCache(limits.recordCacheBytes, (vb, seqno) => this.dbs.bySeq.get(seqKey(vb, seqno)), this.stats);
    this.uuid = config.uuid;
    this.dbs = store.bucketDbs(config.name);
    this.hlc = new HybridLogicalClock(clock);
    this.maxTTL = config.maxTTL ?? 0;
    this.conflictResolution = config.conflictResolution ?? 'seqno';
    this.durabilityMinLevel = config.durabilityMinLevel ?? 'none';
    this.#batches = new WriteBatches(this.#dir, this.stats, () => store.noteCommit(), Math.floor(limits.checkpointBytes / config.numVBuckets), config.numVBuckets);
  }

  /** Bytes of writes not yet on disk. */
  get dirtyBytes(): number {
    return this.#batches.dirtyBytes;
  }

  /** How a write with durability `level` is acknowledged, with the bucket's minimum applied. */
  writeMode(level: DurabilityLevel = 'none'): WriteMode {
    return writeModeOf(level, this.durabilityMinLevel);
  }

  /** The engine clock in Unix seconds (expiry and delete times). */
  nowSeconds(): number {
    return clockSeconds(this.clock);
  }

  /** The last bucket-wide change sequence handed out. */
  get bucketSeq(): number {
    return this.#bucketSeq;
  }

  /** The bucket-wide change sequence up to which every change is on disk. */
  get persistedBucketSeq(): number {
    return this.#batches.persistedSeq.value;
  }

  /**
   * Load (or create) every vbucket's state and warm up the key directory from the by-seq index, as
   * kv_engine's warmup loads keys and metadata; `unclean` adds a failover entry to each vbucket.
   */
  async load(unclean: boolean): Promise<void> {
    const w = warmUp(this, this.#dir.seqnos, unclean);
    this.#bucketSeq = w.bucketSeq;
    this.#batches.persistedSeq.reset(w.bucketSeq);
    this.#dir.indexLoaded();
    await Promise.all(w.saves);
  }

  // ---- keys and vbuckets ----------------------------------------------------------------------

  toKey(key: Key): Buffer {
    const buf = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (buf.length === 0) throw new EngineError('EINVAL', 'key must not be empty');
    if (buf.length > MAX_KEY_BYTES) throw new EngineError('EINVAL', `key is ${buf.length} bytes; the limit is ${MAX_KEY_BYTES}`);
    return buf;
  }

  vbucketOf(key: Key): number {
    return vbucketOf(typeof key === 'string' ? Buffer.from(key, 'utf8') : key, this.numVBuckets);
  }

  vbucket(id: number): VBucket {
    const vb = this.vbuckets[id];
    if (!vb) throw new EngineError('NOT_MY_VBUCKET', `vbucket ${id} does not exist in bucket ${this.name}`);
    return vb;
  }

  /** The vbucket a data operation on `key` runs in; it must be active here. */
  activeVBucket(key: Buffer, expected?: number): VBucket {
    const id = this.vbucketOf(key);
    if (expected !== undefined && expected !== id) {
      throw new EngineError('NOT_MY_VBUCKET', `key belongs to vbucket ${id}, not ${expected}`);
    }
    const vb = this.vbucket(id);
    if (vb.state !== 'active') throw new EngineError('NOT_MY_VBUCKET', `vbucket ${id} is ${vb.state}`);
    return vb;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /**
   * The current version of a key, tombstones and not-yet-expired-on-disk items included. `k` is
   * its directory key, for a caller that has built it already (dir-keys.ts); `keep` false for a
   * version about to be replaced (record-cache.ts `read`).
   */
  lookup(key: Buffer, collection = 0, vbId?: number, k = dirKey(collection, key), keep = true): Item | undefined {
    const vb = vbId ?? this.vbucketOf(key); // usually known: crc32 of the key, once per request
    // The version in flight, none (undefined, or null behind a SyncWrite), or a seqno to read.
    const found = this.#dir.current(vb, k);
    if (typeof found !== 'number') return found ?? undefined;
    const raw = this.#records.read(vb, this.vbuckets[vb]!.epoch, found, keep, this.#dir.seqnos.hint);
    return raw === undefined ? undefined : decodeRecord(raw, vb, found);
  }

  /**
   * A GET's hit without an Item (issue #16): the record of the key's version on disk, kept in
   * memory and with no expiry to check, as a view valid until the next write (record-cache.ts
   * `view`). Undefined: no live version (a counted miss). Null: ask `live` (in flight, LMDB, expiry).
   */
  residentRecord(key: Buffer, vb: VBucket, collection: number): Buffer | undefined | null {
    // A default-collection key is looked up by its bytes: no directory-key string is made.
    const found = collection === 0 ? this.#dir.currentBytes(vb.id, key) : this.#dir.current(vb.id, dirKey(collection, key));
    if (typeof found !== 'number') {
      if (found !== undefined) return null;
      this.stats.reads++;
      this.stats.readMisses++;
      return undefined;
    }
    const raw = this.#records.view(vb.id, vb.epoch, found, this.#dir.seqnos.hint);
    if (raw === undefined) return null;
    this.stats.reads++;
    if (recordDeleted(raw)) {
      this.stats.readMisses++;
      return undefined;
    }
    return recordExpiry(raw) === 0 ? raw : null;
  }

  /**
   * The live version of a key, or undefined. An item found expired is turned into an expiration
   * (its own seqno) on the way, as kv_engine does on access.
   */
  live(key: Buffer, vb: VBucket, collection = 0): Item | undefined {
    return this.liveOf(this.lookup(key, collection, vb.id), key, vb, collection);
  }

  /** `live` for an item the caller has already looked up (`lookup(key, collection, vb.id)`). */
  liveOf(item: Item | undefined, key: Buffer, vb: VBucket, collection = 0): Item | undefined {
    this.stats.reads++;
    if (!item || item.deleted) {
      this.stats.readMisses++;
      return undefined;
    }
    // The clock is read only for items that can expire: most have no expiry, and this is every GET.
    if (item.expiry !== 0 && isExpired(item.expiry, this.nowSeconds())) {
      this.stats.readMisses++;
      // Expiring on access is best effort: a full disk or a closing bucket leaves the item to the
      // pager (the failure is counted in the store's health); anything else is a bug to report.
      expireItem(this, vb, item).catch((err: unknown) => {
        if (!isEngineError(err, 'ENOSPC') && !isEngineError(err, 'STORAGE') && !isEngineError(err, 'CLOSED')) this.events.emit('error', err);
      });
      return undefined;
    }
    return item;
  }

  // ---- the write pipeline ---------------------------------------------------------------------

  /**
   * Give `next` its seqno, CAS, rev seqno and bucket sequence and queue it (and the removal of the
   * version it replaces) to LMDB. Synchronous up to the queueing, so the caller's read-check-write
   * is atomic. Resolves per `mode` (types.ts WriteMode): at once from memory, or once on disk.
   * `pkey` is the key's directory key, for a caller that has built it already.
   */
  commit(vb: VBucket, prev: Item | undefined, next: NewVersion, key: Buffer = prev!.key, collection = prev?.collection ?? 0, mode: WriteMode = 'memory', pkey = dirKey(collection, key)): Promise<MutationResult> {
    if (this.#closed) return Promise.reject(new EngineError('CLOSED'));
    const written = this.commitNow(vb, prev, next, key, collection, mode, pkey);
    return written instanceof Promise ? written : Promise.resolve(written);
  }

  /**
   * `commit`, answering a write acknowledged from memory with its result itself rather than a
   * promise of it, and refusing one (TMPFAIL, SYNC_WRITE_IN_PROGRESS, CLOSED) by throwing: the KV
   * face replies to a plain SET in the same turn, without a promise, a reaction and a microtask
   * per write (issue #16).
   */
  commitNow(vb: VBucket, prev: Item | undefined, next: NewVersion, key: Buffer = prev!.key, collection = prev?.collection ?? 0, mode: WriteMode = 'memory', pkey = dirKey(collection, key)): Written {
    if (this.#closed) throw new EngineError('CLOSED');
    this.#admit(vb, pkey);
    // While the disk is failing, a plain write waits for the disk like an HTTP write and fails
    // with it (TMPFAIL with the disk's error), rather than growing a backlog the flusher cannot
    // keep; once a commit succeeds again, writes are acknowledged from memory again.
    if (mode === 'memory' && this.store.health.state === 'failing') mode = 'persist';
    // Fields spelled out (no object spread): this is the hottest allocation of the write path.
    const item: Item = {
      key: owned(key),
      collection,
      vbucket: vb.id,
      value: owned(next.value),
      datatype: next.datatype,
      flags: next.flags,
      expiry: next.expiry,
      cas: next.presetCas ?? this.hlc.next(),
      revSeqno: (prev?.revSeqno ?? 0) + 1,
      seqno: ++vb.highSeqno,
      bucketSeq: ++this.#bucketSeq,
      deleted: next.deleted,
      deleteTime: next.deleteTime,
      expired: next.expired,
      erased: next.erased === true && next.deleted, // only a deletion can be erased (types.ts)
      xattrs: next.xattrs,
    };
    return this.#enqueue(vb, prev, item, pkey, mode);
  }

  /**
   * Refuse a write before it takes a seqno: a SyncWrite of the key is in flight
   * (SYNC_WRITE_IN_PROGRESS), or the dirty backlog is over its limit (TMPFAIL).
   */
  #admit(vb: VBucket, pkey: string): void {
    if (this.#dir.syncInProgress(vb.id, pkey)) {
      this.stats.syncWriteConflicts++;
      throw new EngineError('SYNC_WRITE_IN_PROGRESS');
    }
    const dirty = this.#batches.dirtyBytes;
    if (dirty > this.limits.maxDirtyBytes) {
      this.stats.tmpfails++;
      throw new EngineError('ETMPFAIL', `${dirty} bytes of writes are waiting for the disk (limit ${this.limits.maxDirtyBytes})`);
    }
  }

  /**
   * Store a version whose seqno, CAS and rev seqno the active copy decided (replica apply,
   * replica.ts): the vbucket's high seqno moves to it and the clock observes its CAS, so this copy
   * hands out larger CAS values once promoted. Only the bucket-wide change sequence (this node's
   * `_changes` order) is assigned here. The caller checks that the seqno is above the high seqno.
   */
  commitReplicated(vb: VBucket, prev: Item | undefined, version: Omit<Item, 'bucketSeq'>): Promise<MutationResult> {
    if (this.#closed) return Promise.reject(new EngineError('CLOSED'));
    const pkey = dirKey(version.collection, version.key);
    this.#admit(vb, pkey);
    const item: Item = { ...version, key: owned(version.key), value: owned(version.value), bucketSeq: ++this.#bucketSeq };
    vb.highSeqno = item.seqno;
    this.hlc.observe(item.cas);
    return Promise.resolve(this.#enqueue(vb, prev, item, pkey, 'memory'));
  }

  /** A system event written by its own transaction (bucket-collections.ts): streamed once on disk. */
  queueSystemEvent(vb: VBucket, item: Item, prevSeqno: number | undefined): void {
    vb.checkpoints.push(item, prevSeqno, true);
  }

  /** Queue `item` (and the removal of `prev`) to LMDB: its result now (mode memory), or once on disk. */
  #enqueue(vb: VBucket, prev: Item | undefined, item: Item, pkey: string, mode: WriteMode): Written {
    const record = encodeRecord(item);
    const hint = this.#records.put(vb.id, vb.epoch, item.seqno, record);
    const version = this.#dir.record(pkey, item, prev, mode === 'sync', hint);
    vb.noteCollectionSeqno(item.collection, item.seqno, item.cas);
    const fromMemory = mode === 'memory';
    vb.checkpoints.push(item, prev?.seqno, !fromMemory);
    const result: MutationResult = { cas: item.cas, token: { vbucket: vb.id, vbuuid: vb.failoverLog.latest.uuid, seqno: item.seqno }, item };
    // One entry in the flusher's batch and in the list of writes waiting for the disk.
    const queued = new IndexWrite(this.dbs, prev, item, record, pkey, vb, version, fromMemory ? undefined : result);
    const written = this.store.writer.writeLazy(queued, fromMemory);
    this.stats.writes++;
    this.#batches.add(written, queued);
    if (!fromMemory) return WriteBatches.awaiting(queued);
    // Acknowledged now; live streams take it from the checkpoint queue. A kept write fails only if
    // the store closes before the disk has room (group-commit.ts): the write is then lost, like
    // one a crash took, and the next start's failover entry says so.
    vb.wake();
    return result;
  }

  /** Registered change waiters (tests prove that dropped feeds leave none behind). */
  get seqWaiterCount(): number {
    return this.#batches.persistedSeq.waiterCount;
  }

  /** Calls `wake` once when the persisted bucket sequence next advances; returns a canceller. */
  onBucketSeqChange(wake: () => void): () => void {
    return this.#batches.persistedSeq.onChange(wake);
  }

  /** Resolves once every write queued so far is on disk and accounted for. */
  async quiesce(): Promise<void> {
    do await this.store.flushed();
    while (this.#batches.inFlight > 0);
  }

  /** Drop a key from the directory (its last version was purged or discarded). */
  forgetKey(key: Buffer, vb: number, seqno: number, collection = 0): void {
    this.#dir.forget(vb, dirKey(collection, key), seqno);
  }

  /** The directory keys of vbucket `vb`, unordered (range scans, range-scan.ts). */
  vbucketKeys = (vb: number): IterableIterator<string> => this.#dir.seqnos.keysOf(vb);
  /** The seqno of a key of vbucket `vb` in the directory (purge of a dropped collection, bucket-collections.ts). */
  seqnoOf(vb: number, k: string): number | undefined {
    return this.#dir.seqnos.get(vb, k);
  }

  /** Number of keys with a current version (tombstones included). */
  get keyCount(): number {
    return this.#dir.seqnos.size;
  }

  get pendingWrites(): number {
    return this.#batches.inFlight;
  }

  // ---- vbucket administration -----------------------------------------------------------------

  saveVBucket(vb: VBucket): Promise<void> {
    return engineWrite(this.store.putMeta(this.dbs.vbuckets, String(vb.id), vb.toPersisted()));
  }
  saveMeta(meta: BucketMeta): Promise<void> {
    return engineWrite(this.store.putMeta(this.dbs.vbuckets, 'meta', meta));
  }
  /** Index writes of maintenance (purge, discard, replica reset), committed as one group. */
  writeOps(ops: WriteOp[]): Promise<void> {
    return ops.length === 0 ? Promise.resolve() : engineWrite(this.store.writer.write(ops));
  }

  markClosed(reason: FollowEndReason = 'bucket_deleted'): void {
    this.#closed = true;
    for (const vb of this.vbuckets) vb.endFollowers(reason);
    this.#batches.persistedSeq.wake();
  }
  get isClosed(): boolean {
    return this.#closed;
  }

  /** EVICT_KEY: forget a version's record kept in memory (record-cache.ts `forget`). */
  forgetRecord = (vb: VBucket, seqno: number): boolean => this.#records.forget(vb.id, vb.epoch, seqno, this.#dir.seqnos.hint);
}
