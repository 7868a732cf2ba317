/**
 * Consumer side of DCP flow control (dcp.md §3.6, §4.7).
 *
 * The producer stops sending once `connection_buffer_size` bytes are unacknowledged. The consumer
 * counts each message's full size (24-byte header + framing extras + extras + key + value) only
 * *after* the receiver has finished with it, and sends DCP_BUFFER_ACK once the total passes
 * `threshold x window` (cbdatasource: 0.2 x 20 MB). A slow receiver therefore slows the producer,
 * and what this process holds stays bounded by the window plus one message.
 *
 * cbdatasource counts only data messages, markers and stream ends; the producer counts everything
 * it sends except DCP_NOOP (kv flow-control.md "What messages must be acknowledged"), so a message
 * we skip (unknown opcode, stale stream) must still be counted, or the window leaks shut.
 */
export class FlowControl {
  readonly window: number;
  readonly ackBytes: number;
  #unacked = 0;

  constructor(windowBytes: number, threshold: number) {
    this.window = windowBytes;
    this.ackBytes = windowBytes > 0 ? Math.max(1, Math.floor(windowBytes * threshold)) : 0;
  }

  get enabled(): boolean {
    return this.window > 0;
  }

  /** Bytes processed but not yet acknowledged. */
  get unacked(): number {
    return this.#unacked;
  }

  /** Record a processed message; returns the byte count to acknowledge now, or 0. */
  processed(bytes: number): number {
    if (!this.enabled) return 0;
    this.#unacked += bytes;
    if (this.#unacked < this.ackBytes) return 0;
    const ack = this.#unacked;
    this.#unacked = 0;
    return ack;
  }

  /** A new connection starts with an empty window. */
  reset(): void {
    this.#unacked = 0;
  }
}
