/**
 * One vbucket's in-memory state: its seqno counters, failover log, state, and the followers and
 * waiters that its commits wake.
 *
 * `highSeqno` counts every seqno handed out; `persistedSeqno` only those whose transaction is on
 * disk. A write is acknowledged and streamed from memory (`checkpoints`) before it is persisted, as
 * Couchbase does; a crash loses what was above the persisted seqno, and the failover entry warmup
 * adds at that seqno makes every consumer that saw more roll back (dcp.md §3.3, issue #16).
 */
import { FailoverLog } from './failover-log.js';
import { CheckpointQueue } from './checkpoints.js';
import type { FailoverEntry, FollowEndReason, VBucketInfo, VBucketState } from './types.js';

export interface PersistedVBucket {
  state: VBucketState;
  failoverLog: FailoverEntry[];
  purgeSeqno: number;
}

/** Something that can be ended from outside: a follower. */
export interface Endable {
  end(reason: FollowEndReason): void;
}

export class VBucket {
  highSeqno = 0;
  persistedSeqno = 0;
  purgeSeqno = 0;
  state: VBucketState;
  failoverLog: FailoverLog;
  readonly followers = new Set<Endable>();
  /** System-event keys (collection 1) and their current seqnos: each vbucket has its own. */
  systemKeys = new Map<string, number>();
  /** Highest seqno per collection id, system events of the collection included (GET_ALL_VB_SEQNOS). */
  collectionHigh = new Map<number, number>();
  /** Versions in memory, for live streams (checkpoints.ts); set up by the bucket at load. */
  readonly checkpoints = new CheckpointQueue(0);
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly id: number,
    persisted: PersistedVBucket,
  ) {
    this.state = persisted.state;
    this.failoverLog = new FailoverLog(persisted.failoverLog);
    this.purgeSeqno = persisted.purgeSeqno;
  }

  toPersisted(): PersistedVBucket {
    return { state: this.state, failoverLog: this.failoverLog.toArray(), purgeSeqno: this.purgeSeqno };
  }

  info(): VBucketInfo {
    return {
      id: this.id,
      state: this.state,
      highSeqno: this.highSeqno,
      persistedSeqno: this.persistedSeqno,
      uuid: this.failoverLog.latest.uuid,
      failoverLog: this.failoverLog.toArray(),
      purgeSeqno: this.purgeSeqno,
    };
  }

  noteCollectionSeqno(collection: number, seqno: number): void {
    if ((this.collectionHigh.get(collection) ?? 0) < seqno) this.collectionHigh.set(collection, seqno);
  }

  markPersisted(seqno: number): void {
    if (seqno <= this.persistedSeqno) return;
    this.persistedSeqno = seqno;
    this.wake();
  }

  /** Every seqno restarts at `seqno` (warmup, replica reset, discard): nothing above is in memory. */
  resetSeqnos(seqno: number): void {
    this.highSeqno = seqno;
    this.persistedSeqno = seqno;
    this.checkpoints.reset(seqno);
  }

  /**
   * Calls `wake` once at the next change in memory, persisted advance or state change; returns a
   * function that cancels the wait, so an abandoned follower leaves nothing behind.
   */
  onChange(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  wake(): void {
    // Every write wakes its vbucket: most have no follower waiting.
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  endFollowers(reason: FollowEndReason): void {
    for (const f of [...this.followers]) f.end(reason);
    this.wake();
  }
}
