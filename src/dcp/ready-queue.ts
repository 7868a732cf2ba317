/**
 * The producer's round-robin queue of streams that have something to send (kv_engine's
 * `DcpReadyQueue`, engines/ep/src/dcp/ready-queue.h): FIFO, each stream at most once, O(1) at both
 * ends. Bounded by the number of streams on the connection.
 */
export interface Queueable {
  queued: boolean;
}

export class ReadyQueue<T extends Queueable> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Append unless already queued. */
  push(item: T): void {
    if (item.queued) return;
    item.queued = true;
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (item) item.queued = false;
    return item;
  }

  clear(): void {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item) item.queued = false;
    }
    this.items = [];
    this.head = 0;
  }
}
