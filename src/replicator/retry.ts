/**
 * Backoff for retried requests and reconnecting feeds.
 *
 * CouchDB's replicator waits 250 ms before the first retry and doubles the wait each time
 * (couch_replicator_httpc.erl, `retries_per_request` = 5, capped at 5 minutes); PouchDB's
 * default back-off starts with a random wait up to 2 s and roughly doubles it, capped at
 * 10 minutes (pouchdb-utils defaultBackOff.js; couch-replication.md §1.5). Freshet uses the
 * CouchDB schedule with a lower cap and a little jitter so that many jobs hitting the same
 * dead peer do not retry in lock step.
 */

export interface BackoffPolicy {
  /** First wait in ms. */
  initialMs: number;
  /** Largest wait in ms. */
  maxMs: number;
  /** Retries after the first attempt (Infinity for feeds that must keep reconnecting). */
  retries: number;
  /** Fraction of each wait added at random, 0..1. */
  jitter: number;
}

export const DEFAULT_REQUEST_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, retries: 10, jitter: 0.1 };
export const DEFAULT_FEED_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, retries: Infinity, jitter: 0.1 };

/** The wait before retry number `attempt` (1-based). */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + policy.jitter * Math.random()));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
