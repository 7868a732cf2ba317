/**
 * Per-vbucket positions of a checkpointing receiver: what has been *received* (what the data
 * source resumes from after a reconnect, since queued events will still be delivered) and what has
 * been *committed* (what the application has finished with, what a checkpoint saves).
 *
 * A position is (lastSeq, metadata). Only consistent positions are kept: snapStart <= start <=
 * snapEnd (dcp.md §3.5 step 6). cbdatasource saves a new snapshot range just before the first item
 * of that snapshot (dcp.md §4.9); until the item arrives the pair (old lastSeq, new range) would
 * resume with Erange and a rollback to 0, so the range waits as `pending` and becomes part of the
 * position together with the item. That closes the race cbdatasource's comment only narrows.
 */
import { EMPTY_METADATA, isConsistent, resumePosition, rollbackMetaData, type VBucketMetaData } from './metadata.js';
import type { VBucketCheckpoint } from './checkpoint-store.js';

interface Entry {
  received: VBucketCheckpoint;
  pending: VBucketMetaData | undefined;
  committed: VBucketCheckpoint | undefined;
}

export function consistent(p: VBucketCheckpoint): boolean {
  return isConsistent(resumePosition(p.meta, p.lastSeq));
}

export class PositionBook {
  readonly #vbs = new Map<number, Entry>();

  /** Start from saved positions (both received and committed). */
  load(saved: Readonly<Record<string, VBucketCheckpoint>>): void {
    for (const [vb, p] of Object.entries(saved)) this.#vbs.set(Number(vb), { received: p, pending: undefined, committed: p });
  }

  /** What getMetaData answers; undefined when the vbucket has no position yet. */
  received(vb: number): VBucketCheckpoint | undefined {
    return this.#vbs.get(vb)?.received;
  }

  committed(vb: number): VBucketCheckpoint | undefined {
    return this.#vbs.get(vb)?.committed;
  }

  #entry(vb: number): Entry {
    let e = this.#vbs.get(vb);
    if (!e) this.#vbs.set(vb, (e = { received: { lastSeq: 0, meta: EMPTY_METADATA }, pending: undefined, committed: undefined }));
    return e;
  }

  /**
   * setMetaData. Returns the new received position when it is consistent right away (a failover
   * log after a stream request, a from-now start); undefined when the range waits for its item.
   */
  setMeta(vb: number, meta: VBucketMetaData): VBucketCheckpoint | undefined {
    const e = this.#entry(vb);
    // a from-now start (seqStart) counts as received up to there: the checkpoint then resumes
    // the same way in cbdatasource, which ignores seqStart
    const next = { lastSeq: Math.max(e.received.lastSeq, meta.seqStart), meta };
    if (consistent(next)) {
      e.received = next;
      e.pending = undefined;
      return next;
    }
    e.pending = meta;
    return undefined;
  }

  /** An item was received: the position after it. */
  item(vb: number, seq: number): VBucketCheckpoint {
    const e = this.#entry(vb);
    e.received = { lastSeq: seq, meta: e.pending ?? e.received.meta };
    e.pending = undefined;
    return e.received;
  }

  /** Roll the received position back to `seqno` (never forward); the position after it. */
  rollback(vb: number, seqno: number): VBucketCheckpoint {
    const e = this.#entry(vb);
    const lastSeq = Math.min(resumePosition(e.received.meta, e.received.lastSeq).startSeqno, seqno);
    e.received = { lastSeq, meta: rollbackMetaData(e.received.meta, lastSeq) };
    e.pending = undefined;
    return e.received;
  }

  /** The application finished with everything up to this position. */
  commit(vb: number, p: VBucketCheckpoint): void {
    this.#entry(vb).committed = p;
  }

  /** Every committed position, for a checkpoint. */
  snapshot(): Record<string, VBucketCheckpoint> {
    const out: Record<string, VBucketCheckpoint> = {};
    for (const [vb, e] of this.#vbs) if (e.committed) out[String(vb)] = e.committed;
    return out;
  }
}
