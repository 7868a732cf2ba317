/**
 * The session's queue of loop events: producer messages pushed synchronously as they are parsed,
 * replies to our requests pushed when their promises settle. Unlike an async iterator it can be
 * drained synchronously, so a run of messages whose receiver calls return at once costs no promise
 * per message (the hot path of a backfill); the loop awaits only when the queue is empty.
 *
 * Backpressure (practice 9): above `highWaterMark` bytes of queued messages `onPause` stops socket
 * reads; at or below `lowWaterMark` `onResume` restarts them.
 */
export interface EventQueueOptions<T> {
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly sizeOf: (item: T) => number;
  readonly onPause: () => void;
  readonly onResume: () => void;
}

export class EventQueue<T> {
  readonly #o: EventQueueOptions<T>;
  #items: (T | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #paused = false;
  #closed = false;
  #error: Error | undefined;
  #waiter: (() => void) | undefined;

  constructor(o: EventQueueOptions<T>) {
    this.#o = o;
  }

  get bufferedBytes(): number {
    return this.#bytes;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The close reason once closed with an error. */
  get error(): Error | undefined {
    return this.#error;
  }

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#bytes += this.#o.sizeOf(item);
    if (!this.#paused && this.#bytes > this.#o.highWaterMark) {
      this.#paused = true;
      this.#o.onPause();
    }
    this.#wake();
  }

  /** The next item, or undefined when none is queued. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#bytes -= this.#o.sizeOf(item);
    if (this.#paused && this.#bytes <= this.#o.lowWaterMark) {
      this.#paused = false;
      this.#o.onResume();
    }
    return item;
  }

  /** Resolves when something is pushed or the queue closes. */
  wait(): Promise<void> {
    if (this.#head < this.#items.length || this.#closed) return Promise.resolve();
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** No more pushes; queued items can still be taken unless `drop`. */
  close(error?: Error, drop = false): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#error = error;
    }
    if (drop) {
      this.#items = [];
      this.#head = 0;
      this.#bytes = 0;
      if (this.#paused) {
        this.#paused = false;
        this.#o.onResume();
      }
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}
