/**
 * The send loop of a change-feed producer on one connection, shared by DCP (dcp/producer.ts) and
 * TAP (tap/producer.ts): streams with output wait in a round-robin ready queue (ready-queue.ts);
 * each turn writes at most `quantum` messages of one stream, so a backfilling stream cannot starve
 * a live one; the loop sleeps while the host's gate is shut (DCP's flow-control window, a TAP ack
 * awaited) and while the socket is full (`drained`), and yields to the event loop every
 * `yieldEvery` messages so acks, noop replies and other connections get their turn.
 *
 * A stream that ran dry while the gate or the socket was shut is not asked to read ahead until
 * they open again (its read would only sit in memory): it waits in `starved`.
 */
import { ReadyQueue, type Queueable } from './ready-queue.js';

export interface SendStream<M> extends Queueable {
  /** The next message, or null/undefined when its buffer is empty. */
  next(): M | null | undefined;
  hasOutput(): boolean;
  /** Read ahead: the stream calls `SendLoop.ready(this)` when it has output again. */
  pull(): void;
}

export interface SendHost<M> {
  readonly isClosed: boolean;
  /** The gate: false while the peer may not be sent more (the loop sleeps until woken). */
  canSend(): boolean;
  /** The loop found the gate shut and sleeps (counted by DCP as a flow-control pause). */
  gateShut(): void;
  /** Write one message; false when the socket's buffer is full. */
  write(message: M): boolean;
  /** Resolves when the socket's buffer has drained. */
  drained(): Promise<void>;
  /** Nothing is ready: true ends the loop (a TAP dump that is complete). */
  idle(): boolean;
}

export class SendLoop<M, S extends SendStream<M>> {
  readonly #ready = new ReadyQueue<S>();
  #starved: S[] = [];
  #wake: (() => void) | null = null;
  /** Turns in which a stream that claimed output gave none (each one a bug in that stream). */
  stalls = 0;

  constructor(
    private readonly host: SendHost<M>,
    private readonly quantum: number,
    private readonly yieldEvery: number,
  ) {}

  /** `stream` has output: queue it and wake the loop. */
  ready(stream: S): void {
    this.#ready.push(stream);
    this.wake();
  }

  /** The gate may have opened, or the host closed: let the loop look again. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  clear(): void {
    this.#ready.clear();
    this.#starved = [];
    this.wake();
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  async run(): Promise<void> {
    const host = this.host;
    let burst = 0;
    while (!host.isClosed) {
      if (!host.canSend()) {
        host.gateShut();
        await this.#sleep();
        continue;
      }
      // The gate and the socket have room again: let the streams that ran dry read ahead.
      if (this.#starved.length > 0) {
        const starved = this.#starved;
        this.#starved = [];
        for (const s of starved) s.pull();
      }
      const stream = this.#ready.shift();
      if (!stream) {
        if (host.idle()) return;
        await this.#sleep();
        continue;
      }
      let writable = true;
      let sent = 0;
      for (; sent < this.quantum && writable && host.canSend(); sent++) {
        const m = stream.next();
        if (m === null || m === undefined) break;
        writable = host.write(m);
        burst++;
      }
      if (sent === 0 && stream.hasOutput()) {
        // A stream that claims output but gives none (a bug) is dropped from the queue until it
        // calls `ready` again, and the loop yields: queued again at once it would spin this loop
        // without a write, so without ever yielding to the event loop (the whole process hung).
        this.stalls++;
        burst = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (stream.hasOutput()) this.#ready.push(stream);
      else if (writable && host.canSend()) stream.pull();
      else this.#starved.push(stream);
      if (!writable) {
        burst = 0;
        await host.drained();
      } else if (burst >= this.yieldEvery) {
        burst = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
}
