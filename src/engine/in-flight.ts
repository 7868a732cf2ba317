/**
 * The versions written but not yet on disk, by vbucket and key (latin1 of the key bytes), attached
 * to the key's entry in the key directory (key-seqnos.ts, `VersionHome`): kv_engine's hash table
 * in front of its flusher. The next operation on a key sees its in-flight version, so a
 * read-check-write stays atomic while the group commit runs.
 *
 * A failed commit (full disk, storage-fault.ts) must undo what it promised: each in-flight
 * version links to the one it replaced, so the key can go back to the newest version that was
 * not lost — on disk, or still in flight — and reads never see a value that was never stored.
 * The links are plain fields, not weak collections (ephemerons cost every GC on this hot path),
 * and a version cuts its link once settled, so a chain spans in-flight versions and one more.
 * That one more, when it is on disk and replaced by a plain write, is kept as its seqno only
 * (`OnDisk`), and its record is read again if needed: a read reaches it only past a write that was
 * lost, and a rollback only needs its seqno; either way the write that would have removed the
 * record never committed. Holding the decoded version kept it alive for the whole flush, long
 * enough for the young-generation GC to promote it: a quarter of what plain SETs promoted
 * (issue #16, server memory under load).
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
  prev: InFlightVersion | OnDisk | undefined;
  state: typeof UNSETTLED | typeof SETTLED | typeof LOST;
  /** A SyncWrite: invisible to reads until settled. */
  readonly sync: boolean;
}

/** The on-disk version an in-flight one replaced: its by-seq record is read again when needed. */
export interface OnDisk {
  readonly seqno: number;
  readonly state: typeof SETTLED;
  readonly item?: undefined;
}

/**
 * What a read of a key finds (key-directory.ts `current`): a version in flight, null for none,
 * the seqno of the on-disk record to read, or undefined when the key is not in the directory.
 */
export type InFlightRead = Item | null | number | undefined;

/** What a rolled-back key now holds: `survivor` (a seqno) undefined when no version of it survives. */
export type RollBack = { readonly survivor: number | undefined } | null;

/**
 * What reads see of a key whose version `v` is in flight: that version, or for a SyncWrite in
 * progress the newest surviving one before it (null: none; a number: the on-disk one's seqno).
 */
export function readOf(v: InFlightVersion): Item | null | number {
  if (!v.sync || v.state !== UNSETTLED) return v.item;
  let back = v.prev;
  while (back?.item !== undefined && (back.state === LOST || (back.sync && back.state === UNSETTLED))) back = back.prev;
  return back === undefined ? null : 'seqno' in back ? back.seqno : back.item;
}

/** Where each key's in-flight version is kept (key-seqnos.ts KeySeqnos). */
export interface VersionHome {
  attached(vb: number, k: string): InFlightVersion | undefined;
  /** Attach `v` to the key; what was attached before. */
  attach(vb: number, k: string, v: InFlightVersion): InFlightVersion | undefined;
  /** Detach the key's version, only if it is `expected` when given. */
  detach(vb: number, k: string, expected?: InFlightVersion): boolean;
}

export class InFlightVersions {
  constructor(private readonly home: VersionHome) {}

  /** A SyncWrite of the key is waiting for the disk. */
  syncInProgress(vb: number, pkey: string): boolean {
    const v = this.home.attached(vb, pkey);
    return v !== undefined && v.sync && v.state === UNSETTLED;
  }

  /** `item` was queued for the disk, replacing `prev` (the key's version until now, if any). */
  add(pkey: string, item: Item, prev: Item | undefined, sync = false): InFlightVersion {
    const v: InFlightVersion = { item, prev: undefined, state: UNSETTLED, sync };
    // One lookup attaches the version and hands back the one in flight before it, if any.
    const current = this.home.attach(item.vbucket, pkey, v);
    if (prev === undefined) return v;
    if (current !== undefined && current.item === prev) v.prev = current;
    // A SyncWrite keeps the version itself: reads see it until the SyncWrite is on disk, and
    // once the batch commits (before its fsync) a renewed read snapshot no longer has it.
    else v.prev = sync ? { item: prev, prev: undefined, state: SETTLED, sync: false } : { seqno: prev.seqno, state: SETTLED };
    return v;
  }

  /** `v` is on disk (or committed): reads go to the disk again unless a newer one is in flight. */
  settle(pkey: string, v: InFlightVersion): void {
    v.state = SETTLED;
    v.prev = undefined;
    this.home.detach(v.item.vbucket, pkey, v);
  }

  /**
   * `v`'s transaction was aborted. Null when a newer version of the key is in flight (it stays
   * the key's version); otherwise the newest surviving version, which the caller makes current.
   */
  rollBack(pkey: string, v: InFlightVersion): RollBack {
    v.state = LOST;
    const vb = v.item.vbucket;
    if (this.home.attached(vb, pkey) !== v) return null;
    let back = v.prev;
    while (back?.item !== undefined && back.state === LOST) back = back.prev;
    if (back?.item !== undefined && back.state === UNSETTLED) this.home.attach(vb, pkey, back);
    else this.home.detach(vb, pkey);
    return { survivor: back === undefined ? undefined : 'seqno' in back ? back.seqno : back.item.seqno };
  }
}
