/**
 * The engine: the LMDB store, its buckets, the clean-shutdown marker, and the background pager.
 *
 * Start-up follows kv_engine's warmup: a marker says whether the last run shut down cleanly. If it
 * did not, every vbucket gets a new failover-log entry at its persisted high seqno, so consumers
 * who saw anything of the lost branch roll back (dcp.md §3.3). The marker is set to "running" durably
 * before the engine serves anything, and back to "clean" as the very last write of `close()`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Bucket, bucketCore, type BucketConfig } from './bucket.js';
import { SYSTEM_CLOCK, type Clock } from './clock.js';
import { CONFLICT_RESOLUTION_TYPES, type ConflictResolutionType } from './bucket-config.js';
import { EngineError, engineWrite, isEngineError } from './errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../codec/json-check.js';
import { compact, runExpiryPager, simulateFailover, type CompactionResult, type FailoverOptions } from './maintenance.js';
import { resumePurges } from './bucket-collections.js';
import { flushBucket, type FlushResult } from './flush.js';
import { LmdbStore } from '../store/lmdb-store.js';
import { isStorageError, StorageError } from '../store/storage-fault.js';
import { DURABILITY_LEVELS, type DurabilityLevel, type VBucketInfo, type VBucketState } from './types.js';
import { DEFAULT_WRITE_PATH_LIMITS, type WritePathLimits } from './bucket-config.js';

export interface EngineOptions {
  dataDir: string;
  /** How often the expiry pager runs; 0 disables it. Default 60 s. */
  expiryPagerMs?: number;
  /** How often compaction runs; 0 (the default) means on demand only. */
  compactionMs?: number;
  /** Tombstones older than this are purged by compaction. Default 3 days, as Couchbase. */
  purgeAgeSeconds?: number;
  /** Every time the engine reads (CAS, expiry, delete times, purge age); default the system clock. */
  clock?: Clock;
  /**
   * Deepest nesting of objects/arrays a JSON value may have (default 100): deeper KV values are
   * stored as raw bytes, deeper HTTP bodies answer 400 (codec/json-check.ts).
   */
  maxJsonDepth?: number;
  /**
   * Bytes of acknowledged writes waiting for the disk above which writes answer TMPFAIL (default
   * 160 MiB, as counted by checkpoints.ts dirtyBytes), and bytes of persisted versions each bucket
   * keeps in memory for live DCP streams that have not read them yet (default 4 MiB; 0 sends every
   * stream that is not caught up to the disk). Issue #16.
   */
  maxDirtyBytes?: number;
  checkpointBytes?: number;
  /**
   * Bytes of recent item records each bucket keeps in memory for reads (default 20 MiB; 0 keeps
   * none and reads every version not in flight from LMDB): record-cache.ts.
   */
  recordCacheBytes?: number;
}

export interface CreateBucketOptions {
  numVBuckets?: number;
  /** Bucket maxTTL in seconds (0 = none), as Couchbase's bucket setting. */
  maxTTL?: number;
  /** Conflict resolution of XDCR writes (with-meta.ts): 'seqno' (revid, the default) or 'lww'. */
  conflictResolution?: ConflictResolutionType;
  /** The least durability of every write (Couchbase's `durabilityMinLevel`); default none. */
  durabilityMinLevel?: DurabilityLevel;
  /** Whether the bucket may be flushed (Couchbase's `flushEnabled`); default no. */
  flushEnabled?: boolean;
}

function checkDurability(level: DurabilityLevel): DurabilityLevel {
  if (!DURABILITY_LEVELS.includes(level)) throw new EngineError('DURABILITY_INVALID_LEVEL', `durabilityMinLevel must be one of ${DURABILITY_LEVELS.join(', ')}`);
  return level;
}

function bucketConfigOf(b: Bucket): BucketConfig {
  return {
    name: b.name,
    numVBuckets: b.numVBuckets,
    uuid: b.uuid,
    ...(b.maxTTL ? { maxTTL: b.maxTTL } : {}),
    ...(b.durabilityMinLevel !== 'none' ? { durabilityMinLevel: b.durabilityMinLevel } : {}),
    ...(b.conflictResolution !== 'seqno' ? { conflictResolution: b.conflictResolution } : {}),
    ...(b.flushEnabled ? { flushEnabled: true } : {}),
  };
}

export const DEFAULT_NUM_VBUCKETS = 1024;

function checkMaxTTL(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0x7fffffff) throw new EngineError('EINVAL', 'maxTTL must be an integer from 0 to 2147483647');
  return seconds;
}
function limitsOf(opts: Required<EngineOptions>): WritePathLimits {
  return { maxDirtyBytes: opts.maxDirtyBytes, checkpointBytes: opts.checkpointBytes, recordCacheBytes: opts.recordCacheBytes };
}

const BUCKET_NAME = /^[A-Za-z0-9_.%-]{1,100}$/;

interface RunState {
  clean: boolean;
}

export class Engine extends EventEmitter {
  private readonly bucketMap = new Map<string, Bucket>();
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | null = null;

  private constructor(
    readonly store: LmdbStore,
    readonly options: Required<EngineOptions>,
    /** Stable identity of this server (CouchDB `GET /` uuid, cluster uuid). */
    readonly uuid: string,
    /** True when the previous run did not shut down cleanly. */
    readonly recoveredFromCrash: boolean,
  ) {
    super();
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const opts: Required<EngineOptions> = {
      expiryPagerMs: 60_000,
      compactionMs: 0,
      purgeAgeSeconds: 3 * 24 * 3600,
      maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
      ...DEFAULT_WRITE_PATH_LIMITS,
      ...options,
      clock: options.clock ?? SYSTEM_CLOCK,
    };
    if (!Number.isInteger(opts.maxJsonDepth) || opts.maxJsonDepth < 1) {
      throw new EngineError('EINVAL', `maxJsonDepth must be a positive integer, not ${opts.maxJsonDepth}`);
    }
    // Takes the data directory's lock before anything is read (DataDirLockedError otherwise).
    const store = new LmdbStore(opts.dataDir);
    try {
      return await Engine.load(store, opts);
    } catch (err) {
      await store.close(); // releases the lock, so a retry is not refused by our own leftovers
      throw err;
    }
  }

  private static async load(store: LmdbStore, opts: Required<EngineOptions>): Promise<Engine> {
    let uuid = store.system.get('uuid') as string | undefined;
    if (!uuid) {
      uuid = randomBytes(16).toString('hex');
      await store.putMeta(store.system, 'uuid', uuid);
    }
    const run = store.system.get('run') as RunState | undefined;
    const unclean = run !== undefined && !run.clean;
    const engine = new Engine(store, opts, uuid, unclean);
    const configs = (store.system.get('buckets') as BucketConfig[] | undefined) ?? [];
    for (const config of configs) {
      const bucket = new Bucket(store, config, opts.clock, opts.maxJsonDepth, limitsOf(opts));
      await bucketCore(bucket).load(unclean);
      resumePurges(bucket);
      engine.bucketMap.set(config.name, bucket);
    }
    await store.putMeta(store.system, 'run', { clean: false } satisfies RunState);
    for (const bucket of engine.bucketMap.values()) engine.watch(bucket);
    engine.startTimers();
    return engine;
  }

  private startTimers(): void {
    const { expiryPagerMs, compactionMs, purgeAgeSeconds } = this.options;
    // Background work on a full disk fails like any write (counted in the store's health, logged
    // once by the server) and runs again next period; anything else is reported.
    const report = (err: unknown): void => {
      if (isEngineError(err, 'ENOSPC') || isEngineError(err, 'STORAGE') || isEngineError(err, 'CLOSED')) return;
      this.emit('error', err);
    };
    if (expiryPagerMs > 0) {
      this.timers.push(setInterval(() => {
        for (const b of this.bucketMap.values()) runExpiryPager(b).catch(report);
      }, expiryPagerMs).unref());
    }
    if (compactionMs > 0) {
      this.timers.push(setInterval(() => {
        for (const b of this.bucketMap.values()) this.#compact(b, purgeAgeSeconds).catch(report);
      }, compactionMs).unref());
    }
  }

  buckets(): Bucket[] {
    return [...this.bucketMap.values()];
  }

  bucket(name: string): Bucket | undefined {
    return this.bucketMap.get(name);
  }

  requireBucket(name: string): Bucket {
    const b = this.bucketMap.get(name);
    if (!b) throw new EngineError('NO_BUCKET', `no bucket named ${name}`);
    return b;
  }

  /**
   * Creations and deletions of one bucket name, in order: a deletion drops the name's LMDB
   * databases after it has let go of the name, so a creation of the same name racing it would
   * open the databases being dropped (LMDB EINVAL, and the new bucket's data gone). Each waits for
   * the one before it, as CouchDB's database creations and deletions are serialised.
   */
  readonly #lifecycle = new Map<string, Promise<unknown>>();

  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#lifecycle.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#lifecycle.set(name, tail);
    void tail.then(() => {
      if (this.#lifecycle.get(name) === tail) this.#lifecycle.delete(name);
    });
    return run;
  }

  createBucket(name: string, opts: CreateBucketOptions = {}): Promise<Bucket> {
    return this.#serial(name, () => this.#createBucket(name, opts));
  }

  async #createBucket(name: string, opts: CreateBucketOptions): Promise<Bucket> {
    if (!BUCKET_NAME.test(name)) {
      throw new EngineError('EINVAL', 'bucket names are 1-100 characters of letters, digits, _ . % and -');
    }
    if (this.bucketMap.has(name)) throw new EngineError('KEY_EEXISTS', `bucket ${name} already exists`);
    const numVBuckets = opts.numVBuckets ?? DEFAULT_NUM_VBUCKETS;
    if (!Number.isInteger(numVBuckets) || numVBuckets < 1 || numVBuckets > 1024) {
      throw new EngineError('EINVAL', 'numVBuckets must be an integer from 1 to 1024');
    }
    const maxTTL = checkMaxTTL(opts.maxTTL ?? 0);
    const durabilityMinLevel = checkDurability(opts.durabilityMinLevel ?? 'none');
    const cr = opts.conflictResolution ?? 'seqno';
    if (!CONFLICT_RESOLUTION_TYPES.includes(cr)) throw new EngineError('EINVAL', `conflict resolution must be one of ${CONFLICT_RESOLUTION_TYPES.join(', ')}`);
    const config: BucketConfig = {
      name,
      numVBuckets,
      uuid: randomBytes(16).toString('hex'),
      ...(maxTTL ? { maxTTL } : {}),
      ...(durabilityMinLevel !== 'none' ? { durabilityMinLevel } : {}),
      ...(cr !== 'seqno' ? { conflictResolution: cr } : {}),
      ...(opts.flushEnabled === true ? { flushEnabled: true } : {}),
    };
    const bucket = new Bucket(this.store, config, this.options.clock, this.options.maxJsonDepth, limitsOf(this.options));
    this.bucketMap.set(name, bucket);
    this.watch(bucket);
    await bucketCore(bucket).load(false);
    await this.saveBucketList();
    this.emit('bucket-created', bucket);
    return bucket;
  }

  deleteBucket(name: string, auxNamespaces: string[] = []): Promise<void> {
    return this.#serial(name, () => this.#deleteBucket(name, auxNamespaces));
  }

  async #deleteBucket(name: string, auxNamespaces: string[]): Promise<void> {
    const bucket = this.requireBucket(name);
    this.bucketMap.delete(name);
    bucketCore(bucket).markClosed();
    await bucket.quiesce();
    await this.saveBucketList();
    await this.store.dropBucket(name, auxNamespaces);
    this.emit('bucket-deleted', name);
  }

  private async saveBucketList(): Promise<void> {
    const configs: BucketConfig[] = this.buckets().map(bucketConfigOf);
    await engineWrite(this.store.putMeta(this.store.system, 'buckets', configs));
  }

  /** A bucket's background failures (expiry on access) are the engine's to report. */
  private watch(bucket: Bucket): void {
    bucket.on('error', (err: unknown) => this.emit('error', err));
  }

  // ---- operator actions (also exposed over REST and used by tests) ----------------------------

  /** Change a bucket's maxTTL (seconds, 0 = none); applies to writes from now on, as in Couchbase. */
  async setBucketMaxTTL(name: string, seconds: number): Promise<void> {
    this.requireBucket(name).maxTTL = checkMaxTTL(seconds);
    await this.saveBucketList();
  }

  /** Change a bucket's durabilityMinLevel; applies to writes from now on. */
  async setBucketDurability(name: string, level: DurabilityLevel): Promise<void> {
    this.requireBucket(name).durabilityMinLevel = checkDurability(level);
    await this.saveBucketList();
  }

  /** Allow or forbid flushing a bucket (Couchbase's `flushEnabled`). */
  async setBucketFlushEnabled(name: string, enabled: boolean): Promise<void> {
    this.requireBucket(name).flushEnabled = enabled;
    await this.saveBucketList();
  }

  /** Delete every document of a bucket whose flushEnabled is on (flush.ts); EINVAL otherwise. */
  async flushBucket(name: string): Promise<FlushResult> {
    const bucket = this.requireBucket(name);
    if (!bucket.flushEnabled) throw new EngineError('EINVAL', `flush is disabled for bucket ${name}`);
    return flushBucket(bucket);
  }

  setVBucketState(bucket: string, vb: number, state: VBucketState): Promise<VBucketInfo> {
    return this.requireBucket(bucket).setVBucketState(vb, state);
  }

  failover(bucket: string, vb: number, opts?: FailoverOptions): Promise<VBucketInfo> {
    return simulateFailover(this.requireBucket(bucket), vb, opts);
  }

  compact(bucket: string, purgeAgeSeconds = this.options.purgeAgeSeconds): Promise<CompactionResult> {
    return this.#compact(this.requireBucket(bucket), purgeAgeSeconds);
  }

  /**
   * Every compaction, scheduled or asked for, then emits `compacted` (bucket, result): layers
   * above compact their own data with it (CouchDB's revision history, couchdb/rev-history.ts).
   */
  async #compact(bucket: Bucket, purgeAgeSeconds: number): Promise<CompactionResult> {
    const result = await compact(bucket, purgeAgeSeconds);
    this.emit('compacted', bucket, result);
    return result;
  }

  /** Flush everything, mark the shutdown clean, close LMDB. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      for (const b of this.bucketMap.values()) bucketCore(b).markClosed('closed');
      // On a failing disk, writes kept for a retry are given up rather than waited for forever.
      if (this.store.health.state === 'failing') this.store.writer.close();
      for (const b of this.bucketMap.values()) await b.quiesce();
      try {
        // Acknowledged writes were lost: the next start must add failover entries, as after a crash.
        if (this.store.writer.abandoned > 0) throw new StorageError('ENOSPC', `${this.store.writer.abandoned} acknowledged writes could not be stored`);
        await this.store.putMeta(this.store.system, 'run', { clean: true } satisfies RunState);
      } catch (err) {
        // The disk is full: LMDB still closes, and the next start treats this run as a crash
        // (new failover entries), which is right since the shutdown could not be recorded.
        if (!isStorageError(err)) {
          await this.store.close();
          throw err;
        }
        this.emit('close-error', err);
      }
      await this.store.close();
    })();
    return this.closing;
  }
}
