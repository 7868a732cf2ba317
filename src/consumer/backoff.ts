/**
 * Retry pacing (practice 11): cbdatasource's `ExponentialBackoffLoop` contract and a small
 * stateful `Backoff`, both pure apart from the sleep.
 *
 * ExponentialBackoffLoop (cbdatasource.go): call f() in a loop; f() < 0 stops, 0 means "no
 * progress" (sleep, then grow the sleep by the factor up to the max), > 0 means progress (reset the
 * sleep and call again at once). Closing is an AbortSignal here rather than a channel.
 */

/** Sleep of the `attempt`-th consecutive failure (0-based): init x factor^attempt, capped. */
export function backoffDelay(attempt: number, initMs: number, factor: number, maxMs: number): number {
  if (attempt <= 0) return Math.min(initMs, maxMs);
  return Math.min(maxMs, initMs * factor ** attempt);
}

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

/** cbdatasource's ExponentialBackoffLoop; returns when f() < 0 or the signal aborts. */
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
