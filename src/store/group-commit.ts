/**
 * Group commit: every write queued while one LMDB transaction is committing goes into the next
 * one, so one fsync covers many acknowledged writes.
 *
 * At most one transaction is being applied at a time. Its callback applies the batch with
 * synchronous puts (a native call each, no per-operation promise). Once it commits, the next
 * transaction may start while this one is still being synced to disk (lmdb-js `overlappingSync`);
 * every write of the batch resolves together when `flushed` says the commit is on disk. A batch is capped so that applying it never holds the event loop
 * for long; the rest waits for the next transaction.
 *
 * A commit that fails (full disk, I/O error) rejects the writes of its batch only, with a
 * `StorageError` (storage-fault.ts); the next batch gets a fresh transaction, so writes succeed
 * again as soon as the disk has room, without a restart.
 */
import type { RootDatabase } from 'lmdb';
import type { BinaryDb } from './lmdb-store.js';
import { StorageError, storageErrorOf, type StorageHealth } from './storage-fault.js';
import { LatencyHistogram } from '../common/histogram.js';

/** `value: null` removes the key. */
export interface WriteOp {
  db: BinaryDb;
  key: Buffer;
  value: Buffer | null;
}

const MAX_OPS_PER_TXN = 40_000;

interface Batch {
  ops: WriteOp[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch is reported through each write's own promise; this keeps Node from also
  // reporting the shared one as unhandled.
  done.catch(() => undefined);
  return { ops: [], done, resolve, reject };
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

  /** Queue operations; the promise resolves when the transaction holding them is on disk. */
  write(ops: WriteOp[]): Promise<void> {
    let open = this.queue[this.queue.length - 1]!;
    if (open.ops.length >= MAX_OPS_PER_TXN) {
      open = newBatch();
      this.queue.push(open);
    }
    for (const op of ops) open.ops.push(op);
    if (!this.committing) this.startNext();
    return open.done;
  }

  private startNext(): void {
    this.committing = true;
    // Let the current event turn finish queueing before the transaction takes the batch.
    setImmediate(() => {
      const batch = this.queue.shift()!;
      if (this.queue.length === 0) this.queue.push(newBatch());
      if (batch.ops.length === 0) {
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
        batch.reject(err);
        this.settle();
        return;
      }
      this.root
        .transaction(() => {
          for (const op of batch.ops) {
            if (op.value === null) op.db.removeSync(op.key);
            else op.db.putSync(op.key, op.value);
          }
        })
        .then(
          () => {
            this.commits++;
            this.committedOps += batch.ops.length;
            this.health.succeeded();
            // Committed (visible, and safe from a process crash); durable once flushed. The next
            // transaction starts now and overlaps this one's fsync (lmdb-js overlappingSync).
            this.flushing++;
            const committedAt = performance.now();
            this.durable().then(() => {
              this.flushLatency.observe((performance.now() - committedAt) * 1000);
              batch.resolve();
            }, (err: unknown) => batch.reject(err)).finally(() => {
              this.flushing--;
              this.wakeIfIdle();
            });
            this.settle();
          },
          (err: unknown) => {
            // LMDB aborted the transaction: nothing of the batch is visible, so its writes fail.
            this.failedCommits++;
            storageErrorOf(err, this.dataDir).then((e) => batch.reject(e), () => batch.reject(err)).finally(() => this.settle());
          },
        );
    });
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
    if (this.queue[0]!.ops.length > 0) {
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
