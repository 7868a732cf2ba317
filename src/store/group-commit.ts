/**
 * Group commit: every write queued while one LMDB transaction is committing goes into the next
 * one, so one fsync covers many acknowledged writes.
 *
 * At most one transaction is being applied at a time. Its operations are queued as lmdb-js
 * asynchronous puts and removes in one event turn, which lmdb-js applies as one transaction on its
 * writer thread (write.js: event-turn batching): the event loop only encodes each operation into
 * lmdb-js's instruction buffer, and the B-tree work runs beside it, not on it (KV sets +36%, issue
 * #16). Unconditional writes of one transaction share one commit promise, so there is no promise
 * per operation. Once it commits, the next transaction may start while this one is still being
 * synced to disk (lmdb-js `overlappingSync`); every write of the batch resolves together when
 * `flushed` says the commit is on disk. A batch is capped so that queueing it never holds the
 * event loop for long; the rest waits for the next transaction. The next batch is queued only once
 * this one's commit is known, so a failed batch's kept writes are retried before anything written
 * after them (see below).
 *
 * A commit that fails (full disk, I/O error) fails the batch's writes that asked to fail, with a
 * `StorageError` (storage-fault.ts): writes whose caller waits for the disk (HTTP writes, durable
 * KV writes). Writes already acknowledged from memory (`write(ops, true)`, a KV write with no
 * durability, issue #16) are *kept*: they go into the next batch (or a batch of their own) and are
 * retried with backoff until the disk has room, as kv_engine's flusher keeps failed items dirty
 * and retries; writes queued behind them are tried with them, so they fail (or succeed) promptly.
 * While commits fail and nothing is left to retry, a one-key probe transaction runs on the same
 * backoff, so the store notices on its own when the disk has room again (storage health).
 */
import type { RootDatabase } from 'lmdb';
import type { BinaryDb } from './lmdb-store.js';
import { StorageError, storageErrorOf, type StorageHealth } from './storage-fault.js';
import { LatencyHistogram } from '../common/histogram.js';

/** `value: null` removes the key. `kept` (set by `write`) marks the ops of a kept write. */
export interface WriteOp {
  db: BinaryDb;
  key: Buffer;
  value: Buffer | null;
  kept?: boolean;
}

/**
 * A write's operations, made when its transaction is queued rather than when the write is (the
 * write pipeline's entry per version, engine/index-ops.ts). lmdb-js copies each key into its
 * instruction buffer as the operation is queued, so a write waiting for its transaction holds this
 * one object instead of its operations and their key buffers, which lived past two scavenges and
 * were promoted (issue #16). `apply` queues them (`db.put`/`db.remove`) and returns the last
 * call's promise, the transaction's (write.js `commitPromise`); it runs again when a failed batch
 * is retried. `ops`: how many it queues, which the transaction's cap counts.
 */
export interface LazyOps {
  readonly ops: number;
  kept?: boolean;
  apply(): Promise<unknown>;
}

type Entry = WriteOp | LazyOps;

/** Operations an entry queues. */
function opsOf(e: Entry): number {
  return 'apply' in e ? e.ops : 1;
}

const MAX_OPS_PER_TXN = 40_000;
/** Retry and probe backoff after a failed commit: doubling from the first to the last. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1_000;
const PROBE_KEY = 'freshet:storage-probe';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch is reported through each write's own promise; this keeps Node from also
  // reporting the shared one as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Batch {
  entries: Entry[];
  /** Operations the entries queue (a LazyOps counts its `ops`). */
  ops: number;
  /** Settles the writes that fail with the batch. */
  done: Deferred;
  /** Settle the kept writes: on disk, possibly after retries (a retry carries earlier batches'). */
  kept: Deferred[];
  /** A retry of kept writes: waits for the backoff. */
  retry: boolean;
}

function newBatch(): Batch {
  return { entries: [], ops: 0, done: deferred(), kept: [deferred()], retry: false };
}

export class GroupCommitter {
  /** Batches waiting for a transaction, oldest first; the last one is open for more writes. */
  private readonly queue: Batch[] = [newBatch()];
  private committing = false;
  /** Committed batches still waiting for their flush (bounded: one per commit in flight). */
  private flushing = 0;
  private idleWaiters: Array<() => void> = [];
  /** Test seam (see `failNextCommits`): commits still to fail, and with which errno. */
  private injected = { count: 0, code: 'ENOSPC' };
  /** Test seam (see `slowDisk`): extra milliseconds before each transaction starts. */
  private delayMs = 0;
  private backoffMs = RETRY_FIRST_MS;
  private probeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Kept writes' retries after a failed commit. */
  retries = 0;
  /** Kept writes given up at close (the disk never had room): lost, as in a crash. */
  abandoned = 0;
  /** Transactions committed so far. */
  commits = 0;
  /** Batches whose commit failed. */
  failedCommits = 0;
  /** Write operations in committed transactions (ops per commit = the group-commit batch size). */
  committedOps = 0;
  /** From commit to on-disk (the fsync a batch waits for), per committed transaction. */
  readonly flushLatency = new LatencyHistogram();

  constructor(
    private readonly root: RootDatabase,
    private readonly dataDir: string,
    private readonly health: StorageHealth,
  ) {}

  /**
   * Test seam: the next `count` transactions fail as if LMDB returned `code` (default ENOSPC),
   * without being applied, exactly like a commit LMDB aborted. Lets tests without root (no tmpfs)
   * drive the full-disk path end to end; 0 clears it.
   */
  failNextCommits(count: number, code = 'ENOSPC'): void {
    this.injected = { count, code };
  }

  /**
   * Test seam: every transaction starts `ms` later, as on a slow disk, so the dirty backlog grows
   * (the engine's TMPFAIL limit, issue #16); 0 clears it.
   */
  slowDisk(ms: number): void {
    this.delayMs = ms;
  }

  /**
   * Queue operations; the promise resolves when the transaction holding them is on disk. `kept`
   * writes are retried after a failed commit instead of failing (see the header).
   */
  write(ops: WriteOp[], kept = false): Promise<void> {
    const open = this.#open();
    for (const op of ops) {
      if (kept) op.kept = true;
      open.entries.push(op);
    }
    open.ops += ops.length;
    return this.#queued(open, kept);
  }

  /** `write` of one write's operations, made when its transaction is queued (`LazyOps`). */
  writeLazy(entry: LazyOps, kept = false): Promise<void> {
    const open = this.#open();
    if (kept) entry.kept = true;
    open.entries.push(entry);
    open.ops += entry.ops;
    return this.#queued(open, kept);
  }

  /** The batch open for more writes: a new one past the cap or behind a retry. */
  #open(): Batch {
    let open = this.queue[this.queue.length - 1]!;
    if (open.ops >= MAX_OPS_PER_TXN || open.retry) {
      open = newBatch();
      this.queue.push(open);
    }
    return open;
  }

  #queued(open: Batch, kept: boolean): Promise<void> {
    if (!this.committing) this.startNext();
    return kept ? open.kept[0]!.promise : open.done.promise;
  }

  /** Give up on retries (the store is closing): kept writes still queued fail. */
  close(): void {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private startNext(): void {
    this.committing = true;
    const head = this.queue[0]!;
    const wait = head.retry ? this.backoffMs : this.delayMs;
    // Let the current event turn finish queueing before the transaction takes the batch.
    if (wait > 0) setTimeout(() => this.commitHead(), wait);
    else setImmediate(() => this.commitHead());
  }

  private commitHead(): void {
    {
      const batch = this.queue.shift()!;
      if (this.queue.length === 0) this.queue.push(newBatch());
      if (batch.entries.length === 0) {
        batch.done.resolve();
        for (const k of batch.kept) k.resolve();
        this.settle();
        return;
      }
      if (batch.retry && this.closed) {
        this.abandoned += batch.ops;
        const gone = new StorageError('ECANCELED', 'the store closed before the disk had room for this write');
        batch.done.reject(gone);
        for (const k of batch.kept) k.reject(gone);
        this.settle();
        return;
      }
      if (this.injected.count > 0) {
        this.injected.count--;
        const err = new StorageError(this.injected.code, this.injected.code === 'ENOSPC'
          ? 'no space left on device (injected fault)'
          : `storage write failed: ${this.injected.code} (injected fault)`);
        this.failedCommits++;
        this.health.failed(err);
        this.failBatch(batch, err);
        this.settle();
        return;
      }
      // Every operation of the batch returns the same commit promise (write.js `commitPromise`).
      let committed!: Promise<unknown>;
      for (const e of batch.entries) committed = 'apply' in e ? e.apply() : e.value === null ? e.db.remove(e.key) : e.db.put(e.key, e.value);
      committed
        .then(
          () => {
            this.commits++;
            this.committedOps += batch.ops;
            this.backoffMs = RETRY_FIRST_MS;
            this.health.succeeded();
            // Committed (visible, and safe from a process crash); durable once flushed. The next
            // transaction starts now and overlaps this one's fsync (lmdb-js overlappingSync).
            this.flushing++;
            const committedAt = performance.now();
            this.durable().then(() => {
              this.flushLatency.observe((performance.now() - committedAt) * 1000);
              batch.done.resolve();
              for (const k of batch.kept) k.resolve();
            }, (err: unknown) => {
              batch.done.reject(err);
              // Committed: kept writes are visible and survive a process crash.
              for (const k of batch.kept) k.resolve();
            }).finally(() => {
              this.flushing--;
              this.wakeIfIdle();
            });
            this.settle();
          },
          (err: unknown) => {
            // LMDB aborted the transaction: nothing of the batch is visible, so its writes fail.
            this.failedCommits++;
            storageErrorOf(err, this.dataDir).then((e) => this.failBatch(batch, e), () => this.failBatch(batch, err)).finally(() => this.settle());
          },
        );
    }
  }

  /**
   * A transaction was aborted: the writes that fail with it do; kept writes are tried again after
   * the backoff, together with the batch queued next (their order kept: they were written first),
   * so later writes learn promptly whether the disk has room. With nothing kept, a probe watches.
   */
  private failBatch(batch: Batch, err: unknown): void {
    batch.done.reject(err);
    this.backoffMs = Math.min(this.backoffMs * 2, RETRY_MAX_MS);
    const kept = batch.entries.filter((e) => e.kept === true);
    if (kept.length === 0) {
      for (const k of batch.kept) k.resolve();
      this.scheduleProbe();
      return;
    }
    this.retries++;
    const next = this.queue[0]!;
    next.entries = kept.concat(next.entries);
    for (const e of kept) next.ops += opsOf(e);
    next.kept.push(...batch.kept);
    next.retry = true;
  }

  /** While commits fail and no retry is queued, try a one-key transaction after the backoff. */
  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.health.state === 'healthy' || this.closed) return;
      if (this.committing) return this.scheduleProbe();
      this.write([{ db: this.root as unknown as BinaryDb, key: Buffer.from(PROBE_KEY), value: Buffer.from(String(Date.now())) }])
        .catch(() => this.scheduleProbe());
    }, this.backoffMs);
    this.probeTimer.unref();
  }

  /**
   * Resolves when the last commit is on disk. A failed transaction's flush promise never settles
   * (storage-fault.ts), so a failure seen before that rejects: the batch committed but its
   * durability is unknown, an ambiguous outcome.
   */
  private durable(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = this.health.onNextFailure((cause) => {
        reject(new StorageError(cause.errno, `${cause.message}; this write was committed but not confirmed on disk`, true, { cause }));
      });
      Promise.resolve(this.root.flushed).then(() => {
        cancel();
        resolve();
      }, (err: unknown) => {
        cancel();
        reject(err);
      });
    });
  }

  /** The current transaction is done (committed or failed): start the next one, if any. */
  private settle(): void {
    if (this.queue[0]!.entries.length > 0 || this.queue.length > 1) {
      this.startNext();
      return;
    }
    this.committing = false;
    this.wakeIfIdle();
  }

  private wakeIfIdle(): void {
    if (this.committing || this.flushing > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when everything queued so far is committed and its outcome (on disk, or failed) known. */
  drain(): Promise<void> {
    if (!this.committing && this.flushing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
