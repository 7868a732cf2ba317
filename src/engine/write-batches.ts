/**
 * The writes between their acknowledgement and the disk (bucket-core.ts, the write pipeline):
 * kv_engine's dirty queue and flusher accounting, reduced to what one node needs.
 *
 * - Each queued write is listed under its flusher batch's promise (store/group-commit.ts answers
 *   every write of a batch with the same one) and the list is settled in one pass once the batch
 *   is on disk or failed. One promise reaction, two closures and a microtask per write were a
 *   measurable share of the write path's time and garbage (issue #16). A list keeps the order its
 *   writes were queued in, which is their seqno order, so a vbucket's persisted seqno only grows.
 * - `dirtyBytes`: what the versions not yet on disk cost (checkpoints.ts dirtyBytes); the bucket
 *   answers TMPFAIL past its limit. `inFlight`: writes not settled yet (`quiesce`).
 * - `persistedSeq`: the bucket-wide change sequence up to which every change is on disk, which
 *   `_changes` waits on (engine/change-wait.ts).
 */
import { storageEngineError } from './errors.js';
import { isStorageError } from '../store/storage-fault.js';
import { dirtyBytes } from './checkpoints.js';
import { SeqSignal } from './seq-signal.js';
import type { InFlightVersion } from './in-flight.js';
import type { KeyDirectory } from './key-directory.js';
import type { BucketStats } from './bucket-config.js';
import type { MutationResult } from './types.js';
import type { VBucket } from './vbucket.js';

/** One queued write: its in-flight version, and the caller waiting for the disk, if any. */
export interface QueuedWrite {
  readonly pkey: string;
  readonly vb: VBucket;
  readonly version: InFlightVersion;
  /**
   * What the waiting caller is answered; unset for a write acknowledged from memory, whose caller
   * has its result already: kept until the disk, it was promoted with each plain write (issue #16).
   */
  readonly result: MutationResult | undefined;
  /** Set for a write acknowledged once on disk (WriteMode persist or sync); unset for memory. */
  resolve: ((result: MutationResult) => void) | undefined;
  reject: ((err: unknown) => void) | undefined;
}

/** A list of queued writes and the flusher promise it waits on. */
interface Listed {
  readonly written: Promise<void>;
  readonly list: QueuedWrite[];
}

export class WriteBatches {
  /**
   * The lists the next writes may join: writes arrive for the flusher's open batch, whose plain
   * and durable writes wait on two promises (group-commit.ts `done` and `kept`), so two are
   * remembered. Not a Map: V8 links each replaced Map table to its successor, and one promoted
   * table then kept every later table and the writes they listed alive until a full GC.
   */
  #recent: Listed | null = null;
  #previous: Listed | null = null;
  /**
   * The vbuckets a settling batch advances (`#persisted`): the first `#touchedCount` slots, each
   * listed once by stamping its id in `#stamps` with the batch's number (a double: it never wraps).
   * Reused from batch to batch, so settling allocates nothing: a Set cleared per batch made a new
   * table each time, which the old-generation Set kept past the next scavenge (issue #16, the
   * delivery p99).
   */
  readonly #touched: VBucket[] = [];
  #touchedCount = 0;
  readonly #stamps: Float64Array;
  #stamp = 0;
  /** Bytes of versions not yet on disk; bounded by the bucket's maxDirtyBytes. */
  dirtyBytes = 0;
  /** Writes queued and not settled yet. */
  inFlight = 0;
  /** The bucket-wide change sequence up to which every change is on disk, and its waiters. */
  readonly persistedSeq = new SeqSignal();

  constructor(
    private readonly dir: KeyDirectory,
    private readonly stats: BucketStats,
    /** Called once per settled batch that put something on disk (the store renews its read snapshots). */
    private readonly noteCommit: () => void,
    /** Persisted bytes a followed vbucket keeps in memory for its streams (checkpoints.ts). */
    private readonly retainPerVb: number,
    numVBuckets: number,
  ) {
    this.#stamps = new Float64Array(numVBuckets);
  }

  /** Account for `write`, filed under the flusher promise `written` its batch shares. */
  add(written: Promise<void>, write: QueuedWrite): void {
    this.dirtyBytes += dirtyBytes(write.version.item);
    this.inFlight++;
    if (this.#recent?.written === written) return void this.#recent.list.push(write);
    if (this.#previous?.written === written) return void this.#previous.list.push(write);
    const listed: Listed = { written, list: [write] };
    this.#previous = this.#recent;
    this.#recent = listed;
    written.then(
      () => {
        this.#forget(listed);
        // Before any stream is woken below: a read it makes must see this batch.
        this.noteCommit();
        this.#persisted(listed.list);
        for (const w of listed.list) if (w.resolve && w.result) w.resolve(w.result);
      },
      (err: unknown) => {
        this.#forget(listed);
        this.#failed(listed.list, err);
      },
    );
  }

  /** A settled list takes no more writes (its batch is done), nor is it kept for them. */
  #forget(listed: Listed): void {
    if (this.#recent === listed) this.#recent = null;
    if (this.#previous === listed) this.#previous = null;
  }

  /** A write acknowledged once its batch is on disk: the promise its caller waits on. */
  static awaiting(write: QueuedWrite): Promise<MutationResult> {
    return new Promise<MutationResult>((resolve, reject) => {
      write.resolve = resolve;
      write.reject = reject;
    });
  }

  #failed(list: readonly QueuedWrite[], err: unknown): void {
    this.stats.writeFailures += list.length;
    if (!isStorageError(err)) {
      this.inFlight -= list.length;
      for (const w of list) w.reject?.(err);
      return;
    }
    // Committed but not confirmed on disk: visible, so account for it, yet answer the error.
    if (err.committed) {
      this.noteCommit();
      this.#persisted(list);
    } else {
      this.inFlight -= list.length;
      for (const w of list) this.#rollBack(w);
    }
    for (const w of list) w.reject?.(storageEngineError(err));
  }

  /**
   * A batch's writes are on disk. Each key settles and its vbucket's persisted seqno moves to it (a
   * list is in seqno order); then each vbucket the batch touched wakes its streams and trims its
   * checkpoint queue once, not once per write.
   */
  #persisted(list: readonly QueuedWrite[]): void {
    const stamp = ++this.#stamp;
    let bucketSeq = 0;
    for (const w of list) {
      const { vb, version } = w;
      this.dir.settle(w.pkey, version);
      this.dirtyBytes -= dirtyBytes(version.item);
      vb.markPersisted(version.item.seqno, false);
      this.#touch(vb, stamp);
      if (version.item.bucketSeq > bucketSeq) bucketSeq = version.item.bucketSeq;
    }
    this.inFlight -= list.length;
    const vbs = this.#touched;
    for (let i = 0; i < this.#touchedCount; i++) {
      const vb = vbs[i]!;
      vb.wake();
      // Persisted versions stay in memory only for the streams following this vbucket that have
      // not read them yet (kv_engine removes checkpoints no cursor needs): a later stream reads disk.
      vb.trimCheckpoints(this.retainPerVb);
    }
    this.#touchedCount = 0;
    this.persistedSeq.advance(bucketSeq);
  }

  /** List `vb` among the batch's touched vbuckets, once. */
  #touch(vb: VBucket, stamp: number): void {
    if (this.#stamps[vb.id] === stamp) return;
    this.#stamps[vb.id] = stamp;
    this.#touched[this.#touchedCount++] = vb;
  }

  /**
   * A write whose transaction LMDB aborted: the key goes back to the newest version that is not
   * lost (key-directory.ts). Its seqno stays unused, and streams pass over it.
   */
  #rollBack(w: QueuedWrite): void {
    const { vb, version } = w;
    this.dirtyBytes -= dirtyBytes(version.item);
    vb.checkpoints.markLost(version.item.seqno);
    this.dir.rollBack(w.pkey, version);
    // Not persisted: the persisted seqnos stay where they are (kept writes below this one may
    // still be waiting for the disk); streams skip the lost version (its queue entry is marked).
    vb.wake();
  }
}
