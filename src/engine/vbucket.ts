/**
 * One vbucket's in-memory state: its seqno counters, failover log, state, and the followers and
 * waiters that its commits wake.
 *
 * `highSeqno` counts every seqno handed out; `persistedSeqno` only those whose transaction is on
 * disk. Followers deliver up to `persistedSeqno` and no further, so nothing is streamed that a crash
 * could take back (the failover log records any history a crash does rewrite).
 */
import { FailoverLog } from './failover-log.js';
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

  /**
   * Calls `wake` once at the next persisted advance (or state change); returns a function that
   * cancels the wait, so an abandoned follower leaves nothing behind.
   */
  onChange(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  endFollowers(reason: FollowEndReason): void {
    for (const f of [...this.followers]) f.end(reason);
    this.wake();
  }
}
