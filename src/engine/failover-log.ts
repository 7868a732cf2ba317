/**
 * A vbucket's failover log and the rollback decision made from it.
 *
 * Follows kv_engine engines/ep/src/failover-table.cc: entries are `(uuid, seqno)`, newest first,
 * at least one; `createEntry(high)` first drops every entry whose seqno is above `high` (branches
 * this copy diverged from), then pushes a fresh random 48-bit non-zero uuid, then trims to
 * `max_failover_entries` (25, engines/ep/configuration.json). `needsRollback` is the exact algorithm
 * of `FailoverTable::needsRollback` (spec: shared/specs/dcp.md §3.5).
 */
import { randomBytes } from 'node:crypto';
import type { FailoverEntry } from './types.js';

export const MAX_FAILOVER_ENTRIES = 25;

/** `random64 >> 16`, retried while zero: exact in a JS number and in JSON. */
export function newVBucketUuid(): number {
  for (;;) {
    const b = randomBytes(6);
    const uuid = b.readUIntBE(0, 6);
    if (uuid !== 0) return uuid;
  }
}

export interface RollbackQuery {
  start: number;
  highSeqno: number;
  uuid: number;
  snapStart: number;
  snapEnd: number;
  purgeSeqno: number;
  /** When set, the purge check is skipped (DCP stream flag IgnorePurgedTombstones 0x80). */
  ignorePurged?: boolean;
  /** The client's own purge seqno, if it sent one (JSON `purge_seqno`); otherwise undefined. */
  clientPurgeSeqno?: number;
  strictUuid?: boolean;
  /**
   * A filtered stream's highest collection seqno (kv maxCollectionHighSeqno); a client whose start
   * is at or past it is not rolled back for the purge seqno.
   */
  collectionHigh?: number;
}

export type RollbackDecision = { rollback: false } | { rollback: true; seqno: number; reason: string };

export class FailoverLog {
  private entries: FailoverEntry[];

  constructor(entries: FailoverEntry[]) {
    if (entries.length === 0) throw new Error('a failover log has at least one entry');
    this.entries = entries.map((e) => ({ ...e }));
  }

  static fresh(): FailoverLog {
    return new FailoverLog([{ uuid: newVBucketUuid(), seqno: 0 }]);
  }

  get latest(): FailoverEntry {
    return this.entries[0]!;
  }

  toArray(): FailoverEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  createEntry(highSeqno: number, uuid = newVBucketUuid()): FailoverEntry {
    this.entries = this.entries.filter((e) => e.seqno <= highSeqno);
    const entry = { uuid, seqno: highSeqno };
    this.entries.unshift(entry);
    if (this.entries.length > MAX_FAILOVER_ENTRIES) this.entries.length = MAX_FAILOVER_ENTRIES;
    return entry;
  }

  /** Drop entries newer than a rollback point (what a consumer does after a Rollback reply). */
  pruneAbove(seqno: number): void {
    const kept = this.entries.filter((e) => e.seqno <= seqno);
    this.entries = kept.length > 0 ? kept : [this.entries[this.entries.length - 1]!];
  }

  needsRollback(q: RollbackQuery): RollbackDecision {
    const strict = q.strictUuid ?? false;
    if (q.start === 0 && (!strict || q.uuid === 0)) return { rollback: false };

    const purgeSeqno = q.ignorePurged ? 0 : q.purgeSeqno;
    const seenAllOfItsCollections = q.collectionHigh !== undefined && q.start >= q.collectionHigh;
    if (q.start < purgeSeqno && q.start !== 0 && q.clientPurgeSeqno !== purgeSeqno && !seenAllOfItsCollections) {
      return { rollback: true, seqno: 0, reason: `start ${q.start} is below the purge seqno ${purgeSeqno}` };
    }

    const index = this.entries.findIndex((e) => e.uuid === q.uuid);
    if (index < 0) return { rollback: true, seqno: 0, reason: `vbucket uuid ${q.uuid} is not in the failover log` };
    const upper = index === 0 ? q.highSeqno : this.entries[index - 1]!.seqno;

    let snapStart = q.snapStart;
    let snapEnd = q.snapEnd;
    if (q.start === snapStart) snapEnd = q.start;
    if (snapEnd <= upper) return { rollback: false };
    if (q.start === snapEnd) snapStart = q.start;
    const seqno = upper < snapStart ? upper : snapStart;
    return { rollback: true, seqno, reason: `history branched at ${upper}; the client's snapshot ends at ${snapEnd}` };
  }
}
