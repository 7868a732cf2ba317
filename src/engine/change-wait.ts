/**
 * The wait every live reader of the change order blocks on (the `_changes` feed, the replicator's
 * local feed): the bucket's next durable change, a tick, or the reader going away. An engine
 * callback, not a poll.
 */
import type { Bucket } from './bucket.js';

const NEVER = new AbortController().signal;

export type WakeReason = 'change' | 'tick' | 'closed';

/**
 * Resolve on the bucket's next durable change, after `ms`, or when `signal` aborts, whichever
 * comes first; every registration is removed on the way out, so an abandoned feed leaves no
 * waiter behind in the bucket.
 */
export function waitForChange(bucket: Bucket, ms: number, signal: AbortSignal): Promise<WakeReason> {
  if (signal.aborted) return Promise.resolve('closed');
  return new Promise((resolve) => {
    let settled = false;
    const done = (reason: WakeReason): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cancel();
      signal.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onAbort = (): void => done('closed');
    const timer = setTimeout(() => done('tick'), Math.max(0, ms));
    const cancel = bucket.onBucketSeqChange(() => done('change'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolve once every change up to `seq` is on disk, after `ms` at most, or when `signal` aborts.
 * A reader of the persisted change order (`_changes`) waits for the writes acknowledged before its
 * request (a KV write is acknowledged from memory, issue #16), so it reads its own writes.
 */
export async function persistedThrough(bucket: Bucket, seq: number, ms: number, signal: AbortSignal = NEVER): Promise<void> {
  const deadline = Date.now() + ms;
  while (bucket.persistedBucketSeq < seq && !bucket.isClosed) {
    const left = deadline - Date.now();
    if (left <= 0 || (await waitForChange(bucket, left, signal)) === 'closed') return;
  }
}
