/**
 * A bucket as the faces see it: the document API (semantics in mutations.ts), history (followers
 * and the bucket-wide change order), vbucket state, and the read-only facts the faces report.
 *
 * The state and the write pipeline live in a `BucketCore` (bucket-core.ts) that only engine
 * modules reach, through `bucketCore()`: nothing outside the engine can hand out a seqno, move the
 * bucket sequence or write to the key directory. `store` and `dbs` stay visible to the engine's own
 * index readers (change-scan.ts, record-view.ts, id-index.ts, side-db.ts), which scan inside one
 * LMDB snapshot; nothing outside src/engine reaches them.
 */
import { EventEmitter } from 'node:events';
import { BucketCore, type BucketConfig, type BucketStats, type WritePathLimits } from './bucket-core.js';
import type { Clock } from './clock.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../codec/json-check.js';
import type { StoreMode, VersionSpec } from './mutations.js';
import { withMetaStats, type WithMeta, type WithMetaOptions, type WithMetaStats } from './with-meta.js';
import type { ConflictResolutionType } from './bucket-config.js';
import { Collection } from './collection.js';
import { lockStats, type LockStats } from './locks.js';
import type { Manifest } from './manifest.js';
import { applyManifest } from './bucket-collections.js';
import { VbFollower } from './follower.js';
import { DocCounter, type DocCounts, type KeyFilter, type OutsideBytes } from './doc-counts.js';
import { BucketChangeFollower, readChanges, type FollowChangesOptions, type ReadChangesOptions } from './changes.js';
import type { VBucket } from './vbucket.js';
import type { BucketDbs, LmdbStore } from '../store/lmdb-store.js';
import type {
  ChangeEntry,
  CounterOptions,
  CounterResult,
  DeleteOptions,
  DurabilityLevel,
  FollowEvent,
  FollowOptions,
  RecordEvent,
  WriteMode,
  Item,
  Key,
  MutationResult,
  VBucketInfo,
  VBucketState,
  WriteOptions,
} from './types.js';

export type { BucketConfig, BucketStats, NewVersion } from './bucket-core.js';
export type { ConflictResolutionType } from './bucket-config.js';
export type { DocCounts } from './doc-counts.js';

/** Async operations report validation errors as rejections, never as synchronous throws. */
function settle<T>(op: () => Promise<T>): Promise<T> {
  try {
    return op();
  } catch (err) {
    return Promise.reject(err);
  }
}


let coreOf: (bucket: Bucket) => BucketCore;

/** The bucket's inside, for engine modules only (maintenance, replica apply, the engine itself). */
export function bucketCore(bucket: Bucket): BucketCore {
  return coreOf(bucket);
}

export class Bucket extends EventEmitter {
  static {
    coreOf = (bucket) => bucket.#core;
  }

  readonly #core: BucketCore;
  readonly #counter: DocCounter;
  readonly #default: Collection;
  readonly #collections = new Map<number, Collection>();
  /** Whether a flush is allowed (Couchbase's `flushEnabled` setting; flush.ts does it). */
  flushEnabled: boolean;

  constructor(
    store: LmdbStore,
    config: BucketConfig,
    clock: Clock,
    /** Deepest JSON nesting a value may have to count as JSON (codec/json-check.ts). */
    maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
    limits?: WritePathLimits,
  ) {
    super();
    this.#core = new BucketCore(store, config, clock, this, maxJsonDepth, limits);
    this.#counter = new DocCounter(this);
    this.#default = new Collection(this.#core, 0);
    this.flushEnabled = config.flushEnabled === true;
  }

  /**
   * Live and deleted documents on disk (doc-counts.ts: a cached scan of the by-seq index); with
   * `filter`, also those whose key it refuses.
   */
  docCounts(now?: number, filter?: KeyFilter, outside?: OutsideBytes): DocCounts {
    return this.#counter.counts(now, filter, outside);
  }

  /** Bytes the bucket's documents occupy in LMDB (doc-counts.ts). */
  diskBytes(): number {
    return this.#counter.diskBytes();
  }

  /** High and persisted seqnos summed over the vbuckets (their difference is the flush lag). */
  seqnoTotals(): { high: number; persisted: number } {
    let high = 0;
    let persisted = 0;
    for (const vb of bucketCore(this).vbuckets) {
      high += vb.highSeqno;
      persisted += vb.persistedSeqno;
    }
    return { high, persisted };
  }

  get name(): string {
    return this.#core.name;
  }
  get numVBuckets(): number {
    return this.#core.numVBuckets;
  }
  get uuid(): string {
    return this.#core.uuid;
  }
  /** Deepest JSON nesting a value may have to count as JSON (codec/json-check.ts). */
  get maxJsonDepth(): number {
    return this.#core.maxJsonDepth;
  }
  /** The LMDB store and this bucket's databases, for snapshot scans (http/db.ts, change-scan.ts). */
  get store(): LmdbStore {
    return this.#core.store;
  }
  get dbs(): BucketDbs {
    return this.#core.dbs;
  }
  get stats(): Readonly<BucketStats> {
    return this.#core.stats;
  }
  /** The last bucket-wide change sequence handed out. */
  get bucketSeq(): number {
    return this.#core.bucketSeq;
  }
  /** The bucket-wide change sequence up to which every change is on disk. */
  get persistedBucketSeq(): number {
    return this.#core.persistedBucketSeq;
  }
  get pendingWrites(): number {
    return this.#core.pendingWrites;
  }
  get isClosed(): boolean {
    return this.#core.isClosed;
  }

  // ---- keys and vbuckets ----------------------------------------------------------------------

  /** The key's bytes; EINVAL when empty or longer than the limit. */
  toKey(key: Key): Buffer {
    return this.#core.toKey(key);
  }
  vbucketOf(key: Key): number {
    return this.#core.vbucketOf(key);
  }
  /** The vbucket itself (DCP decides stream requests on its failover log and seqnos). */
  vbucket(id: number): VBucket {
    return this.#core.vbucket(id);
  }
  vbucketInfo(id: number): VBucketInfo {
    return this.#core.vbucket(id).info();
  }
  vbucketState(id: number): VBucketState {
    return this.#core.vbucket(id).state;
  }

  // ---- collections and the document API (collection.ts, mutations.ts) ------------------------

  /** The collections manifest in force (manifest.ts); change it with the methods below. */
  get manifest(): Manifest {
    return this.#core.manifest;
  }
  /** A collection by id; its operations fail with UNKNOWN_COLLECTION while it is not in the manifest. */
  collection(id: number): Collection {
    if (id === 0) return this.#default;
    let c = this.#collections.get(id);
    if (!c) this.#collections.set(id, (c = new Collection(this.#core, id)));
    return c;
  }
  /** A collection by `scope` and `collection` name; UNKNOWN_SCOPE / UNKNOWN_COLLECTION when absent. */
  collectionByName(scope: string, name: string): Collection {
    const m = this.#core.manifest;
    if (!m.scopeByName(scope)) throw m.unknownScope(scope);
    const entry = m.collectionByPath(scope, name);
    if (!entry) throw m.unknownCollection(`${scope}.${name}`);
    return this.collection(entry.id);
  }
  createScope(name: string): Promise<Manifest> {
    return settle(() => { const c = this.#core.manifest.createScope(name); return applyManifest(this, c.manifest, c.events); });
  }
  createCollection(scope: string, name: string, opts: { maxTTL?: number } = {}): Promise<Manifest> {
    return settle(() => { const c = this.#core.manifest.createCollection(scope, name, opts.maxTTL ?? 0); return applyManifest(this, c.manifest, c.events); });
  }
  /** Change a collection's maxTTL (manifest.ts `modifyCollection`); the current manifest when nothing changes. */
  modifyCollection(scope: string, name: string, settings: { maxTTL?: number }): Promise<Manifest> {
    return settle(() => {
      const c = this.#core.manifest.modifyCollection(scope, name, settings);
      return c.manifest === this.#core.manifest ? Promise.resolve(c.manifest) : applyManifest(this, c.manifest, c.events);
    });
  }
  dropCollection(scope: string, name: string): Promise<Manifest> {
    return settle(() => { const c = this.#core.manifest.dropCollection(scope, name); return applyManifest(this, c.manifest, c.events); });
  }
  dropScope(name: string): Promise<Manifest> {
    return settle(() => { const c = this.#core.manifest.dropScope(name); return applyManifest(this, c.manifest, c.events); });
  }
  /** The least durability every write gets (Couchbase's bucket `durabilityMinLevel`). */
  get durabilityMinLevel(): DurabilityLevel {
    return this.#core.durabilityMinLevel;
  }
  set durabilityMinLevel(level: DurabilityLevel) {
    this.#core.durabilityMinLevel = level;
  }

  /** How a write with durability `level` is acknowledged, the bucket's minimum applied. */
  writeMode(level?: DurabilityLevel): WriteMode {
    return this.#core.writeMode(level);
  }

  /** Bytes of acknowledged writes not yet on disk (the flusher's backlog). */
  get dirtyBytes(): number {
    return this.#core.dirtyBytes;
  }

  /** The backlog past which writes answer TMPFAIL (the server's `maxDirtyBytes`). */
  get maxDirtyBytes(): number {
    return this.#core.limits.maxDirtyBytes;
  }

  /** How XDCR (with-meta) writes resolve conflicts: 'seqno' (revid) or 'lww' (with-meta.ts). */
  get conflictResolution(): ConflictResolutionType {
    return this.#core.conflictResolution;
  }

  /** Bucket-wide maxTTL in seconds (0 = none); a collection's own maxTTL takes precedence. */
  get maxTTL(): number {
    return this.#core.maxTTL;
  }
  set maxTTL(seconds: number) {
    this.#core.maxTTL = seconds;
  }
  /** The highest seqno of a collection in a vbucket (its system events included), 0 when none. */
  collectionHighSeqno(vbId: number, collection: number): number {
    return this.#core.vbucket(vbId).collectionHigh.get(collection) ?? 0;
  }

  /** The current version of a key in the default collection, tombstones included. */
  lookup(key: Buffer): Item | undefined {
    return this.#default.lookup(key);
  }
  current(key: Buffer): Item | undefined {
    return this.#default.current(key);
  }
  get(rawKey: Key, vbId?: number): Item {
    return this.#default.get(rawKey, vbId);
  }
  getMeta(rawKey: Key, vbId?: number): Item {
    return this.#default.getMeta(rawKey, vbId);
  }
  getAndLock(rawKey: Key, seconds: number, vbId?: number): Item {
    return this.#default.getAndLock(rawKey, seconds, vbId);
  }
  unlock(rawKey: Key, cas: bigint, vbId?: number): void {
    this.#default.unlock(rawKey, cas, vbId);
  }
  /** Lock outcome counters and the locks held (locks.ts), for STAT. */
  lockStats(): LockStats & { held: number } {
    return lockStats(this.#core);
  }
  storeItem(mode: StoreMode, key: Key, value: Buffer, opts?: WriteOptions, vbId?: number): Promise<MutationResult> {
    return this.#default.storeItem(mode, key, value, opts, vbId);
  }
  set(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return this.#default.set(key, value, opts);
  }
  add(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return this.#default.add(key, value, opts);
  }
  replace(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return this.#default.replace(key, value, opts);
  }
  delete(key: Key, opts?: DeleteOptions, vbId?: number): Promise<MutationResult> {
    return this.#default.delete(key, opts, vbId);
  }
  touch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return this.#default.touch(key, expiry, vbId);
  }
  getAndTouch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return this.#default.getAndTouch(key, expiry, vbId);
  }
  increment(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return this.#default.increment(key, opts, vbId);
  }
  decrement(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return this.#default.decrement(key, opts, vbId);
  }
  append(key: Key, data: Buffer | string, cas?: bigint, vbId?: number): Promise<MutationResult> {
    return this.#default.append(key, data, cas, vbId);
  }
  prepend(key: Key, data: Buffer | string, cas?: bigint, vbId?: number): Promise<MutationResult> {
    return this.#default.prepend(key, data, cas, vbId);
  }
  writeVersion(key: Key, expect: bigint | null, spec: VersionSpec): Promise<MutationResult> {
    return this.#default.writeVersion(key, expect, spec);
  }
  /** An XDCR write with its own metadata, after conflict resolution (with-meta.ts). */
  writeWithMeta(key: Key, meta: WithMeta, value: Buffer, opts: WithMetaOptions, vbId?: number): Promise<MutationResult> {
    return this.#default.writeWithMeta(key, meta, value, opts, vbId);
  }
  /** Counters of with-meta writes and their conflict-resolution losses (kv ep_num_ops_*_meta*). */
  get withMetaStats(): Readonly<WithMetaStats> {
    return withMetaStats(this.#core);
  }

  // ---- history --------------------------------------------------------------------------------

  /** Follow one vbucket from a seqno: backfill, then live (see follower.ts). */
  follow(vbId: number, opts: FollowOptions): VbFollower {
    return new VbFollower(this, this.#core.vbucket(vbId), opts);
  }
  /** `follow`, with mutations read from disk delivered as their stored records (types.ts RecordEvent). */
  followRecords(vbId: number, opts: FollowOptions): VbFollower<FollowEvent | RecordEvent> {
    return new VbFollower<FollowEvent | RecordEvent>(this, this.#core.vbucket(vbId), opts, true);
  }
  /** A page of the bucket-wide change order (`_changes`). */
  readChanges(opts: ReadChangesOptions): ChangeEntry[] {
    return readChanges(this, opts);
  }
  /** Follow the bucket-wide change order from `since`. */
  followChanges(opts: FollowChangesOptions): BucketChangeFollower {
    return new BucketChangeFollower(this, opts);
  }
  /** Calls `wake` once when the persisted bucket sequence next advances; returns a canceller. */
  onBucketSeqChange(wake: () => void): () => void {
    return this.#core.onBucketSeqChange(wake);
  }
  /** Resolves once every write queued so far is on disk and accounted for. */
  quiesce(): Promise<void> {
    return this.#core.quiesce();
  }

  // ---- vbucket administration -----------------------------------------------------------------

  /**
   * Set a vbucket's state. Becoming active starts a new history branch (a failover entry at the
   * current high seqno, or at `branchSeqno` for a promoted replica); leaving active ends its streams.
   */
  async setVBucketState(id: number, state: VBucketState, opts: { branchSeqno?: number } = {}): Promise<VBucketInfo> {
    const core = this.#core;
    const vb = core.vbucket(id);
    if (vb.state === state) return vb.info();
    const wasActive = vb.state === 'active';
    vb.state = state;
    // `branchSeqno`: a promoted replica branches at its last complete snapshot (replica.ts).
    if (state === 'active') vb.failoverLog.createEntry(Math.min(opts.branchSeqno ?? vb.highSeqno, vb.highSeqno));
    await core.saveVBucket(vb);
    if (wasActive || state === 'dead') vb.endFollowers('state_changed');
    this.emit('vbucket-state', id, state);
    return vb.info();
  }
}
