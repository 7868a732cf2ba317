/**
 * Storage faults: a failed LMDB commit (full disk, I/O error) as a typed error, the store's
 * health (healthy / failing, logged once per change by the server), and the containment of
 * lmdb-js's own promises so that a failed commit fails the writes of that transaction and nothing
 * else.
 *
 * Why containment is needed (lmdb-js 3.5 write.js): when a commit fails, lmdb-js rejects every
 * write promise of that transaction with "Commit failed" and puts the errno on a second promise
 * (`error.commitError`). Two of its own promises are then left rejected with no handler: the
 * commit promise of the event-turn batch marker (`writeBatchStart`) and `commitError` itself, and
 * Node ends the process on an unhandled rejection. Also the failed transaction's flush promise never
 * settles, so `root.flushed` (and `root.close()`) would wait forever until another transaction
 * starts. `containCommitFaults` handles both promises, classifies the errno, and starts an empty
 * transaction after each failure so that later `flushed` waits see a fresh flush promise.
 *
 * LMDB reports a short write (the usual symptom of a full filesystem: `pwrite` wrote less than
 * asked) as EIO (mdb.c `mdb_page_flush`: "short write, filesystem full?"); an EIO while the
 * filesystem holding the data has almost no space left is therefore reported as ENOSPC.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { statfsSync } from 'node:fs';
import type { RootDatabase } from 'lmdb';
import { FreshetError } from '../common/errors.js';
import { storageErrorCode, type StorageErrorCode } from './errors.js';

/** lmdb.h MDB_MAP_FULL: the environment's map size is used up (lmdb-js normally grows it). */
const MDB_MAP_FULL = -30792;
/** Free bytes below which an EIO from a commit is taken as the filesystem being full. */
const SHORT_WRITE_FREE_BYTES = 16 * 1024 * 1024;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * A write that LMDB could not commit; `errno` is the errno name (ENOSPC, EIO, ...), `code` what it
 * means (store/errors.ts: STORE_ENOSPC, STORE_WRITE_FAILED, ...).
 */
export class StorageError extends FreshetError<StorageErrorCode> {
  constructor(
    readonly errno: string,
    message: string,
    /**
     * True when the transaction did commit (its writes are visible) but a later failure came
     * before it was confirmed on disk: the outcome is ambiguous, not a rollback.
     */
    readonly committed = false,
    options?: { cause?: unknown },
  ) {
    const code = storageErrorCode(errno);
    super(code, message, { retriable: code !== 'STORE_WRITE_FAILED', cause: options?.cause });
    this.name = 'StorageError';
  }

  /** The disk (or the map) is full: the client may retry once space is freed. */
  get full(): boolean {
    return this.code !== 'STORE_WRITE_FAILED';
  }
}

export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** The errno of a failed commit as a StorageError (see the header for the EIO rule). */
export function classifyCommitError(raw: unknown, dataDir: string): StorageError {
  if (raw instanceof StorageError) return raw;
  const errno = raw instanceof Error ? (raw as Error & { code?: unknown }).code : undefined;
  let code = typeof errno === 'number'
    ? (errno === MDB_MAP_FULL ? 'MDB_MAP_FULL' : (ERRNO_NAMES.get(errno) ?? ERRNO_NAMES.get(-errno) ?? `errno ${errno}`))
    : typeof errno === 'string' ? errno : 'EIO';
  const free = code === 'EIO' ? freeBytes(dataDir) : undefined;
  if (free !== undefined && free < SHORT_WRITE_FREE_BYTES) code = 'ENOSPC';
  const detail = raw instanceof Error ? raw.message : String(raw);
  const message = code === 'ENOSPC'
    ? `no space left on device (commit failed: ${detail}; ${free ?? 'unknown'} bytes free)`
    : `storage write failed: ${code} (${detail})`;
  return new StorageError(code, message, false, { cause: raw });
}

export type StorageState = 'healthy' | 'failing';

/**
 * Whether commits currently fail. Goes to `failing` on a failed commit and back to `healthy` on
 * the next commit that wrote data; emits 'state' (state, error) once per change and 'failure'
 * (error) per failed transaction.
 */
export class StorageHealth extends EventEmitter {
  state: StorageState = 'healthy';
  /** Transactions that failed to commit. */
  writeFailures = 0;
  /** Times the state went from failing back to healthy. */
  recoveries = 0;
  lastError: StorageError | undefined;

  constructor() {
    super();
    // One 'failure' listener per commit awaiting its flush or per `flushed()` call: bounded by
    // the writes in flight, not a leak.
    this.setMaxListeners(0);
  }

  failed(err: StorageError): void {
    this.writeFailures++;
    this.lastError = err;
    if (this.state === 'healthy') {
      this.state = 'failing';
      this.emit('state', 'failing', err);
    }
    this.emit('failure', err);
  }

  succeeded(): void {
    if (this.state === 'healthy') return;
    this.state = 'healthy';
    this.recoveries++;
    this.emit('state', 'healthy', this.lastError);
  }

  /** Calls `fn` at the next failed transaction; returns a canceller. */
  onNextFailure(fn: (err: StorageError) => void): () => void {
    this.once('failure', fn);
    return () => this.off('failure', fn);
  }
}

interface CommitFailure {
  commitError?: unknown;
}

function commitErrorOf(err: unknown): Promise<unknown> | undefined {
  const p = err instanceof Error ? (err as Error & CommitFailure).commitError : undefined;
  return p instanceof Promise ? p : undefined;
}

/** Whether `err` is lmdb-js's rejection of a write whose transaction failed to commit. */
export function isCommitFailure(err: unknown): boolean {
  return commitErrorOf(err) !== undefined;
}

/**
 * The StorageError behind a rejected lmdb-js write: its `commitError` carries the errno (and is
 * handled here, which lmdb-js needs someone to do).
 */
export async function storageErrorOf(err: unknown, dataDir: string): Promise<StorageError> {
  const inner = commitErrorOf(err);
  if (!inner) return classifyCommitError(err, dataDir);
  try {
    await inner;
    return classifyCommitError(err, dataDir);
  } catch (cause) {
    return classifyCommitError(cause, dataDir);
  }
}

/** Install the containment described in the header on an environment. */
export function containCommitFaults(root: RootDatabase, dataDir: string, health: StorageHealth): void {
  let unsticking = false;
  // 'beforecommit' runs in lmdb-js's event-turn batch task just before it creates the batch
  // marker's commit promise; a microtask queued here runs right after, while `committed` is it.
  root.on('beforecommit', () => {
    queueMicrotask(() => {
      root.committed.then(undefined, (err: unknown) => {
        storageErrorOf(err, dataDir).then((e) => health.failed(e), () => undefined);
      });
    });
  });
  // Called by lmdb-js for every transaction: with its id after a commit, without after a failure.
  root.on('aftercommit', (event: { txnId?: number }) => {
    if (event.txnId !== undefined || unsticking) return;
    unsticking = true;
    queueMicrotask(() => {
      root.transaction(() => undefined).then(
        () => { unsticking = false; },
        (err: unknown) => {
          unsticking = false;
          storageErrorOf(err, dataDir).catch(() => undefined);
        },
      );
    });
  });
}
