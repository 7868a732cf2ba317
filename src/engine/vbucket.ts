/**
 * One vbucket's in-memory state: its seqno counters, failover log, state, and the followers that
 * its changes wake.
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

/** A follower that reads this vbucket: told of every change while it is registered. */
export interface ChangeWatcher {
  changed(): void;
  /** The last seqno it has read (what it has not delivered yet it holds itself). */
  readonly position: number;
}

/** The last seqno epoch handed out, process-wide (VBucket.epoch). */
let epochs = 0;

export class VBucket {
  highSeqno = 0;
  /**
   * Which run of seqnos this vbucket is in: new with the vbucket and at each `resetSeqnos`, and
   * unique in the process, so that a seqno handed out again after a reset (or by a vbucket made
   * again) names a different version to the record cache (record-cache.ts).
   */
  epoch = ++epochs;
  persistedSeqno = 0;
  purgeSeqno = 0;
  /** The highest CAS written here (kv VBucket::getMaxCas): from warmup's scan, then every write. */
  maxCas = 0n;
  state: VBucketState;
  failoverLog: FailoverLog;
  readonly followers = new Set<Endable>();
  /** System-event keys (collection 1) and their current seqnos: each vbucket has its own. */
  systemKeys = new Map<string, number>();
  /** Highest seqno per collection id, system events of the collection included (GET_ALL_VB_SEQNOS). */
  collectionHigh = new Map<number, number>();
  /** Versions in memory, for live streams (checkpoints.ts); set up by the bucket at load. */
  readonly checkpoints = new CheckpointQueue(0);
  /**
   * Registered for as long as they follow, not per wait: a follower waits between every two writes
   * of its vbucket (about 100 ms apart at 10k writes/s over 1024 vbuckets), and a waiter set
   * churned per wait left a table and closures to be promoted by the young-generation GC each time,
   * whose pauses were the write-to-delivery p99 (issue #16).
   */
  private readonly watchers = new Set<ChangeWatcher>();

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
      maxCas: this.maxCas.toString(),
    };
  }

  /** A version of `collection` was written at `seqno` (with `cas`, when it is a new version's). */
  noteCollectionSeqno(collection: number, seqno: number, cas = 0n): void {
    if ((this.collectionHigh.get(collection) ?? 0) < seqno) this.collectionHigh.set(collection, seqno);
    if (cas > this.maxCas) this.maxCas = cas;
  }

  /** The vbucket is on disk up to `seqno`; `wake` false: the caller wakes its streams once for many. */
  markPersisted(seqno: number, wake = true): void {
    if (seqno <= this.persistedSeqno) return;
    this.persistedSeqno = seqno;
    if (wake) this.wake();
  }

  /** Every seqno restarts at `seqno` (warmup, replica reset, discard): nothing above is in memory. */
  resetSeqnos(seqno: number): void {
    this.epoch = ++epochs;
    this.highSeqno = seqno;
    this.persistedSeqno = seqno;
    this.checkpoints.reset(seqno);
  }

  /** `watcher.changed()` is called at every change in memory, persisted advance or state change. */
  watch(watcher: ChangeWatcher): void {
    this.watchers.add(watcher);
  }

  unwatch(watcher: ChangeWatcher): void {
    this.watchers.delete(watcher);
  }

  /**
   * Drop the persisted versions every follower has read from the checkpoint queue, and more past
   * `retainBytes` (checkpoints.ts trim). Without a follower, every persisted version goes.
   */
  trimCheckpoints(retainBytes = Infinity): void {
    let passed = Infinity;
    for (const w of this.watchers) if (w.position < passed) passed = w.position;
    this.checkpoints.trim(retainBytes, this.persistedSeqno, passed);
  }

  wake(): void {
    // Every write wakes its vbucket: most have no follower.
    if (this.watchers.size === 0) return;
    for (const w of this.watchers) w.changed();
  }

  endFollowers(reason: FollowEndReason): void {
    for (const f of [...this.followers]) f.end(reason);
    this.wake();
  }
}
