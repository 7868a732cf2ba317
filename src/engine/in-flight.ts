/**
 * The versions written but not yet on disk, by key (latin1 of the key bytes): kv_engine's hash
 * table in front of its flusher. The next operation on a key sees its in-flight version, so a
 * read-check-write stays atomic while the group commit runs.
 *
 * A failed commit (full disk, storage-fault.ts) must undo what it promised: each in-flight
 * version links to the one it replaced, so the key can go back to the newest version that was
 * not lost — on disk, or still in flight — and reads never see a value that was never stored.
 * The links are plain fields, not weak collections (ephemerons cost every GC on this hot path),
 * and a version cuts its link once settled, so a chain spans in-flight versions and one more.
 *
 * A SyncWrite (types.ts WriteMode `sync`) is in flight too, but reads do not see it until it is on
 * disk: they get the version before it, as kv_engine's readers see the committed value while a
 * prepare is pending (docs/SyncWrites.md), and writers get SYNC_WRITE_IN_PROGRESS (bucket-core.ts).
 */
import type { Item } from './types.js';

const UNSETTLED = 0;
const SETTLED = 1;
const LOST = 2;

/** One write's version while its batch is in flight; the handle `add` returns. */
export interface InFlightVersion {
  readonly item: Item;
  /** The version this one replaced (cut once this one is settled). */
  prev: InFlightVersion | undefined;
  state: typeof UNSETTLED | typeof SETTLED | typeof LOST;
  /** A SyncWrite: invisible to reads until settled. */
  readonly sync: boolean;
}

/** What a rolled-back key now holds: `survivor` undefined when no version of it survives. */
export type RollBack = { readonly survivor: Item | undefined } | null;

export class InFlightVersions {
  readonly #pending = new Map<string, InFlightVersion>();

  /**
   * What reads of a key see while it has a version in flight: that version, or for a SyncWrite in
   * progress the newest surviving one before it (null: none). Undefined when nothing is in flight.
   */
  get(pkey: string): Item | null | undefined {
    const v = this.#pending.get(pkey);
    if (v === undefined) return undefined;
    if (!v.sync || v.state !== UNSETTLED) return v.item;
    let back = v.prev;
    while (back !== undefined && (back.state === LOST || (back.sync && back.state === UNSETTLED))) back = back.prev;
    return back?.item ?? null;
  }

  /** A SyncWrite of the key is waiting for the disk. */
  syncInProgress(pkey: string): boolean {
    const v = this.#pending.get(pkey);
    return v !== undefined && v.sync && v.state === UNSETTLED;
  }

  /** `item` was queued for the disk, replacing `prev` (the key's version until now, if any). */
  add(pkey: string, item: Item, prev: Item | undefined, sync = false): InFlightVersion {
    // A create (no prev) has nothing in flight to link to: the key's in-flight version would
    // have been its prev. That spares the map lookup on the most common write of a load.
    let before: InFlightVersion | undefined;
    if (prev !== undefined) {
      const current = this.#pending.get(pkey);
      before = current !== undefined && current.item === prev ? current : { item: prev, prev: undefined, state: SETTLED, sync: false };
    }
    const v: InFlightVersion = { item, prev: before, state: UNSETTLED, sync };
    this.#pending.set(pkey, v);
    return v;
  }

  /** `v` is on disk (or committed): reads go to the disk again unless a newer one is in flight. */
  settle(pkey: string, v: InFlightVersion): void {
    v.state = SETTLED;
    v.prev = undefined;
    if (this.#pending.get(pkey) === v) this.#pending.delete(pkey);
  }

  /**
   * `v`'s transaction was aborted. Null when a newer version of the key is in flight (it stays
   * the key's version); otherwise the newest surviving version, which the caller makes current.
   */
  rollBack(pkey: string, v: InFlightVersion): RollBack {
    v.state = LOST;
    if (this.#pending.get(pkey) !== v) return null;
    let back = v.prev;
    while (back !== undefined && back.state === LOST) back = back.prev;
    if (back !== undefined && back.state === UNSETTLED) this.#pending.set(pkey, back);
    else this.#pending.delete(pkey);
    return { survivor: back?.item };
  }
}
