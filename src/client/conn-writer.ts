/**
 * Ordered writes into a stream that respect its backpressure (practice 9; undici's
 * dispatch() -> false + 'drain' contract).
 *
 * Packets go straight into the stream while it accepts them; once `writableNeedDrain`
 * is set, further packets wait here until 'drain', so the stream's own buffer stays near
 * its highWaterMark. Each `write()` promise resolves when its packet was handed to the
 * stream, so a caller that awaits it is paced by the peer. Writes of one tick are
 * coalesced with cork()/uncork().
 */
import type { Duplex } from 'node:stream';

interface QueuedWrite {
  readonly bytes: Buffer;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export interface WriteCounters {
  bytesWritten: number;
  drainWaits: number;
}

export class WriteQueue {
  readonly #stream: Duplex;
  readonly #counters: WriteCounters;
  #queue: QueuedWrite[] = [];
  #waitingDrain = false;
  #corked = false;
  #closed: Error | undefined;

  constructor(stream: Duplex, counters: WriteCounters) {
    this.#stream = stream;
    this.#counters = counters;
  }

  /** Packets waiting in this process for the stream to drain. */
  get length(): number {
    return this.#queue.length;
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) return reject(this.#closed);
      this.#queue.push({ bytes, resolve, reject });
      this.#pump();
    });
  }

  /** Reject queued writes and refuse new ones. */
  close(e: Error): void {
    this.#closed = e;
    const q = this.#queue;
    this.#queue = [];
    for (const w of q) w.reject(e);
  }

  #pump(): void {
    if (this.#waitingDrain) return;
    const s = this.#stream;
    while (this.#queue.length > 0) {
      if (s.writableNeedDrain) {
        this.#waitingDrain = true;
        this.#counters.drainWaits++;
        s.once('drain', () => {
          this.#waitingDrain = false;
          if (this.#closed === undefined) this.#pump();
        });
        return;
      }
      if (!this.#corked) {
        this.#corked = true;
        s.cork();
        process.nextTick(() => {
          this.#corked = false;
          s.uncork();
        });
      }
      const w = this.#queue.shift() as QueuedWrite;
      s.write(w.bytes);
      this.#counters.bytesWritten += w.bytes.length;
      w.resolve();
    }
  }
}
