/**
 * Every key's current seqno, one Map per vbucket, as kv_engine keeps one hash table per vbucket.
 *
 * One Map for the whole bucket was rehashed whole, on the event loop, each time it outgrew its
 * table: 95 ms at 1M keys and 260 ms at 2M on this machine, every write and DCP delivery waiting
 * behind it (issue #16, write-to-delivery p99). A vbucket's Map holds about 1/1024 of the keys,
 * so its resize is that much shorter. A key's vbucket is a function of the key (the engine refuses
 * a key sent to another vbucket, NOT_MY_VBUCKET), so each key has one home.
 */
export class KeySeqnos {
  readonly #maps: Array<Map<string, number>>;
  #size = 0;

  constructor(numVBuckets: number) {
    this.#maps = Array.from({ length: numVBuckets }, () => new Map<string, number>());
  }

  /** Keys in the directory, over every vbucket. */
  get size(): number {
    return this.#size;
  }

  get(vb: number, k: string): number | undefined {
    return this.#maps[vb]!.get(k);
  }

  /** Set `k`'s seqno; true when `k` is new. */
  set(vb: number, k: string, seqno: number): boolean {
    const map = this.#maps[vb]!;
    const known = map.size;
    map.set(k, seqno);
    if (map.size === known) return false;
    this.#size++;
    return true;
  }

  /** Remove `k`; true when it was there. */
  delete(vb: number, k: string): boolean {
    if (!this.#maps[vb]!.delete(k)) return false;
    this.#size--;
    return true;
  }

  /** Every key, vbucket by vbucket (unordered: id-index.ts sorts them). */
  *keys(): IterableIterator<string> {
    for (const map of this.#maps) yield* map.keys();
  }
}
