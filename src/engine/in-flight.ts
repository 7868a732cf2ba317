/**
 * The versions written but not yet on disk, by key (latin1 of the key bytes): kv_engine's hash
 * table in front of its flusher. The next operation on a key sees its in-flight version, so a
 * read-check-write stays atomic while the group commit runs.
 *
 * A failed commit (full disk, storage-fault.ts) must undo what it promised: each in-flight
 * version remembers the one it replaced, so the key can go back to the newest version that was
 * not lost — on disk, or still in flight — and reads never see a value that was never stored.
 */
import type { Item } from './types.js';

/** What a rolled-back key now holds: `undefined` when no version of it survives. */
export type RollBack = { readonly survivor: Item | undefined } | null;

export class InFlightVersions {
  readonly #pending = new Map<string, Item>();
  /** For a failed write's rollback: the version each in-flight one replaced, which ones failed. */
  readonly #replaced = new WeakMap<Item, Item>();
  readonly #unsettled = new WeakSet<Item>();
  readonly #lost = new WeakSet<Item>();

  /** The in-flight version of a key, if any. */
  get(pkey: string): Item | undefined {
    return this.#pending.get(pkey);
  }

  /** `item` was queued for the disk, replacing `prev`. */
  add(pkey: string, item: Item, prev: Item | undefined): void {
    this.#pending.set(pkey, item);
    if (prev) this.#replaced.set(item, prev);
    this.#unsettled.add(item);
  }

  /** `item` is on disk (or committed): reads go to the disk again unless a newer one is in flight. */
  settle(pkey: string, item: Item): void {
    this.#unsettled.delete(item);
    if (this.#pending.get(pkey) === item) this.#pending.delete(pkey);
  }

  /**
   * `item`'s transaction was aborted. Null when a newer version of the key is in flight (it stays
   * the key's version); otherwise the newest surviving version, which the caller makes current.
   */
  rollBack(pkey: string, item: Item): RollBack {
    this.#unsettled.delete(item);
    this.#lost.add(item);
    if (this.#pending.get(pkey) !== item) return null;
    let back = this.#replaced.get(item);
    while (back && this.#lost.has(back)) back = this.#replaced.get(back);
    if (back && this.#unsettled.has(back)) this.#pending.set(pkey, back);
    else this.#pending.delete(pkey);
    return { survivor: back };
  }
}
