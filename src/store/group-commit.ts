/**
 * Group commit: every write queued while one LMDB transaction is committing goes into the next
 * one, so one fsync covers many acknowledged writes.
 *
 * At most one transaction is being applied at a time. Its callback applies the batch with
 * synchronous puts (a native call each, no per-operation promise). Once it commits, the next
 * transaction may start while this one is still being synced to disk (lmdb-js `overlappingSync`);
 * every write of the batch resolves together when `flushed` says the commit is on disk. A batch is capped so that applying it never holds the event loop
 * for long; the rest waits for the next transaction.
 */
import type { RootDatabase } from 'lmdb';
import type { BinaryDb } from './lmdb-store.js';

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
  private idleWaiters: Array<() => void> = [];
  /** Transactions committed so far. */
  commits = 0;

  constructor(private readonly root: RootDatabase) {}

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
            // Committed (visible, and safe from a process crash); durable once flushed. The next
            // transaction starts now and overlaps this one's fsync (lmdb-js overlappingSync).
            const flushed = this.root.flushed;
            this.settle();
            Promise.resolve(flushed).then(() => batch.resolve(), (err: unknown) => batch.reject(err));
          },
          (err: unknown) => {
            batch.reject(err);
            this.settle();
          },
        );
    });
  }

  private settle(): void {
    if (this.queue[0]!.ops.length > 0) {
      this.startNext();
      return;
    }
    this.committing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when everything queued so far is committed (then await `flushed` for the disk). */
  drain(): Promise<void> {
    if (!this.committing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
