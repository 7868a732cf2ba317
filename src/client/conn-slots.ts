/**
 * Bounded in-flight window (kafkajs maxInFlightRequests) with a bounded wait queue:
 * `acquire` resolves when a slot is free; more than `maxWaiting` waiters is a
 * QueueFullError (practice 9: every queue has a cap and a typed overflow error).
 * A waiter whose AbortSignal fires (timeout, caller abort) leaves the queue.
 */
import { QueueFullError } from './conn-errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class SlotPool {
  readonly #max: number;
  readonly #maxWaiting: number;
  #used = 0;
  #waiters: Waiter[] = [];

  constructor(max: number, maxWaiting: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxInFlight must be a positive integer, got ${max}`);
    this.#max = max;
    this.#maxWaiting = maxWaiting;
  }

  get used(): number {
    return this.#used;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.#used < this.#max && this.#waiters.length === 0) {
      this.#used++;
      return Promise.resolve();
    }
    if (this.#waiters.length >= this.#maxWaiting) return Promise.reject(new QueueFullError(this.#maxWaiting));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) {
      next.resolve(); // the slot passes straight to the next waiter
      return;
    }
    if (this.#used > 0) this.#used--;
  }

  rejectWaiters(e: Error): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(e);
  }
}
