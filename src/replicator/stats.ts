/**
 * Counters of one replication, named as CouchDB reports them in checkpoints, `_active_tasks`
 * and `_scheduler/jobs` (couch_replicator_stats.erl; couch-replication.md §1.4).
 */
import type { Seq } from './changes-parse.js';

export interface ReplicationStats {
  /** Revisions asked about with `_revs_diff` (CouchDB `revisions_checked` / `missing_checked`). */
  missing_checked: number;
  /** Revisions the target lacked (`missing_revisions_found` / `missing_found`). */
  missing_found: number;
  docs_read: number;
  docs_written: number;
  /** Documents the target refused (401/403 and other per-document errors that are skipped). */
  doc_write_failures: number;
  /** Rows of `_changes` received. */
  changes_read: number;
  /** Highest seq written to both checkpoints. */
  checkpointed_source_seq: Seq;
  /** Highest seq whose changes are all written. */
  through_seq: Seq;
  /** Latest seq read from the source feed. */
  source_seq: Seq;
  /** Changes the source says are left (null when it cannot tell). */
  pending: number | null;
  /** Requests retried after a retriable failure. */
  retries: number;
}

export function emptyStats(startSeq: Seq): ReplicationStats {
  return {
    missing_checked: 0,
    missing_found: 0,
    docs_read: 0,
    docs_written: 0,
    doc_write_failures: 0,
    changes_read: 0,
    checkpointed_source_seq: startSeq,
    through_seq: startSeq,
    source_seq: startSeq,
    pending: null,
    retries: 0,
  };
}

/** `update_seq - seq` when both are numbers (CouchDB 1.x, PouchDB); otherwise unknown. */
export function pendingFrom(updateSeq: Seq, seq: Seq): number | null {
  const u = typeof updateSeq === 'number' ? updateSeq : Number.NaN;
  const s = typeof seq === 'number' ? seq : Number.NaN;
  return Number.isFinite(u) && Number.isFinite(s) ? Math.max(0, u - s) : null;
}
