/**
 * One vbucket's in-memory change queue: kv_engine's checkpoints, reduced to what DCP needs.
 *
 * A write is acknowledged once it is applied in memory (issue #16, dcp.md §3.4): it enters this
 * queue at its seqno, and live DCP streams read it from here at once, without waiting for the
 * flusher. The queue holds every version above `floor` in seqno order; a stream whose cursor is
 * at or above the floor reads memory, one below it backfills from disk first (cursor dropping,
 * dcp.md §3.4: "a slow consumer can be switched back to disk at any time").
 *
 * Memory is bounded twice. Versions not yet on disk stay until the flusher persists them (the
 * bucket refuses writes with TMPFAIL once that backlog passes its limit, bucket-core.ts). Persisted
 * versions are kept only while the queue's bytes stay under `retainBytes`, oldest evicted first;
 * a stream that falls behind that reads the disk, where the same versions are.
 *
 * Deduplication: when a key is written again, the older entry records the newer seqno. A memory
 * snapshot extends to the newer versions of the keys it read (when they are deliverable) and
 * skips the older ones, so a snapshot holds each key once, as a checkpoint does (dcp.md §3.4).
 *
 * Some entries are held: delivered only once persisted. A SyncWrite (durability level that asks
 * for persistence) is not visible until it is durable, and a system event is written by its own
 * transaction; a snapshot ends before the first held entry that is not yet on disk.
 */
import type { Item } from './types.js';
import { Slab } from '../common/slab.js';

/** Entry flags. */
const HELD = 1;
const LOST = 2;
/**
 * Bytes an entry costs beyond its key, value and xattrs: the Item object and the queue's slots.
 * A version not yet on disk costs more: its index operations and encoded record wait in the
 * flusher's queue too (measured: about 1.2 KB a write for 100-byte values, bench dcp memory).
 */
const ENTRY_OVERHEAD = 300;
const DIRTY_OVERHEAD = 1_100;
/**
 * Compact the arrays once this many evicted slots lead them (and they are half the arrays): a
 * bucket has up to 1024 queues, so evicted slots must not pile up in each.
 */
const COMPACT_AT = 64;

/** What a memory snapshot delivers: the versions, and the seqno range it covers. */
export interface MemorySnapshot {
  readonly items: Item[];
  /** First seqno after the cursor the snapshot covers (its marker start). */
  readonly start: number;
  /** Last seqno it covers (its marker end); items may end earlier (deduplicated or filtered). */
  readonly end: number;
  /** Last seqno read from the queue: the follower's cursor after this snapshot. */
  readonly scanned: number;
}

export function entryBytes(item: Item): number {
  return item.value.length + item.key.length + (item.xattrs?.length ?? 0) + ENTRY_OVERHEAD;
}

/** What a version costs until it is on disk (the bucket's TMPFAIL limit counts this). */
export function dirtyBytes(item: Item): number {
  return item.value.length * 2 + item.key.length + (item.xattrs?.length ?? 0) * 2 + DIRTY_OVERHEAD;
}

/**
 * Where versions kept in memory get their bytes (`owned`): slabs of their own (common/slab.ts),
 * filled in write order. A KV value is a subarray of the socket chunk it arrived in
 * (codec/parser.ts) and a key often one of Node's shared 8 KiB pool slabs; a version stays in
 * memory (this queue) long after the request, where such a view would pin the whole chunk or
 * slab, and the slab's neighbours are the write path's short-lived buffers (records, index keys,
 * replies). Measured with a stalled DCP consumer (bench dcp, memory phase), copies into the
 * shared pool pinned about 9x the bytes the retained versions hold. Versions leave the queues
 * roughly in write order, so a slab of their own is freed soon after its last version goes.
 */
const versionBytes = new Slab(64 * 1024, 2048);

/** `buf`, or a copy of it in version memory when it is a small view into a larger buffer. */
export function owned(buf: Buffer): Buffer {
  return buf.buffer.byteLength <= buf.length * 2 ? buf : versionBytes.copy(buf);
}

export class CheckpointQueue {
  #items: Item[] = [];
  /** Per entry: the seqno of the key's next version in the queue, 0 while it is the newest. */
  #superseded: number[] = [];
  #flags: number[] = [];
  #head = 0;
  /**
   * End of the live entries. The three arrays never shrink (`#compact` moves entries down and
   * `push` writes over the freed slots): a vbucket's queue lives for seconds, long enough to be
   * promoted, and each regrowth of a shrunk array was a new backing store that the old-generation
   * queue kept past the next scavenge (issue #16, the delivery p99).
   */
  #tail = 0;
  /** Every seqno at or below this is not (or no longer) in memory: read it from disk. */
  floor: number;
  /** Bytes of the entries in the queue. */
  bytes = 0;

  constructor(floor: number) {
    this.floor = floor;
  }

  get length(): number {
    return this.#tail - this.#head;
  }

  /** Memory holds every version after `cursor`. */
  covers(cursor: number): boolean {
    return cursor >= this.floor;
  }

  /** Append `item` (seqnos only grow); `prevSeqno` is the version it replaces, if any. */
  push(item: Item, prevSeqno: number | undefined, held: boolean): void {
    if (prevSeqno !== undefined && prevSeqno > this.floor) {
      const i = this.#indexOf(prevSeqno);
      if (i >= 0) this.#superseded[i] = item.seqno;
    }
    const at = this.#tail++;
    if (at < this.#items.length) {
      this.#items[at] = item;
      this.#superseded[at] = 0;
      this.#flags[at] = held ? HELD : 0;
    } else {
      this.#items.push(item);
      this.#superseded.push(0);
      this.#flags.push(held ? HELD : 0);
    }
    this.bytes += entryBytes(item);
  }

  /** A version whose write failed: never delivered (the vbucket also gets a failover entry). */
  markLost(seqno: number): void {
    const i = this.#indexOf(seqno);
    if (i >= 0) this.#flags[i]! |= LOST;
  }

  /**
   * Evict persisted entries, oldest first: those at or below `passed` (every follower has read
   * them: kv_engine removes the checkpoints no cursor needs), then more until the queue is within
   * `retainBytes` (for followers still behind). Entries above `persisted` are never evicted: memory
   * is the only place they are. Evicting what every follower has read keeps a version's life short
   * when streams keep up, so the young-generation GC collects it instead of promoting it (issue #16).
   */
  trim(retainBytes: number, persisted: number, passed: number): void {
    const items = this.#items;
    const read = Math.min(persisted, passed);
    while (this.#head < this.#tail) {
      const item = items[this.#head]!;
      if (item.seqno > persisted || (item.seqno > read && this.bytes <= retainBytes)) break;
      this.bytes -= entryBytes(item);
      this.floor = item.seqno;
      items[this.#head] = undefined as unknown as Item; // let the version be collected
      this.#head++;
    }
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#tail) this.#compact();
  }

  /** Forget everything: the vbucket restarts at `seqno` (replica reset, discard, rollback). */
  reset(seqno: number): void {
    this.#items = [];
    this.#superseded = [];
    this.#flags = [];
    this.#head = 0;
    this.#tail = 0;
    this.bytes = 0;
    this.floor = seqno;
  }

  /**
   * The next memory snapshot after `cursor` (which the queue must cover): up to `max` entries,
   * ending before the first held entry above `persisted`, and at `end`. Null when there is nothing
   * deliverable yet. `keep` filters by collection (skipped entries still advance the snapshot).
   */
  read(cursor: number, max: number, end: number, persisted: number, keep: (item: Item) => boolean, trim: boolean): MemorySnapshot | null {
    const items = this.#items;
    const flags = this.#flags;
    const superseded = this.#superseded;
    let i = this.#firstAfter(cursor);
    const from = i;
    let last = -1;
    // Past `max`, the snapshot grows until it holds the newer version of every key it read, so
    // that older versions can be left out and each key appears once (checkpoint deduplication).
    let needed = 0;
    for (let n = 0; i < this.#tail; i++, n++) {
      const item = items[i]!;
      if (n >= max && item.seqno > needed) break;
      if (item.seqno > end) break;
      if ((flags[i]! & (HELD | LOST)) === HELD && item.seqno > persisted) break;
      last = i;
      if (superseded[i]! > needed) needed = superseded[i]!;
    }
    if (last < 0) return null;
    const snapEnd = items[last]!.seqno;
    const out: Item[] = [];
    for (let j = from; j <= last; j++) {
      if ((flags[j]! & LOST) !== 0) continue;
      const next = superseded[j]!;
      if (next !== 0 && next <= snapEnd) continue;
      const item = items[j]!;
      if (keep(item)) out.push(item);
    }
    // A legacy stream's snapshot ends at its last item (follower.ts trimSnapshots).
    const marked = trim && out.length > 0 ? out[out.length - 1]!.seqno : snapEnd;
    return { items: out, start: cursor + 1, end: marked, scanned: snapEnd };
  }

  /** Index of the first entry with a seqno above `seqno`. */
  #firstAfter(seqno: number): number {
    const items = this.#items;
    let lo = this.#head;
    let hi = this.#tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.seqno <= seqno) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #indexOf(seqno: number): number {
    const i = this.#firstAfter(seqno - 1);
    return i < this.#tail && this.#items[i]!.seqno === seqno ? i : -1;
  }

  /**
   * Move the live entries to the front, in place: a vbucket's queue lives for seconds, long enough
   * to be promoted, and a fresh copy at each compaction was promoted in turn while the old one,
   * dead but not yet collected, kept the versions it still referenced alive (issue #16). The
   * vacated item slots are cleared so that they keep no version alive.
   */
  #compact(): void {
    const head = this.#head;
    const tail = this.#tail;
    this.#items.copyWithin(0, head, tail);
    this.#items.fill(undefined as unknown as Item, tail - head, tail);
    this.#superseded.copyWithin(0, head, tail);
    this.#flags.copyWithin(0, head, tail);
    this.#tail = tail - head;
    this.#head = 0;
  }
}
