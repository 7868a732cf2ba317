/**
 * `freshet xdcr push` as a library: stream a bucket over DCP (the consumer core,
 * consumer/change-stream.ts: every vbucket, values and xattrs, rollbacks handled) and write each
 * version to a target bucket with SET_WITH_META / DEL_WITH_META (target.ts), so the target keeps
 * the source's CAS, rev seqno, flags and expiry and its own conflict resolution picks the winner,
 * as XDCR's XMEM mode does. Pushing A → B and then B → A leaves both with the same winner.
 *
 * - One-shot (default): up to the high seqnos each vbucket had when its stream opened, then the
 *   run ends. `continuous`: keep streaming until stopped.
 * - Checkpoints (`checkpoint` file, consumer/checkpoint-store.ts): per vbucket the source's vbuuid
 *   and seqno of the last version the target answered. A change counts as done only once its
 *   write is answered (the stream commits an event when the next one is asked for), so a restart,
 *   even after `kill -9`, resumes without gaps; a version written but not yet checkpointed is
 *   sent again, which the target's conflict resolution turns into a no-op (an identical version
 *   loses to itself). A source rollback (failover) is handled by the consumer core, which restarts
 *   the vbucket from the point it names; the target needs no undo, since versions only move
 *   forward in conflict resolution. The checkpoint belongs to one source/target pair.
 * - Writes are sequential, one in flight: the stream's bounded queue holds DCP back meanwhile.
 * - Only the default collection is pushed (the stream has no collection filter).
 */
import { openChangeStream, type ChangeEvent, type ChangeStream, type Credentials } from '../consumer/index.js';
import { FileCheckpointStore, type Checkpoint, type CheckpointStore } from '../consumer/checkpoint-store.js';
import type { StatusListener } from '../consumer/status.js';
import { XdcrTarget, type TargetStats } from './target.js';

export interface PushOptions {
  /** The source's seed: couchbase://HOST[:PORT]/BUCKET or http://HOST:8091 (then `bucket`). */
  readonly source: string;
  readonly bucket?: string;
  readonly sourceCredentials?: Credentials;
  /** couchbase://HOST[:PORT]/BUCKET */
  readonly target: string;
  readonly targetCredentials?: Credentials;
  readonly checkpoint?: string;
  readonly continuous?: boolean;
  readonly signal?: AbortSignal;
  /** Advisory problems of the source stream (it retries by itself). */
  readonly onError?: (err: Error) => void;
  /** Source stream status (stream-requested with its end seqno, stream-end, connected...). */
  readonly onStatus?: StatusListener;
  /** Once the target is connected, authenticated and its map read (before the source opens). */
  readonly onTargetOpen?: () => void;
  /** After each version the target answered. */
  readonly onWrite?: (change: ChangeEvent, stats: Readonly<PushStats>) => void;
  readonly connectTimeoutMs?: number;
}

export interface PushStats extends TargetStats {
  mutations: number;
  deletions: number;
  expirations: number;
  rollbacks: number;
}

/**
 * The stream's store, but a final save can be withheld: the stream counts the event it last
 * returned as processed when it closes, which is wrong for a write abandoned on a stop. Skipping
 * that save only repeats a few versions on the next run (harmless, see the header).
 */
class GuardedStore implements CheckpointStore {
  withhold = false;
  constructor(private readonly inner: CheckpointStore) {}
  load(): Promise<Checkpoint | undefined> {
    return this.inner.load();
  }
  save(checkpoint: Checkpoint): Promise<void> {
    return this.withhold ? Promise.resolve() : this.inner.save(checkpoint);
  }
}

/** Run a push to its end (one-shot), or until `signal` aborts. Resolves with the counts. */
export async function runPush(opts: PushOptions): Promise<PushStats> {
  const target = await XdcrTarget.open({
    url: opts.target,
    ...(opts.targetCredentials ? { credentials: opts.targetCredentials } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
  });
  opts.onTargetOpen?.();
  const stats: PushStats = { mutations: 0, deletions: 0, expirations: 0, rollbacks: 0, ...target.stats };
  const store = opts.checkpoint === undefined ? undefined : new GuardedStore(new FileCheckpointStore(opts.checkpoint));
  let stream: ChangeStream | undefined;
  let writing = false;
  // A stop while waiting for changes closes the stream at once; during a write, after it.
  const onAbort = (): void => {
    if (!writing) void stream?.close().catch(() => undefined);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    stream = openChangeStream({
      seeds: [opts.source],
      ...(opts.bucket !== undefined ? { bucket: opts.bucket } : {}),
      ...(opts.sourceCredentials ? { credentials: opts.sourceCredentials } : {}),
      ...(store ? { checkpoint: store } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
      from: 'beginning',
      to: opts.continuous === true ? 'infinity' : 'now',
      // Values with their xattrs, deletions with their delete time, expiries as expirations (IS_EXPIRATION).
      includeXAttrs: true,
      includeDeleteTimes: true,
      expiryOpcode: true,
    });
    if (opts.signal?.aborted) return Object.assign(stats, target.stats);
    await stream.ready();
    if (opts.onStatus) stream.onStatus(opts.onStatus);
    for await (const change of stream) {
      if (change.type === 'rollback') {
        stats.rollbacks++;
        continue;
      }
      if (change.type !== 'mutation' && change.type !== 'deletion' && change.type !== 'expiration') continue;
      writing = true;
      try {
        await target.write(change);
      } catch (err) {
        // Abandoned on a stop (in a retry's back-off): not answered, so not checkpointed.
        if (store) store.withhold = true;
        if (opts.signal?.aborted) break;
        throw err;
      } finally {
        writing = false;
      }
      if (change.type === 'mutation') stats.mutations++;
      else if (change.type === 'deletion') stats.deletions++;
      else stats.expirations++;
      Object.assign(stats, target.stats);
      opts.onWrite?.(change, stats);
      if (opts.signal?.aborted) break;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Closing the stream saves the checkpoint of every change answered so far. A save that fails
    // rejects the close: the target's connections are closed all the same, or they would keep
    // the process alive after the error.
    try {
      await stream?.close();
    } finally {
      await target.close();
    }
  }
  return Object.assign(stats, target.stats);
}
