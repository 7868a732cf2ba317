/**
 * One vbucket of a TAP connection: its history read through an engine follower and turned into
 * TAP messages (not yet framed: the producer stamps each with the connection's TAP seqno and the
 * ACK flag when it writes it). Default collection only: TAP predates collections, and a follower
 * without a collection filter delivers only `_default` (kv docs/Collections.md, legacy clients).
 *
 * Phases, as ep-engine's TapProducer runs a vbucket (tap_connection.cc):
 *   backfill: TAP_OPAQUE INITIAL_VBUCKET_STREAM, the items up to the high seqno at connect time,
 *             TAP_OPAQUE CLOSE_BACKFILL (scheduleBackfill / completeBackfill). An empty vbucket
 *             still gets the two opaques, as ep-engine backfills every vbucket of the filter.
 *   live:     later changes as they are persisted (ep-engine's checkpoint cursor).
 *   done:     a DUMP connection's vbucket after its backfill (the connection closes once all are).
 * A future-only connection, or a registered client resuming its cursor, starts live.
 *
 * With CHECKPOINT, every follower snapshot is wrapped in TAP_CHECKPOINT_START / _END carrying a
 * per-vbucket checkpoint id (ep-engine sent its checkpoint boundaries the same way). Deletions
 * and expirations both go out as TAP_DELETE (TAP has no expiration message).
 *
 * Memory: one follower batch (STREAM_BATCH items) per vbucket, read only after the previous batch
 * went out, so a slow client holds back only its cursor.
 */
import { TapOpaqueCommand } from '../codec/ops/tap.js';
import type { Bucket } from '../engine/bucket.js';
import type { VbFollower } from '../engine/follower.js';
import type { VBucket } from '../engine/vbucket.js';
import type { FollowEndReason, FollowEvent, Item } from '../engine/types.js';
import type { Queueable } from '../dcp/ready-queue.js';

export const STREAM_BATCH = 64;

export type TapOut =
  | { readonly kind: 'mutation' | 'delete'; readonly vbucket: number; readonly item: Item }
  | { readonly kind: 'opaque'; readonly vbucket: number; readonly command: number }
  | { readonly kind: 'checkpoint-start' | 'checkpoint-end'; readonly vbucket: number; readonly checkpointId: bigint };

export type VbPhase = 'backfill' | 'live' | 'done';

export interface VbStreamHost {
  /** The stream has messages (queue it for the send loop). */
  streamReady(stream: TapVbStream): void;
  /** The follower ended for a reason other than a finished dump (state change, bucket gone). */
  streamEnded(stream: TapVbStream, reason: FollowEndReason): void;
  streamFailed(stream: TapVbStream, err: unknown): void;
}

export interface VbStreamPlan {
  readonly vbucket: number;
  /** Last seqno the client has: delivery starts after it. */
  readonly start: number;
  /** Backfill first (INITIAL_VBUCKET_STREAM ... CLOSE_BACKFILL), else straight to live. */
  readonly backfill: boolean;
  /** DUMP: stop after the backfill. */
  readonly dump: boolean;
  readonly checkpoints: boolean;
  /** The checkpoint id the client had (CHECKPOINT flag data); ids continue after it. */
  readonly lastCheckpointId: bigint;
}

export class TapVbStream implements Queueable {
  queued = false;
  phase: VbPhase;
  private follower: VbFollower | null = null;
  private out: TapOut[] = [];
  private index = 0;
  private fetching = false;
  private ended = false;
  /**
   * The backfill's last seqno: the default collection's high seqno at connect time. What existed
   * then may come in several snapshots (memory snapshots are bounded, engine/checkpoints.ts).
   */
  private backfillEnd = 0;
  private snapshotEnd = 0;
  private snapshots = 0;
  private checkpointId: bigint;
  private inCheckpoint = false;
  /** The vbucket this stream is registered with while it runs (its `followers`, for `end`). */
  private registeredOn: VBucket | null = null;
  // counters (stats tap)
  itemsQueued = 0;
  lastSeqno: number;

  constructor(
    private readonly host: VbStreamHost,
    private readonly bucket: Bucket,
    readonly plan: VbStreamPlan,
  ) {
    this.phase = plan.backfill ? 'backfill' : 'live';
    this.lastSeqno = plan.start;
    this.checkpointId = plan.lastCheckpointId;
  }

  get vbucket(): number {
    return this.plan.vbucket;
  }

  /** Open the follower; a backfill announces itself first (and ends at once when empty). */
  start(): void {
    const { vbucket, start, dump, backfill } = this.plan;
    const vb = this.bucket.vbucket(vbucket);
    // Told of a bucket deletion or a state change at once, as DCP streams are (vbucket.ts
    // endFollowers): a connection waiting for an ack reads nothing, so it would never learn of it.
    vb.followers.add(this);
    this.registeredOn = vb;
    // The high seqno at connect time bounds a dump; the default collection's decides emptiness.
    const high = vb.highSeqno;
    const defaultHigh = this.bucket.collectionHighSeqno(vbucket, 0);
    if (backfill) {
      this.backfillEnd = defaultHigh;
      this.push({ kind: 'opaque', vbucket, command: TapOpaqueCommand.InitialVbucketStream });
      if (defaultHigh <= start) this.closeBackfill();
    }
    if (this.phase === 'done') {
      this.ended = true; // an empty dump: the two opaques are all there is
    } else {
      this.follower = this.bucket.follow(vbucket, { start, trimSnapshots: true, batchSize: STREAM_BATCH, ...(dump ? { end: high } : {}) });
    }
    if (this.hasOutput()) this.host.streamReady(this);
    else this.pull();
  }

  hasOutput(): boolean {
    return this.index < this.out.length;
  }

  next(): TapOut | undefined {
    if (this.index >= this.out.length) return undefined;
    const m = this.out[this.index++]!;
    if (this.index === this.out.length) {
      this.out = [];
      this.index = 0;
    }
    return m;
  }

  /** Read the next batch when this stream's messages all went out (the producer calls it). */
  pull(): void {
    if (this.fetching || this.ended || !this.follower || this.hasOutput()) return;
    this.fetching = true;
    this.follower.nextBatch().then(
      (events) => {
        this.fetching = false;
        if (this.ended) return;
        if (events === undefined) return this.finish('ok');
        for (const e of events) this.take(e);
        if (this.hasOutput()) this.host.streamReady(this);
        else this.pull();
      },
      (err: unknown) => {
        this.fetching = false;
        if (!this.ended) this.host.streamFailed(this, err);
      },
    );
  }

  /** The engine ends this stream's vbucket for everyone (Endable): bucket deleted, state changed. */
  end(reason: FollowEndReason): void {
    this.finish(reason);
  }

  /** The connection went away: release the follower. */
  close(): void {
    this.unregister();
    this.ended = true;
    this.follower?.close();
    this.follower = null;
    this.out = [];
    this.index = 0;
  }

  private push(m: TapOut): void {
    this.out.push(m);
  }

  private closeBackfill(): void {
    this.push({ kind: 'opaque', vbucket: this.vbucket, command: TapOpaqueCommand.CloseBackfill });
    this.phase = this.plan.dump ? 'done' : 'live';
  }

  private take(e: FollowEvent): void {
    const vbucket = this.vbucket;
    switch (e.type) {
      case 'snapshot':
        this.snapshotEnd = e.end;
        this.snapshots++;
        if (this.plan.checkpoints) {
          this.checkpointId++;
          this.inCheckpoint = true;
          this.push({ kind: 'checkpoint-start', vbucket, checkpointId: this.checkpointId });
        }
        return;
      case 'mutation':
      case 'deletion':
      case 'expiration':
        this.itemsQueued++;
        this.lastSeqno = e.item.seqno;
        this.push({ kind: e.type === 'mutation' ? 'mutation' : 'delete', vbucket, item: e.item });
        if (e.item.seqno >= this.snapshotEnd) this.snapshotDone();
        return;
      case 'end':
        this.finish(e.reason);
    }
  }

  private snapshotDone(): void {
    if (this.inCheckpoint) {
      this.inCheckpoint = false;
      this.push({ kind: 'checkpoint-end', vbucket: this.vbucket, checkpointId: this.checkpointId });
    }
    if (this.phase === 'backfill' && this.snapshotEnd >= this.backfillEnd && !this.plan.dump) this.closeBackfill();
  }

  private unregister(): void {
    this.registeredOn?.followers.delete(this);
    this.registeredOn = null;
  }

  private finish(reason: FollowEndReason): void {
    if (this.ended) return;
    this.unregister();
    this.ended = true;
    this.follower = null;
    if (reason === 'ok' && this.plan.dump) {
      if (this.inCheckpoint) this.snapshotDone();
      if (this.phase === 'backfill') this.closeBackfill();
      this.phase = 'done';
      if (this.hasOutput()) this.host.streamReady(this);
      else this.host.streamEnded(this, 'ok');
      return;
    }
    this.host.streamEnded(this, reason);
  }

  /** A finished dump stream whose last messages went out. */
  get drained(): boolean {
    return this.phase === 'done' && this.ended && !this.hasOutput();
  }
}
