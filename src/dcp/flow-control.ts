/**
 * Connection-level DCP flow control: kv_engine's `DcpProducer::BufferLog`
 * (engines/ep/src/dcp/producer.cc; docs/dcp/documentation/flow-control.md; dcp.md §3.6).
 *
 * Off until the consumer sends `connection_buffer_size=N` with N > 0. Every message the producer
 * sends except DCP_NOOP adds its full wire size to `unacked`; DCP_BUFFER_ACKNOWLEDGEMENT(n)
 * subtracts n. A message may be sent while `unacked < N`, so the last one may overshoot the
 * window (a 20 MB item exceeds any window); at or above N the producer pauses until an ack.
 * Setting the size to 0 disables flow control and forgets the outstanding count (kv
 * `setBufferSize`).
 */
export class BufferLog {
  private maxBytes = 0;
  private unackedBytes = 0;
  private ackedBytes = 0;
  /** Times the producer found the window full (stats: flow-control pauses). */
  pauses = 0;

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get size(): number {
    return this.maxBytes;
  }

  get unacked(): number {
    return this.unackedBytes;
  }

  get totalAcked(): number {
    return this.ackedBytes;
  }

  /** True when nothing more may be sent until the consumer acknowledges. */
  get full(): boolean {
    return this.maxBytes > 0 && this.unackedBytes >= this.maxBytes;
  }

  setBufferSize(bytes: number): void {
    this.maxBytes = bytes;
    if (bytes === 0) {
      this.unackedBytes = 0;
      this.ackedBytes = 0;
    }
  }

  /** Account for a message just sent (no-op while disabled, as in kv). */
  sent(bytes: number): void {
    if (this.maxBytes > 0) this.unackedBytes += bytes;
  }

  /**
   * The consumer acknowledged `bytes`. Returns true if this reopened a full window. An ack of more
   * than is outstanding clamps to zero (kv logs it and carries on).
   */
  acknowledge(bytes: number): boolean {
    if (this.maxBytes === 0) return false;
    const wasFull = this.full;
    this.unackedBytes = Math.max(0, this.unackedBytes - bytes);
    this.ackedBytes += bytes;
    return wasFull && !this.full;
  }
}
