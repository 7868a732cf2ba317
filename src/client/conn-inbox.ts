/**
 * Queue of server-initiated requests (DCP stream messages arrive as requests from the
 * producer; Duplex pushes arrive with magic 0x82), consumed as an async iterator.
 *
 * Backpressure (practice 9, undici's pause/resume): when the bytes waiting for the
 * consumer exceed `highWaterMark`, `onPause` is called (the connection stops reading the
 * socket, so TCP and finally the producer slow down); when the consumer drains the queue
 * to `lowWaterMark` or below, `onResume` is called. The queue can exceed the high-water
 * mark by what was already read (at most one socket chunk of packets).
 */

export interface InboxOptions<T> {
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly sizeOf: (item: T) => number;
  readonly onPause: () => void;
  readonly onResume: () => void;
}

export class Inbox<T> implements AsyncIterableIterator<T> {
  readonly #opts: InboxOptions<T>;
  #items: T[] = [];
  #bytes = 0;
  #paused = false;
  #done = false;
  #error: Error | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;

  constructor(opts: InboxOptions<T>) {
    this.#opts = opts;
  }

  get length(): number {
    return this.#items.length;
  }

  get bufferedBytes(): number {
    return this.#bytes;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True once closed or returned: pushes are dropped. */
  get done(): boolean {
    return this.#done;
  }

  push(item: T): void {
    if (this.#done) return;
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    this.#bytes += this.#opts.sizeOf(item);
    if (!this.#paused && this.#bytes > this.#opts.highWaterMark) {
      this.#paused = true;
      this.#opts.onPause();
    }
  }

  /** End the iteration: pending items are still delivered, then done (or the error). */
  close(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    if (this.#waiter !== undefined && this.#items.length === 0) {
      const w = this.#waiter;
      this.#waiter = undefined;
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#bytes -= this.#opts.sizeOf(item);
      if (this.#paused && this.#bytes <= this.#opts.lowWaterMark) {
        this.#paused = false;
        this.#opts.onResume();
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#done) {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter !== undefined) return Promise.reject(new Error('Inbox supports a single concurrent reader'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Called by `break` in for-await: stop consuming, drop what is queued, resume reading. */
  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.#bytes = 0;
    this.close();
    if (this.#paused) {
      this.#paused = false;
      this.#opts.onResume();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
