/**
 * Retry pacing, the one home for every loop that waits before trying again: the consumer's
 * reconnects and map refreshes, the dev cluster's replica streams, the replicator's retried
 * requests, feeds and job restarts. Pure apart from the sleep, and below every layer that uses it
 * (it imports nothing), so the consumer and the replicator share it without depending on each other.
 *
 * - `backoffDelay` / `Backoff`: init x factor^attempt, capped (cbdatasource's
 *   ExponentialBackoffLoop sleeps: 100 ms x1.5 to 1 s by default, dcp.md §4.1).
 * - `BackoffPolicy` / `policyDelay`: CouchDB's replicator schedule, 250 ms doubling
 *   (couch_replicator_httpc.erl), with a retry budget and a little jitter so that many jobs
 *   hitting the same dead peer do not retry in lock step (PouchDB's defaultBackOff randomises too).
 * - `sleep`: abortable; resolves false when the signal aborts, and clears its timer either way.
 * - `exponentialBackoffLoop`: cbdatasource's ExponentialBackoffLoop, closed by an AbortSignal.
 */

/** Sleep of the `attempt`-th consecutive failure (0-based): init x factor^attempt, capped. */
export function backoffDelay(attempt: number, initMs: number, factor: number, maxMs: number): number {
  if (attempt <= 0) return Math.min(initMs, maxMs);
  return Math.min(maxMs, initMs * factor ** attempt);
}

/** `ms` plus up to `fraction` of it at random, rounded to whole ms (0 = no jitter, exact). */
export function withJitter(ms: number, fraction: number): number {
  return fraction > 0 ? Math.round(ms * (1 + fraction * Math.random())) : Math.round(ms);
}

/** The consecutive-failure count and the next sleep it gives; `reset` after progress. */
export class Backoff {
  #attempt = 0;
  constructor(
    readonly initMs: number,
    readonly factor: number,
    readonly maxMs: number,
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  /** The sleep before the next try, advancing the attempt count. */
  next(): number {
    return backoffDelay(this.#attempt++, this.initMs, this.factor, this.maxMs);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** A doubling schedule with a retry budget and jitter (the replicator's requests and feeds). */
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

/** The wait before retry number `attempt` (1-based) under `policy`. */
export function policyDelay(policy: BackoffPolicy, attempt: number): number {
  return withJitter(backoffDelay(attempt - 1, policy.initialMs, 2, policy.maxMs), policy.jitter);
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (timer cleared either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * cbdatasource's ExponentialBackoffLoop: call f() in a loop; f() < 0 stops, 0 means "no progress"
 * (sleep, then grow the sleep by the factor up to the max), > 0 means progress (reset the sleep and
 * call again at once). Returns when f() < 0 or the signal aborts (a channel close in Go).
 */
export async function exponentialBackoffLoop(
  f: () => Promise<number> | number,
  startSleepMs: number,
  backoffFactor: number,
  maxSleepMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const backoff = new Backoff(startSleepMs, backoffFactor, maxSleepMs);
  while (!signal?.aborted) {
    const progress = await f();
    if (progress < 0) return;
    if (progress > 0) {
      backoff.reset();
      continue;
    }
    if (!(await sleep(backoff.next(), signal))) return;
  }
}
