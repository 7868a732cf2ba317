/**
 * Which source seq is safe to checkpoint while several batches are written in parallel.
 *
 * Batches finish out of order, but a checkpoint at seq S promises that every change up to S is on
 * the target. CouchDB's replicator keeps the seqs of batches in flight and reports as "through
 * seq" the seq of the last batch before the oldest one still running
 * (couch_replicator_scheduler_job.erl `{report_seq_done, …}` and `highest_seq_done`); this is the
 * same rule over a queue of tokens in feed order.
 */
import type { Seq } from './changes-parse.js';

interface Entry {
  seq: Seq;
  done: boolean;
}

export class SeqTracker {
  private readonly queue: Entry[] = [];
  private through: Seq;

  constructor(startSeq: Seq) {
    this.through = startSeq;
  }

  /** Registers a batch whose changes end at `seq`; returns its token. */
  add(seq: Seq): object {
    const entry: Entry = { seq, done: false };
    this.queue.push(entry);
    return entry;
  }

  /** Marks a batch written; advances the through seq over the finished prefix. */
  done(token: object): void {
    (token as Entry).done = true;
    while (this.queue.length > 0 && this.queue[0]!.done) this.through = this.queue.shift()!.seq;
  }

  /** Every change up to this seq has been written. */
  get throughSeq(): Seq {
    return this.through;
  }

  get inFlight(): number {
    return this.queue.length;
  }
}
