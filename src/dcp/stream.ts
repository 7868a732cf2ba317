/**
 * One DCP stream of a producer: a vbucket's history from a seqno, read through an engine
 * follower and turned into DCP messages carrying the stream's opaque (and stream id).
 *
 * States (kv_engine ActiveStream, engines/ep/src/dcp/active_stream.cc; stats show these names):
 *
 *   pending ──activate──> backfilling ──first disk snapshot done──> in-memory
 *      │                       │                                       │
 *      └───────────────────────┴──── end (ok, closed, state changed, rollback) ──> ending ──STREAM_END sent──> dead
 *   (a close without STREAM_END, or the connection going away, goes straight to dead)
 *
 * `pending` lasts until the STREAM_REQ reply is on the wire, so no message can overtake it.
 * The stream holds at most one follower batch (the follower reads storage only when asked), so a
 * slow consumer costs one batch per stream, never an unbounded queue. Deduplication is the
 * follower's: each snapshot is one consistent read of the by-seq index, which keeps one entry
 * per key (dcp.md §3.4).
 *
 * The stream also registers itself with the vbucket as something to end from outside, so a
 * failover or state change drops the batch it holds (items that may just have been discarded)
 * and sends STREAM_END at once instead of after that batch.
 *
 * Collections (kv ActiveStream with a Collections::VB::Filter; collection-filter.ts): the follower
 * reads only the filter's collections (and system events, which become DCP_SYSTEM_EVENT when the
 * filter passes them). Where the last seqnos of a snapshot were filtered out:
 * - collection-aware streams close the gap with DCP_SEQNO_ADVANCED; an in-memory snapshot that
 *   holds nothing for the stream is not sent at all, its marker held back until a first message
 *   of the snapshot needs it (kv ActiveStream::processItems sends no marker for an empty one);
 * - legacy streams cannot be told about a gap, so their follower ends each snapshot at the last
 *   default-collection record (`trimSnapshots`; kv markLegacyDiskSnapshot and the in-memory
 *   snapshot ending at its last item).
 * A stream whose filter became empty (its collections or scope dropped) sends the drop and then
 * STREAM_END FilterEmpty.
 */
import { StreamEndReason } from '../codec/dcp/stream-end.js';
import type { Bucket } from '../engine/bucket.js';
import { systemEventOf } from '../engine/bucket-collections.js';
import { SYSTEM_COLLECTION_ID, type Manifest } from '../engine/manifest.js';
import type { VbFollower } from '../engine/follower.js';
import type { VBucket, Endable } from '../engine/vbucket.js';
import { SNAPSHOT_CHECKPOINT, SNAPSHOT_DISK, SNAPSHOT_MEMORY } from '../engine/types.js';
import type { FollowEndReason, FollowEvent, Item, RecordEvent } from '../engine/types.js';
import { StreamCollectionFilter } from './collection-filter.js';
import { MessageBuilder } from './messages.js';
import type { Queueable } from './ready-queue.js';
import type { AcceptedStream } from './stream-request.js';
import { itemsRemaining, type StreamHost, type StreamState } from './stream-state.js';

/** What a stream's follower delivers: backfilled mutations as their records (Bucket.followRecords). */
type StreamEvent = FollowEvent | RecordEvent;
/** The empty batch (never written to): a stream between batches holds no array of its own. */
const NO_EVENTS: readonly StreamEvent[] = [];

/** Engine end reasons that end just the stream, with the STREAM_END reason the consumer gets. */
const END_REASONS: Partial<Record<FollowEndReason, number>> = {
  ok: StreamEndReason.Ok,
  state_changed: StreamEndReason.StateChanged,
  rollback: StreamEndReason.Rollback,
};

export class ProducerStream implements Queueable, Endable {
  queued = false;
  state: StreamState = { kind: 'pending' };
  readonly messages: MessageBuilder;
  readonly filter: StreamCollectionFilter;
  private follower: VbFollower<StreamEvent> | null = null;
  private batch: readonly StreamEvent[] = NO_EVENTS;
  private index = 0;
  private fetching = false;
  private firstMarker = true;
  private snapshotEnd = 0;
  private inInitialDisk = false;
  private advancedTo = 0;
  /** A collection-aware stream's in-memory marker, sent only before the snapshot's first message. */
  private pendingMarker: Buffer | null = null;
  /** A message that waits while the pending marker goes out first. */
  private held: Buffer | null = null;
  // counters for `stats dcp` (names as kv's stream stats)
  lastSentSeqno: number;
  backfillItems = 0;
  memoryItems = 0;
  markersSent = 0;
  seqnoAdvancesSent = 0;
  /** Disk snapshots after the first: the follower fell below the checkpoint queue (cursor dropped, dcp.md §3.4). */
  cursorDrops = 0;

  constructor(
    private readonly host: StreamHost,
    private readonly bucket: Bucket,
    private readonly vb: VBucket,
    readonly params: AcceptedStream,
    private readonly batchSize: number,
  ) {
    this.messages = new MessageBuilder(host.settings, {
      opaque: params.opaque,
      vbucket: params.vbucket,
      ...(params.streamId === undefined ? {} : { streamId: params.streamId }),
    });
    this.lastSentSeqno = params.start;
    this.filter = new StreamCollectionFilter(bucket, params.filter.spec);
    vb.followers.add(this);
  }

  get vbucket(): number {
    return this.params.vbucket;
  }

  get streamId(): number | undefined {
    return this.params.streamId;
  }

  /** Active in kv's sense: a new request for the same vbucket must wait until this one ends. */
  get active(): boolean {
    return this.state.kind !== 'ending' && this.state.kind !== 'dead';
  }

  /**
   * Seqnos this stream has still to send: up to the vbucket's high seqno (or the stream's end),
   * past the last one sent (kv's `items_remaining`, ActiveStream::getItemsRemaining). A consumer
   * that does not keep up (or does not ack its flow-control window) shows here as a growing gap.
   * Seqnos of changes to the same key are collapsed when sent, so this is an upper bound.
   */
  get itemsRemaining(): number {
    return itemsRemaining(this.state.kind, this.vb.highSeqno, this.params.end, this.lastSentSeqno);
  }

  /** The last seqno the follower read from storage. */
  get lastReadSeqno(): number {
    return this.follower?.position ?? this.params.start;
  }

  /** The reply is on the wire: start reading. */
  activate(): void {
    if (this.state.kind !== 'pending') return;
    if (this.vb.state !== 'active') return this.beginEnd(StreamEndReason.StateChanged);
    const backfill = this.params.start < this.params.persistedAtStart;
    this.state = backfill ? { kind: 'backfilling' } : { kind: 'in-memory' };
    this.follower = this.bucket.followRecords(this.vb.id, {
      start: this.params.start,
      end: this.params.end,
      batchSize: this.batchSize,
      collections: this.filter.reads,
      trimSnapshots: this.filter.legacy,
    });
    this.pull();
  }

  hasOutput(): boolean {
    // A closed stream has nothing more to send, whatever its snapshot still lacked (a seqno
    // advance is due only to a live stream): the send loop would queue it forever.
    if (this.state.kind === 'dead' || this.state.kind === 'pending') return this.held !== null;
    return this.held !== null || this.state.kind === 'ending' || this.index < this.batch.length || this.advanceDue();
  }

  /**
   * Ask the follower for the next batch unless one is on its way or the stream is over. The batch
   * is read now and handed to the send loop in a microtask; when the follower has nothing yet, the
   * stream waits with its one `refetch` callback (no promise kept per wait, vbucket.ts).
   */
  pull(): void {
    const follower = this.follower;
    if (this.fetching || !follower || !this.active || this.index < this.batch.length) return;
    this.fetching = true;
    let batch: StreamEvent[] | null | undefined;
    try {
      batch = follower.pollBatch();
    } catch (err: unknown) {
      queueMicrotask(() => this.fetchFailed(err));
      return;
    }
    if (batch === null) follower.whenChanged(this.refetch);
    else queueMicrotask(() => this.fetched(batch));
  }

  /** The vbucket changed while the follower had nothing: read again once the writer's turn is done. */
  private readonly refetch = (): void => queueMicrotask(this.pullAgain);
  private readonly pullAgain = (): void => {
    this.fetching = false;
    this.pull();
  };

  private fetched(batch: StreamEvent[] | undefined): void {
    this.fetching = false;
    if (!this.active || batch === undefined) return;
    this.batch = batch;
    this.index = 0;
    this.host.streamReady(this);
  }

  private fetchFailed(err: unknown): void {
    this.fetching = false;
    if (!this.active) return;
    this.host.streamFailed(this, err);
    this.beginEnd(StreamEndReason.BackfillFail);
  }

  /** The next message to send, an encoded frame, or null when the stream has nothing ready. */
  next(): Buffer | null {
    for (;;) {
      if (this.held) {
        const frame = this.held;
        this.held = null;
        return frame;
      }
      const state = this.state;
      if (state.kind === 'ending') {
        this.finish(state.reason);
        return this.messages.streamEnd(state.reason);
      }
      if (state.kind === 'pending' || state.kind === 'dead') return null;
      const event = this.batch[this.index];
      // A seqno gap at the end of a snapshot is closed before the next marker or the stream end.
      if (this.advanceDue()) return this.seqnoAdvanced();
      if (event === undefined) {
        // kv: the stream leaves `backfilling` once the disk snapshot has been sent.
        if (state.kind === 'backfilling' && this.snapshotRead()) this.state = { kind: 'in-memory' };
        return null;
      }
      // The last event taken, the batch goes at once: the stream may wait a write of its vbucket
      // (about 100 ms at 10k writes/s over 1024) before it is asked again, long enough for the
      // young-generation GC to promote every version the batch still held (issue #16).
      if (++this.index === this.batch.length) this.dropBatch();
      const frame = this.toFrame(event);
      if (frame) return frame;
    }
  }

  /** Engine-initiated end (Endable): failover, state change, bucket deletion, shutdown. */
  end(reason: FollowEndReason): void {
    if (!this.active) return;
    const code = END_REASONS[reason];
    if (code === undefined) {
      this.finish(null);
      this.host.bucketGone(reason);
      return;
    }
    this.beginEnd(code);
  }

  /** Consumer-initiated close: STREAM_END(Closed) follows only if the consumer asked for it. */
  close(sendStreamEnd: boolean): void {
    if (!this.active) return;
    if (sendStreamEnd) this.beginEnd(StreamEndReason.Closed);
    else this.finish(null);
  }

  /** The bucket's manifest changed: a legacy stream whose `_default` was dropped ends (FilterEmpty). */
  manifestChanged(m: Manifest): void {
    if (!this.active) return;
    this.filter.manifestChanged(m);
    if (this.filter.empty) this.beginEnd(StreamEndReason.FilterEmpty);
  }

  /** The connection went away: release everything, send nothing. */
  drop(): void {
    if (this.state.kind !== 'dead') this.finish(StreamEndReason.Disconnected, false);
  }

  private beginEnd(reason: number): void {
    this.dropBatch();
    this.held = null;
    this.pendingMarker = null;
    this.release();
    this.state = { kind: 'ending', reason };
    this.host.streamReady(this);
  }

  private finish(reason: number | null, notify = true): void {
    this.dropBatch();
    this.held = null;
    this.pendingMarker = null;
    this.release();
    this.state = { kind: 'dead', reason };
    if (notify) this.host.streamFinished(this);
  }

  private release(): void {
    this.vb.followers.delete(this);
    this.follower?.close();
  }

  private toFrame(event: StreamEvent): Buffer | null {
    switch (event.type) {
      case 'snapshot':
        return this.marker(event.start, event.end, event.flags);
      case 'record':
        return this.item(event.seqno, this.messages.storedMutation(event.raw, event.seqno));
      case 'mutation':
        if (event.item.collection === SYSTEM_COLLECTION_ID) return this.systemEvent(event.item);
        return this.item(event.item.seqno, this.messages.mutation(event.item));
      case 'deletion':
        if (event.item.collection === SYSTEM_COLLECTION_ID) return this.systemEvent(event.item);
        return this.skipDeletion() ? null : this.item(event.item.seqno, this.messages.deletion(event.item));
      case 'expiration':
        return this.skipDeletion() ? null : this.item(event.item.seqno, this.messages.expiration(event.item));
      case 'end': {
        this.pendingMarker = null;
        const code = END_REASONS[event.reason];
        if (code === undefined) {
          this.finish(null);
          this.host.bucketGone(event.reason);
        } else {
          this.state = { kind: 'ending', reason: code };
        }
        return null;
      }
    }
  }

  /** A system event the filter passes; an emptied filter ends the stream right after it (kv FilterEmpty). */
  private systemEvent(item: Item): Buffer | null {
    const info = systemEventOf(item);
    const frame = this.filter.systemEvent(info) ? this.item(item.seqno, this.messages.systemEvent(item, info)) : null;
    if (this.filter.empty) {
      this.dropBatch();
      this.release();
      this.state = { kind: 'ending', reason: StreamEndReason.FilterEmpty };
    }
    return frame;
  }

  private marker(start: number, end: number, followerFlags: number): Buffer | null {
    let flags = followerFlags;
    if (this.firstMarker) {
      // kv markDiskSnapshot: the first marker starts at the consumer's snapshot start, because the
      // stream may resume a snapshot the consumer was in the middle of.
      start = Math.min(start, this.params.snapStart);
      // Nothing below the persisted seqno was asked for: this is live data, not a backfill.
      if (this.state.kind === 'in-memory') flags = SNAPSHOT_MEMORY | SNAPSHOT_CHECKPOINT;
      this.inInitialDisk = (flags & SNAPSHOT_DISK) !== 0;
      this.firstMarker = false;
    } else {
      this.inInitialDisk = false;
      if ((flags & SNAPSHOT_DISK) !== 0) this.cursorDrops++;
      if (this.state.kind === 'backfilling') this.state = { kind: 'in-memory' };
    }
    this.snapshotEnd = end;
    const marker = this.messages.marker(start, end, flags, this.vb.purgeSeqno);
    if (!this.filter.legacy && this.markersSent > 0) {
      // Sent before the snapshot's first message, or never (a later marker replaces it).
      this.pendingMarker = marker;
      return null;
    }
    this.pendingMarker = null;
    this.markersSent++;
    return marker;
  }

  private item(seqno: number, frame: Buffer): Buffer {
    if (this.pendingMarker) {
      // Its own copy: a frame cut from a send slab must not pin the slab while the window is shut.
      this.held = Buffer.from(frame);
      frame = this.pendingMarker;
      this.pendingMarker = null;
      this.markersSent++;
    }
    this.lastSentSeqno = seqno;
    if (this.inInitialDisk) this.backfillItems++;
    else this.memoryItems++;
    return frame;
  }

  /** Open flag SkipDeletesInInitialBackfill: no deletions in the disk snapshot of a stream from 0. */
  private skipDeletion(): boolean {
    return this.host.settings.skipDeletesInInitialBackfill && this.inInitialDisk && this.params.start === 0;
  }

  /**
   * DCP_SEQNO_ADVANCED is due when a snapshot was read to its end but its last seqno was not
   * sent (deduplicated away below an end seqno, or a skipped delete), on collection-aware
   * connections only (kv ActiveStream::isSeqnoAdvancedEnabled / isSeqnoGapAtEndOfSnapshot).
   */
  /** The follower has read the current snapshot to its end. */
  private snapshotRead(): boolean {
    return this.markersSent > 0 && this.follower !== null && this.follower.position >= this.snapshotEnd;
  }

  private dropBatch(): void {
    this.batch = NO_EVENTS;
    this.index = 0;
  }

  private advanceDue(): boolean {
    if (!this.host.settings.collections || this.pendingMarker !== null || !this.snapshotRead()) return false;
    if (this.snapshotEnd <= this.lastSentSeqno || this.snapshotEnd <= this.advancedTo) return false;
    // Batches hold either one marker, items of one snapshot, or the end event: the snapshot's
    // items are all sent once nothing but a marker or the end is left.
    const pending = this.batch[this.index];
    return pending === undefined || pending.type === 'snapshot' || pending.type === 'end';
  }

  private seqnoAdvanced(): Buffer {
    this.advancedTo = this.snapshotEnd;
    this.lastSentSeqno = this.snapshotEnd;
    this.seqnoAdvancesSent++;
    return this.messages.seqnoAdvanced(this.snapshotEnd);
  }
}
