/**
 * Every key's current seqno, one hash table per vbucket, as kv_engine keeps one per vbucket.
 *
 * One table for the whole bucket was rehashed whole, on the event loop, each time it outgrew
 * itself: 95 ms at 1M keys and 260 ms at 2M on this machine, every write and DCP delivery waiting
 * behind it (issue #16, write-to-delivery p99). A vbucket's table holds about 1/1024 of the keys,
 * so its resize is that much shorter. A key's vbucket is a function of the key (the engine refuses
 * a key sent to another vbucket, NOT_MY_VBUCKET), so each key has one home.
 *
 * The tables themselves (key-table.ts) live outside the JavaScript heap.
 */

import { KeyTable, lastReadHint } from './key-table.js';

/**
 * The key directory's tables (see the header), and beside each key's seqno the value `T` attached
 * to it while it has one: the key's version in flight (in-flight.ts), found with the same lookup
 * and kept in a pool array that lives as long as the bucket. A version in flight was first kept
 * in a `Map` of its own, written and deleted on every write. V8 replaces a Map's table every so
 * many insertions and links the old table to the new one (for iterators), so a table that had
 * lived long enough to be promoted kept every later table, and every version they held, alive
 * until the next full GC: half of what a steady write load promoted, and the scavenges that
 * copied it were the write-to-delivery p99 (issue #16).
 */
export class KeySeqnos<T = never> {
  readonly #tables: KeyTable[];
  #size = 0;
  /** Attached values by handle (0 unused), and the handles free for reuse. */
  readonly #pool: Array<T | undefined> = [undefined];
  readonly #free: number[] = [];

  constructor(numVBuckets: number) {
    this.#tables = Array.from({ length: numVBuckets }, () => new KeyTable());
  }

  /** Keys with a seqno, over every vbucket. */
  get size(): number {
    return this.#size;
  }

  get(vb: number, k: string): number | undefined {
    return this.#tables[vb]!.get(k);
  }

  /** Set `k`'s seqno, and the hint of its record (0: none); true when `k` had none. */
  set(vb: number, k: string, seqno: number, hint = 0): boolean {
    if (!this.#tables[vb]!.set(k, seqno, hint)) return false;
    this.#size++;
    return true;
  }

  /** Remove `k`'s seqno; true when it had one. A value attached to `k` stays. */
  delete(vb: number, k: string): boolean {
    if (!this.#tables[vb]!.delete(k)) return false;
    this.#size--;
    return true;
  }

  /** The hint of the seqno the last `read` or `readBytes` answered (0: none; set only then). */
  get hint(): number {
    return lastReadHint();
  }

  /** The value attached to `k` if any, else its seqno if any: one lookup for a read. */
  read(vb: number, k: string): T | number | undefined {
    return this.#tables[vb]!.read(k, this.#pool);
  }

  /** `read` of a default-collection key given as its bytes (the latin1 string of them). */
  readBytes(vb: number, k: Uint8Array): T | number | undefined {
    return this.#tables[vb]!.readBytes(k, this.#pool);
  }

  /** The value attached to `k`, if any. */
  attached(vb: number, k: string): T | undefined {
    const table = this.#tables[vb]!;
    const slot = table.slotOf(k);
    const handle = slot < 0 ? 0 : table.handleAt(slot);
    return handle === 0 ? undefined : this.#pool[handle];
  }

  /** Attach `value` to `k`; what was attached before, if anything. One lookup. */
  attach(vb: number, k: string, value: T): T | undefined {
    const table = this.#tables[vb]!;
    const slot = table.slotFor(k);
    const handle = table.handleAt(slot);
    if (handle !== 0) {
      const before = this.#pool[handle];
      this.#pool[handle] = value;
      return before;
    }
    const fresh = this.#free.pop() ?? this.#pool.push(undefined) - 1;
    this.#pool[fresh] = value;
    table.setHandleAt(slot, fresh);
    return undefined;
  }

  /** Detach what is attached to `k`, only if it is `expected` when given; true when detached. */
  detach(vb: number, k: string, expected?: T): boolean {
    const table = this.#tables[vb]!;
    const slot = table.slotOf(k);
    const handle = slot < 0 ? 0 : table.handleAt(slot);
    if (handle === 0 || (expected !== undefined && this.#pool[handle] !== expected)) return false;
    this.#pool[handle] = undefined;
    this.#free.push(handle);
    table.setHandleAt(slot, 0);
    return true;
  }

  /** The keys with a seqno of vbucket `vb` (unordered). */
  keysOf(vb: number): IterableIterator<string> {
    return this.#tables[vb]!.keys();
  }

  /** Every key with a seqno, vbucket by vbucket (unordered: id-index.ts sorts them). */
  *keys(): IterableIterator<string> {
    for (const table of this.#tables) yield* table.keys();
  }
}
