/**
 * Following one vbucket's history from a seqno: backfill from the by-seq index, then live
 * changes from the vbucket's checkpoint queue as soon as they are acknowledged (checkpoints.ts),
 * delivered as snapshots. A follower whose cursor is below what memory holds reads the disk
 * first, and goes back to it whenever it falls that far behind (cursor dropping, dcp.md §3.4).
 *
 * The follower pulls: it reads at most `batchSize` items from LMDB when its buffer is empty, so a
 * slow consumer holds back only its own cursor and nothing buffers without bound. `poll` answers
 * at once (null: nothing yet) and `whenChanged` registers one callback for the vbucket's next
 * change, so a consumer that waits between writes (DCP, about 100 ms per vbucket at 10k writes/s)
 * keeps no promise or closure alive that the GC would have to promote; `next` is the same as a
 * promise, for async iteration.
 *
 * Each snapshot is read from one LMDB read transaction, so `[start, end]` is a consistent cut even
 * while writes go on; because the by-seq index keeps one entry per key, a snapshot is deduplicated
 * the way a DCP backfill from couchstore is (shared/specs/dcp.md §3.4). The first snapshot is
 * marked Disk, later ones Memory, as kv_engine's ActiveStream marks backfill and in-memory
 * checkpoints.
 *
 * With `records` (Bucket.followRecords, for DCP) a live document read from disk comes as the
 * record copied (types.ts RecordEvent): no Item, views or BigInt CAS per document (issue #16).
 */
import type { Bucket } from './bucket.js';
import type { VBucket, Endable, ChangeWatcher } from './vbucket.js';
import type { ReadSnapshot, NumberKeyScan } from '../store/lmdb-store.js';
import { decodeRecord, recordCollection, recordDeleted, RecordLayout } from './record.js';
import { bucketCore } from './bucket.js';
import { SYSTEM_COLLECTION_ID } from './manifest.js';
import { readU64, seqKey } from '../store/keys.js';
import { SNAPSHOT_CHECKPOINT, SNAPSHOT_DISK, SNAPSHOT_MEMORY } from './types.js';
import type { CollectionFilter, FollowEndReason, FollowEvent, FollowOptions, Item, RecordEvent } from './types.js';
import { Slab } from '../common/slab.js';

const defaultOnly: CollectionFilter = (c) => c === 0;
/** The filter of the batch being read: readBatch reads synchronously, so one slot serves all. */
let activeFilter: CollectionFilter = defaultOnly;
/** `activeFilter(0)`, decided once per read: most records are the default collection's (format 1). */
let acceptDefault = true;

function useFilter(filter: CollectionFilter): void {
  activeFilter = filter;
  acceptDefault = filter(0);
}
/** Records the filter skipped, across followers (a test proves a filtered backfill skips values). */
export const followerCounters = { skipped: 0, delivered: 0 };
const SKIP = Buffer.alloc(0);
/**
 * Where backfilled records are copied to (common/slab.ts): a batch's records live until its
 * stream has sent them. Small slabs, because a stream waiting on its consumer holds one batch
 * (about 85 KB of 100-byte documents), and each slab it touches stays pinned until it is sent.
 */
const records = new Slab(32 * 1024, 2048);

/**
 * A by-seq record as a backfill reads it: the record's collection is looked at in lmdb-js's
 * shared read buffer, and only a record the filter keeps is copied (lmdb-store.ts bySeqReader).
 */
function filteredRecord(bytes: Buffer, size: number): Buffer {
  // In place, no subarray: the header is read straight off the shared buffer.
  if (!(bytes[0] === RecordLayout.FORMAT ? acceptDefault : activeFilter(recordCollection(bytes)))) return SKIP;
  // `size`, not `bytes.length`: lmdb-js hands over its shared read buffer, whose length is not the record's.
  return records.copy(new Uint8Array(bytes.buffer, bytes.byteOffset, size));
}

/** A live document outside the system collection: what a 'record' event may carry. */
function plainMutation(raw: Buffer): boolean {
  return !recordDeleted(raw) && (raw[0] === RecordLayout.FORMAT || recordCollection(raw) !== SYSTEM_COLLECTION_ID);
}

function filteredBySeq(bucket: Bucket): NumberKeyScan<Buffer> {
  return bucket.store.bySeqReader(bucket.name, filteredRecord);
}

const DEFAULT_BATCH = 512;
/** What a follower buffers: RecordEvents only when made with `records` (Bucket.followRecords). */
type AnyEvent = FollowEvent | RecordEvent;
const NO_EVENTS: AnyEvent[] = [];
const SKIP_READ_FACTOR = 32;

type Phase =
  | { kind: 'idle' }
  | { kind: 'scanning'; snapshot: ReadSnapshot; position: number; snapEnd: number }
  | { kind: 'ending'; reason: FollowEndReason }
  | { kind: 'ended' };

/**
 * `E` is FollowEvent, or FollowEvent | RecordEvent for a follower made with `records`: the events
 * are kept as AnyEvent and handed out as `E`, which the constructor's `records` flag makes true.
 */
export class VbFollower<E extends AnyEvent = FollowEvent> implements AsyncIterable<E>, Endable, ChangeWatcher {
  private cursor: number;
  private readonly endSeqno: number;
  private readonly batchSize: number;
  private phase: Phase = { kind: 'idle' };
  private buffer: AnyEvent[] = [];
  private index = 0;
  private snapshots = 0;
  private lastSource = 0;
  /** Called once at the next change of the vbucket (or the follower's end), then cleared. */
  private onChange: (() => void) | null = null;
  private readonly onAbort = (): void => this.close();
  /**
   * What a memory read keeps: the filter's collections, and of those only collections that still
   * exist (a dropped collection's versions are gone from the disk once purged; memory skips them).
   */
  private readonly keepFromMemory = (item: Item): boolean => {
    const c = item.collection;
    return (this.opts.collections ?? defaultOnly)(c) && (c === SYSTEM_COLLECTION_ID || bucketCore(this.bucket).manifest.hasCollection(c));
  };

  constructor(
    private readonly bucket: Bucket,
    private readonly vb: VBucket,
    private readonly opts: FollowOptions,
    /** Deliver disk mutations as RecordEvents (E includes them). */
    private readonly records = false,
  ) {
    this.cursor = opts.start;
    this.endSeqno = opts.end ?? Infinity;
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH;
    vb.followers.add(this);
    vb.watch(this);
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (opts.signal?.aborted) this.close();
  }

  /** The last seqno this follower has read from storage (items may still sit in its buffer). */
  get position(): number {
    return this.phase.kind === 'scanning' ? this.phase.position : this.cursor;
  }

  get vbucket(): number {
    return this.vb.id;
  }

  /** The next event, or undefined once the follower has ended and its end event was delivered. */
  async next(): Promise<E | undefined> {
    for (;;) {
      const event = this.poll();
      if (event !== null) return event;
      await new Promise<void>((resolve) => this.whenChanged(resolve));
    }
  }

  /**
   * The next event if one can be had now; null when the follower must wait for the vbucket to
   * change (`whenChanged`); undefined once it has ended and its end event was delivered.
   */
  poll(): E | null | undefined {
    for (;;) {
      if (this.index < this.buffer.length) {
        const event = this.buffer[this.index++]!;
        if (this.index === this.buffer.length) this.dropBuffer();
        return event as E;
      }
      const phase = this.phase;
      switch (phase.kind) {
        case 'ended':
          return undefined;
        case 'ending':
          this.finish();
          return { type: 'end', reason: phase.reason } as E;
        case 'scanning':
          this.readBatch(phase);
          continue;
        case 'idle':
          if (this.cursor >= this.endSeqno) {
            this.stop('ok');
            continue;
          }
          if (this.vb.highSeqno > this.cursor) {
            if (!this.vb.checkpoints.covers(this.cursor)) {
              // Behind what memory holds: a disk snapshot, or (nothing left on disk above the
              // cursor: discarded or filtered) straight on to memory.
              this.beginSnapshot();
              continue;
            }
            if (this.readMemory()) continue;
          }
          return null;
      }
    }
  }

  /**
   * The next events in one array (at most one storage batch), as `poll` answers: cheaper than an
   * event at a time for consumers that handle many per turn (DCP). The DCP stream waits with
   * `whenChanged` and one callback of its own, so a wait allocates nothing that outlives it.
   */
  pollBatch(): E[] | null | undefined {
    if (this.index >= this.buffer.length) {
      const first = this.poll();
      if (first === null || first === undefined) return first;
      if (this.index >= this.buffer.length || this.buffer[this.index - 1] !== first) return [first];
      this.index--;
    }
    const out = this.index === 0 ? this.buffer : this.buffer.slice(this.index);
    this.dropBuffer();
    return out as E[];
  }

  /** The next events in one array, waiting for them if need be; undefined once ended. */
  async nextBatch(): Promise<E[] | undefined> {
    for (;;) {
      const batch = this.pollBatch();
      if (batch !== null) return batch;
      await new Promise<void>((resolve) => this.whenChanged(resolve));
    }
  }

  /**
   * Forget the events handed out: a live follower waits about 100 ms between two writes of its
   * vbucket, long enough for events it still referenced to be promoted by the young-generation GC.
   */
  private dropBuffer(): void {
    this.buffer = NO_EVENTS;
    this.index = 0;
  }

  /** `callback` is called once, at the vbucket's next change or the follower's end. */
  whenChanged(callback: () => void): void {
    this.onChange = callback;
  }

  /** The vbucket changed (VBucket.wake): whoever waits may poll again. */
  changed(): void {
    const callback = this.onChange;
    if (callback === null) return;
    this.onChange = null;
    callback();
  }

  /** End the follower from outside (state change, failover, bucket deleted). Buffered items are dropped. */
  end(reason: FollowEndReason): void {
    if (this.phase.kind === 'ended' || this.phase.kind === 'ending') return;
    this.dropBuffer();
    this.stop(reason);
  }

  close(): void {
    this.end('closed');
  }

  private stop(reason: FollowEndReason): void {
    if (this.phase.kind === 'scanning') this.phase.snapshot.release();
    this.phase = { kind: 'ending', reason };
    this.vb.followers.delete(this);
    this.vb.unwatch(this);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.changed();
  }

  private finish(): void {
    this.phase = { kind: 'ended' };
  }

  /** Open a read snapshot and emit its marker; false when there was nothing above the cursor after all. */
  private beginSnapshot(): boolean {
    const snapshot = this.bucket.store.snapshot();
    const last = this.opts.trimSnapshots ? this.lastKept(snapshot) : this.lastAny(snapshot);
    if (last <= this.cursor) {
      // Seqnos up to the memory floor that the index does not have were superseded, discarded or
      // filtered out: catch up to the floor, from where memory has everything.
      snapshot.release();
      this.cursor = Math.max(this.cursor, Math.min(this.vb.checkpoints.floor, this.endSeqno));
      return false;
    }
    const snapEnd = Math.min(last, this.endSeqno);
    this.buffer = [this.marker(SNAPSHOT_DISK, snapEnd)];
    this.index = 0;
    this.phase = { kind: 'scanning', snapshot, position: this.cursor, snapEnd };
    return true;
  }

  /**
   * The next snapshot from the checkpoint queue, buffered with its marker; false when memory has
   * nothing deliverable after the cursor yet.
   */
  private readMemory(): boolean {
    const trim = this.opts.trimSnapshots === true;
    const snap = this.vb.checkpoints.read(this.cursor, this.batchSize, this.endSeqno, this.vb.persistedSeqno, this.keepFromMemory, trim);
    if (snap === null) return false;
    // A legacy stream is not told about snapshots without one of its items (trimSnapshots).
    if (trim && snap.items.length === 0) {
      this.cursor = snap.scanned;
      return true;
    }
    const events: AnyEvent[] = [this.marker(SNAPSHOT_MEMORY, snap.end)];
    this.cursor = snap.scanned;
    for (const item of snap.items) events.push(toEvent(item));
    // What every follower has now read and is persisted need not stay (a held version is
    // delivered once persisted, so the flusher's own trim came before this read).
    this.vb.trimCheckpoints();
    followerCounters.delivered += snap.items.length;
    this.buffer = events;
    this.index = 0;
    return true;
  }

  /**
   * The marker of the next snapshot: the first of a stream starts at the requested start and is a
   * checkpoint, as is the first memory snapshot after a disk one (kv_engine ActiveStream).
   */
  private marker(source: typeof SNAPSHOT_DISK | typeof SNAPSHOT_MEMORY, end: number): FollowEvent {
    const first = this.snapshots === 0;
    const checkpoint = first || (source === SNAPSHOT_MEMORY && this.lastSource === SNAPSHOT_DISK);
    this.snapshots++;
    this.lastSource = source;
    return { type: 'snapshot', start: first ? this.opts.start : this.cursor + 1, end, flags: source | (checkpoint ? SNAPSHOT_CHECKPOINT : 0) };
  }

  /** The vbucket's last seqno above the cursor in this snapshot, or -1. */
  private lastAny(snapshot: ReadSnapshot): number {
    for (const { key } of this.bucket.dbs.bySeq.getRange({
      start: seqKey(this.vb.id, Number.MAX_SAFE_INTEGER),
      end: seqKey(this.vb.id, this.cursor),
      reverse: true,
      limit: 1,
      transaction: snapshot.txn,
    })) {
      return readU64(key, 2);
    }
    return -1;
  }

  /**
   * The last seqno up to the end seqno, above the cursor, whose record the filter keeps, or -1
   * (trimSnapshots). Records passed over on the way down are not copied (filteredBySeq).
   */
  private lastKept(snapshot: ReadSnapshot): number {
    useFilter(this.opts.collections ?? defaultOnly);
    for (const { key, value } of filteredBySeq(this.bucket).getRange({
      start: seqKey(this.vb.id, Math.min(Number.MAX_SAFE_INTEGER, this.endSeqno)),
      end: seqKey(this.vb.id, this.cursor),
      reverse: true,
      transaction: snapshot.txn,
    })) {
      if (value !== SKIP) return key;
    }
    return -1;
  }

  private readBatch(phase: Extract<Phase, { kind: 'scanning' }>): void {
    const events: AnyEvent[] = [];
    let position = phase.position;
    useFilter(this.opts.collections ?? defaultOnly);
    // A batch holds up to batchSize delivered records; skipped ones (not copied) cost little, so
    // one read passes over up to SKIP_READ_FACTOR times as many before it yields.
    const maxRead = this.batchSize * SKIP_READ_FACTOR;
    let read = 0;
    let exhausted = true;
    for (const { key, value } of filteredBySeq(this.bucket).getRange({
      start: seqKey(this.vb.id, phase.position + 1),
      end: seqKey(this.vb.id, phase.snapEnd),
      inclusiveEnd: true,
      transaction: phase.snapshot.txn,
    })) {
      position = key;
      read++;
      if (value === SKIP) {
        followerCounters.skipped++;
      } else {
        followerCounters.delivered++;
        events.push(this.records && plainMutation(value) ? { type: 'record', seqno: position, raw: value } : toEvent(decodeRecord(value, this.vb.id, position)));
      }
      if (events.length >= this.batchSize || read >= maxRead) {
        exhausted = false;
        break;
      }
    }
    this.buffer = events;
    this.index = 0;
    if (exhausted || position >= phase.snapEnd) {
      phase.snapshot.release();
      this.cursor = phase.snapEnd;
      this.phase = { kind: 'idle' };
    } else {
      phase.position = position;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return {
      next: async () => {
        const value = await this.next();
        return value === undefined ? { value: undefined, done: true } : { value, done: false };
      },
      return: async () => {
        this.close();
        this.finish();
        return { value: undefined, done: true };
      },
    };
  }
}

export function toEvent(item: Item): FollowEvent {
  if (!item.deleted) return { type: 'mutation', item };
  return item.expired ? { type: 'expiration', item } : { type: 'deletion', item };
}
