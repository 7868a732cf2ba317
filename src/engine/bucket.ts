/**
 * A bucket: its vbuckets, the write pipeline that gives every change its seqnos, and the reads
 * that see both committed and in-flight writes.
 *
 * Writes are decided synchronously (read current state, check CAS, assign seqno, CAS and bucket
 * sequence) and then queued to LMDB; the promise resolves once the batch is on disk. Until then the
 * new version sits in `pending`, so the next operation on the same key sees it (this is kv_engine's
 * hash table in front of its flusher). Followers read only LMDB, and only up to what is persisted.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { EngineError } from './errors.js';
import { FailoverLog } from './failover-log.js';
import { HybridLogicalClock } from './hlc.js';
import { isExpired, nowSeconds } from './expiry.js';
import { VBucket, type PersistedVBucket } from './vbucket.js';
import { vbucketOf } from './vbucket-hash.js';
import type { BucketDbs, LmdbStore } from '../store/lmdb-store.js';
import type { WriteOp } from '../store/group-commit.js';
import { decodeRecord, encodeRecord, recordCas, recordKey } from '../store/record.js';
import { expiryKey, readU64, seqKey, u64Key } from '../store/keys.js';
import type { Item, Key, MutationResult, VBucketInfo, VBucketState } from './types.js';

import { MAX_KEY_BYTES } from './limits.js';
import * as ops from './mutations.js';
import type { CounterOptions, CounterResult, DeleteOptions, WriteOptions } from './types.js';
import type { StoreMode, VersionSpec } from './mutations.js';
import { VbFollower } from './follower.js';
import { ensureIdIndex, idIndexPut, idIndexRemove } from './id-index.js';
import { ChangesFollower, readChanges, type FollowChangesOptions, type ReadChangesOptions } from './changes.js';
import type { ChangeEntry, FollowEndReason, FollowOptions } from './types.js';
const EMPTY = Buffer.alloc(0);

export interface BucketConfig {
  name: string;
  numVBuckets: number;
  uuid: string;
}

export interface BucketStats {
  reads: number;
  readMisses: number;
  writes: number;
  writeFailures: number;
  expirations: number;
  purged: number;
}

/** The fields a mutation decides; the pipeline fills in seqno, CAS, rev seqno and bucket seq. */
export type NewVersion = Pick<Item, 'value' | 'datatype' | 'flags' | 'expiry' | 'deleted' | 'deleteTime' | 'expired' | 'xattrs'>;

interface BucketMeta {
  /** Highest bucket sequence ever handed out at the last compaction or discard (a floor for restart). */
  bucketSeqFloor: number;
}

/** Async operations report validation errors as rejections, never as synchronous throws. */
function settle<T>(op: () => Promise<T>): Promise<T> {
  try {
    return op();
  } catch (err) {
    return Promise.reject(err);
  }
}

export class Bucket extends EventEmitter {
  readonly name: string;
  readonly numVBuckets: number;
  readonly uuid: string;
  readonly dbs: BucketDbs;
  readonly vbuckets: VBucket[] = [];
  readonly stats: BucketStats = { reads: 0, readMisses: 0, writes: 0, writeFailures: 0, expirations: 0, purged: 0 };
  readonly hlc = new HybridLogicalClock();
  /**
   * The key directory: every key's current seqno (tombstones included), by the latin1 string of
   * its bytes. It lives in memory, like kv_engine's hash table with value eviction: a read costs
   * one LMDB lookup and a write one index entry fewer. Rebuilt by `load` at start-up.
   */
  private readonly keys = new Map<string, number>();
  /** In-flight versions by key (latin1 of the key bytes), until their batch is on disk. */
  private readonly pending = new Map<string, Item>();
  private inFlight = 0;
  bucketSeq = 0;
  persistedBucketSeq = 0;
  private readonly seqWaiters = new Set<() => void>();
  private closed = false;

  constructor(
    readonly store: LmdbStore,
    config: BucketConfig,
  ) {
    super();
    this.name = config.name;
    this.numVBuckets = config.numVBuckets;
    this.uuid = config.uuid;
    this.dbs = store.bucketDbs(config.name);
  }

  static newUuid(): string {
    return randomBytes(16).toString('hex');
  }

  /**
   * Load (or create) every vbucket's state and warm up the key directory from the by-seq index,
   * as kv_engine's warmup loads keys and metadata. `unclean` adds a failover entry to each
   * vbucket, as after a crash.
   */
  async load(unclean: boolean): Promise<void> {
    const meta = (this.dbs.vbuckets.get('meta') as BucketMeta | undefined) ?? { bucketSeqFloor: 0 };
    const lastSeqno = new Array<number>(this.numVBuckets).fill(0);
    for (const { key, value } of this.dbs.bySeq.getRange({})) {
      const vb = key.readUInt16BE(0);
      const seqno = readU64(key, 2);
      this.keys.set(recordKey(value).toString('latin1'), seqno);
      if (seqno > lastSeqno[vb]!) lastSeqno[vb] = seqno;
      this.hlc.observe(recordCas(value));
    }
    const saves: Promise<unknown>[] = [];
    for (let id = 0; id < this.numVBuckets; id++) {
      const stored = this.dbs.vbuckets.get(String(id)) as PersistedVBucket | undefined;
      const vb = new VBucket(id, stored ?? { state: 'active', failoverLog: FailoverLog.fresh().toArray(), purgeSeqno: 0 });
      // Purged tombstones can have been the highest seqnos; the purge seqno keeps them counted.
      vb.highSeqno = Math.max(lastSeqno[id]!, vb.purgeSeqno);
      vb.persistedSeqno = vb.highSeqno;
      if (unclean && stored) vb.failoverLog.createEntry(vb.highSeqno);
      if (!stored || unclean) saves.push(this.dbs.vbuckets.put(String(id), vb.toPersisted()));
      this.vbuckets.push(vb);
    }
    let lastSeq = 0;
    for (const { key } of this.dbs.changes.getRange({ reverse: true, limit: 1 })) lastSeq = readU64(key, 0);
    this.bucketSeq = Math.max(lastSeq, meta.bucketSeqFloor);
    this.persistedBucketSeq = this.bucketSeq;
    saves.push(ensureIdIndex(this.dbs));
    await Promise.all(saves);
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

  vbucketInfo(id: number): VBucketInfo {
    return this.vbucket(id).info();
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** The current version of a key, tombstones and not-yet-expired-on-disk items included. */
  lookup(key: Buffer): Item | undefined {
    const k = key.toString('latin1');
    const p = this.pending.get(k);
    if (p) return p;
    const seqno = this.keys.get(k);
    if (seqno === undefined) return undefined;
    const vb = this.vbucketOf(key);
    const raw = this.dbs.bySeq.get(seqKey(vb, seqno));
    return raw ? decodeRecord(raw, vb, seqno) : undefined;
  }

  /**
   * The live version of a key, or undefined. An item found expired is turned into an expiration
   * (its own seqno) on the way, as kv_engine does on access.
   */
  live(key: Buffer, vb: VBucket): Item | undefined {
    const item = this.lookup(key);
    this.stats.reads++;
    if (!item || item.deleted) {
      this.stats.readMisses++;
      return undefined;
    }
    if (isExpired(item.expiry)) {
      this.stats.readMisses++;
      this.expire(vb, item).catch((err: unknown) => this.emit('error', err));
      return undefined;
    }
    return item;
  }

  /** Turn an expired live item into an expiration tombstone. */
  expire(vb: VBucket, item: Item): Promise<MutationResult> {
    this.stats.expirations++;
    return this.commit(vb, item, {
      value: Buffer.alloc(0),
      datatype: 0,
      flags: item.flags,
      expiry: 0,
      deleted: true,
      deleteTime: nowSeconds(),
      expired: true,
      xattrs: item.xattrs,
    });
  }

  // ---- the write pipeline ---------------------------------------------------------------------

  /**
   * Give `next` its seqno, CAS, rev seqno and bucket sequence, queue it (and the removal of the
   * version it replaces) to LMDB, and resolve once that is on disk. Synchronous up to the queueing,
   * so the caller's read-check-write is atomic.
   */
  commit(vb: VBucket, prev: Item | undefined, next: NewVersion, key: Buffer = prev!.key): Promise<MutationResult> {
    if (this.closed) return Promise.reject(new EngineError('CLOSED'));
    // Fields spelled out (no object spread): this is the hottest allocation of the write path.
    const item: Item = {
      key,
      vbucket: vb.id,
      value: next.value,
      datatype: next.datatype,
      flags: next.flags,
      expiry: next.expiry,
      cas: this.hlc.next(),
      revSeqno: (prev?.revSeqno ?? 0) + 1,
      seqno: ++vb.highSeqno,
      bucketSeq: ++this.bucketSeq,
      deleted: next.deleted,
      deleteTime: next.deleteTime,
      expired: next.expired,
      xattrs: next.xattrs,
    };
    return this.enqueue(vb, prev, item);
  }

  /**
   * Store a version whose seqno, CAS and rev seqno the active copy decided (replica apply,
   * replica.ts): the vbucket's high seqno moves to it and the clock observes its CAS, so this copy
   * hands out larger CAS values once promoted. Only the bucket-wide change sequence (this node's
   * `_changes` order) is assigned here. The caller checks that the seqno is above the high seqno.
   */
  commitReplicated(vb: VBucket, prev: Item | undefined, version: Omit<Item, 'bucketSeq'>): Promise<MutationResult> {
    if (this.closed) return Promise.reject(new EngineError('CLOSED'));
    const item: Item = { ...version, bucketSeq: ++this.bucketSeq };
    vb.highSeqno = item.seqno;
    this.hlc.observe(item.cas);
    return this.enqueue(vb, prev, item);
  }

  /** Queue `item` (and the removal of `prev`) to LMDB; resolves once on disk. */
  private enqueue(vb: VBucket, prev: Item | undefined, item: Item): Promise<MutationResult> {
    const pkey = item.key.toString('latin1');
    this.pending.set(pkey, item);
    const known = this.keys.size;
    this.keys.set(pkey, item.seqno);
    const { bySeq, changes, expiries } = this.dbs;
    const ops: WriteOp[] = [];
    if (this.keys.size !== known) ops.push(idIndexPut(this.dbs, item.key));
    if (prev) {
      ops.push({ db: bySeq, key: seqKey(vb.id, prev.seqno), value: null });
      ops.push({ db: changes, key: u64Key(prev.bucketSeq), value: null });
      if (prev.expiry !== 0 && !prev.deleted) ops.push({ db: expiries, key: expiryKey(prev.expiry, vb.id, prev.seqno), value: null });
    }
    ops.push({ db: bySeq, key: seqKey(vb.id, item.seqno), value: encodeRecord(item) });
    ops.push({ db: changes, key: u64Key(item.bucketSeq), value: seqKey(vb.id, item.seqno) });
    if (item.expiry !== 0 && !item.deleted) ops.push({ db: expiries, key: expiryKey(item.expiry, vb.id, item.seqno), value: EMPTY });
    const written = this.store.writer.write(ops);
    this.inFlight++;
    this.stats.writes++;
    return written.then(
      () => {
        this.inFlight--;
        if (this.pending.get(pkey) === item) this.pending.delete(pkey);
        this.store.noteCommit();
        vb.markPersisted(item.seqno);
        this.markBucketPersisted(item.bucketSeq);
        return { cas: item.cas, token: { vbucket: vb.id, vbuuid: vb.failoverLog.latest.uuid, seqno: item.seqno }, item };
      },
      (err: unknown) => {
        this.inFlight--;
        this.stats.writeFailures++;
        throw err;
      },
    );
  }

  private markBucketPersisted(seq: number): void {
    if (seq <= this.persistedBucketSeq) return;
    this.persistedBucketSeq = seq;
    const waiters = [...this.seqWaiters];
    this.seqWaiters.clear();
    for (const w of waiters) w();
  }

  /** Calls `wake` once when the persisted bucket sequence next advances; returns a canceller. */
  onBucketSeqChange(wake: () => void): () => void {
    this.seqWaiters.add(wake);
    return () => this.seqWaiters.delete(wake);
  }

  /** Resolves once every write queued so far is on disk and accounted for. */
  async quiesce(): Promise<void> {
    do await this.store.flushed();
    while (this.inFlight > 0);
  }

  /** Drop a key from the directory (its last version was purged or discarded). */
  forgetKey(key: Buffer, seqno: number): void {
    const k = key.toString('latin1');
    if (this.keys.get(k) !== seqno) return;
    this.keys.delete(k);
    idIndexRemove(this.dbs, key).catch((err: unknown) => this.emit('error', err));
  }

  /** Number of keys with a current version (tombstones included). */
  get keyCount(): number {
    return this.keys.size;
  }

  get pendingWrites(): number {
    return this.inFlight;
  }

  // ---- the document API (semantics in mutations.ts) ------------------------------------------

  /** Get a live document; KEY_ENOENT when missing, deleted or expired. */
  get(rawKey: Key, vbId?: number): Item {
    const key = this.toKey(rawKey);
    const item = this.live(key, this.activeVBucket(key, vbId));
    if (!item) throw new EngineError('KEY_ENOENT');
    return item;
  }

  /** Metadata of the current version, tombstones included (GET_META); KEY_ENOENT when there is none. */
  getMeta(rawKey: Key, vbId?: number): Item {
    const key = this.toKey(rawKey);
    const vb = this.activeVBucket(key, vbId);
    this.live(key, vb);
    const item = this.lookup(key);
    if (!item) throw new EngineError('KEY_ENOENT');
    return item;
  }

  storeItem(mode: StoreMode, key: Key, value: Buffer, opts?: WriteOptions, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.store(this, mode, key, value, opts, vbId));
  }
  set(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this, 'set', key, typeof value === 'string' ? Buffer.from(value) : value, opts));
  }
  add(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this, 'add', key, typeof value === 'string' ? Buffer.from(value) : value, opts));
  }
  replace(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this, 'replace', key, typeof value === 'string' ? Buffer.from(value) : value, opts));
  }
  delete(key: Key, opts?: DeleteOptions, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.remove(this, key, opts, vbId));
  }
  touch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.touch(this, key, expiry, vbId));
  }
  /** Get-and-touch: the document with its new expiry. */
  async getAndTouch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.touch(this, key, expiry, vbId));
  }
  increment(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return settle(() => ops.counter(this, 'incr', key, opts, vbId));
  }
  decrement(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return settle(() => ops.counter(this, 'decr', key, opts, vbId));
  }
  append(key: Key, data: Buffer | string, cas?: bigint, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.concat(this, 'append', key, typeof data === 'string' ? Buffer.from(data) : data, cas, vbId));
  }
  prepend(key: Key, data: Buffer | string, cas?: bigint, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.concat(this, 'prepend', key, typeof data === 'string' ? Buffer.from(data) : data, cas, vbId));
  }
  /** Compare-and-write against the current version including tombstones (see mutations.ts). */
  writeVersion(key: Key, expect: bigint | null, spec: VersionSpec): Promise<MutationResult> {
    return settle(() => ops.writeVersion(this, key, expect, spec));
  }

  // ---- history --------------------------------------------------------------------------------

  /** Follow one vbucket from a seqno: backfill, then live (see follower.ts). */
  follow(vbId: number, opts: FollowOptions): VbFollower {
    return new VbFollower(this, this.vbucket(vbId), opts);
  }
  /** A page of the bucket-wide change order (`_changes`). */
  readChanges(opts: ReadChangesOptions): ChangeEntry[] {
    return readChanges(this, opts);
  }
  /** Follow the bucket-wide change order from `since`. */
  followChanges(opts: FollowChangesOptions): ChangesFollower {
    return new ChangesFollower(this, opts);
  }

  // ---- vbucket administration -----------------------------------------------------------------

  async saveVBucket(vb: VBucket): Promise<void> {
    await this.dbs.vbuckets.put(String(vb.id), vb.toPersisted());
  }

  async saveMeta(meta: BucketMeta): Promise<void> {
    await this.dbs.vbuckets.put('meta', meta);
  }

  /**
   * Set a vbucket's state. Becoming active starts a new history branch (a failover entry at the
   * current high seqno), as a promoted replica does; leaving active ends its streams.
   */
  async setVBucketState(id: number, state: VBucketState, opts: { branchSeqno?: number } = {}): Promise<VBucketInfo> {
    const vb = this.vbucket(id);
    if (vb.state === state) return vb.info();
    const wasActive = vb.state === 'active';
    vb.state = state;
    // `branchSeqno`: a promoted replica branches at its last complete snapshot (replica.ts).
    if (state === 'active') vb.failoverLog.createEntry(Math.min(opts.branchSeqno ?? vb.highSeqno, vb.highSeqno));
    await this.saveVBucket(vb);
    if (wasActive || state === 'dead') vb.endFollowers('state_changed');
    this.emit('vbucket-state', id, state);
    return vb.info();
  }

  markClosed(reason: FollowEndReason = 'bucket_deleted'): void {
    this.closed = true;
    for (const vb of this.vbuckets) vb.endFollowers(reason);
    const waiters = [...this.seqWaiters];
    this.seqWaiters.clear();
    for (const w of waiters) w();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
