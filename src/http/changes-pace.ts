/**
 * When a live `_changes` feed must say something although no row passed: a heartbeat, a progress
 * report, or the end of the feed. Pure clock arithmetic (no timers, no I/O), so the schedule can be
 * tested as a table and the feed loop (changes-feed.ts) asks it after every scan, not only when a
 * timer fires: under a steady stream of changes that a filter drops, the feed wakes on every
 * change and a timer-only heartbeat would never come.
 *
 * The rules (couch-replication.md §2.2, §2.5; fabric_view_changes:keep_sending_changes/8):
 *   - `heartbeat` (ms): something is written at least this often; it keeps the feed open, so
 *     `timeout` is ignored.
 *   - `timeout` (ms), without heartbeat: the feed ends after this long without a row. Counting
 *     from the last *row*, not the last change, is what lets a silent filtered feed end with an
 *     advanced `last_seq`, which CouchDB's replicator checkpoints before reconnecting
 *     (couch_replicator_changes_reader:process_change({last_seq, _}, …, Continuous = true)).
 *   - `heartbeat_seq` (Freshet extension, opt-in; the shape apache/couchdb#6120 proposes): a
 *     progress report at most this often while the scanned position is ahead of what the client
 *     was last told. It replaces the heartbeat that would otherwise be due.
 */
export type PaceAction = 'progress' | 'heartbeat' | 'timeout';

export interface PaceOptions {
  heartbeatMs: number | null;
  timeoutMs: number;
  /** Progress-report interval, or null when the client did not ask for progress reports. */
  progressMs: number | null;
}

export class FeedPace {
  /** When a row was last sent (or the feed started). */
  lastRowAt: number;
  /** When a row or a progress report last told the client its position. */
  lastReportAt: number;

  constructor(
    private readonly opts: PaceOptions,
    now: number,
  ) {
    this.lastRowAt = now;
    this.lastReportAt = now;
  }

  /** Rows were sent: they report the position too. */
  rowsSent(now: number): void {
    this.lastRowAt = now;
    this.lastReportAt = now;
  }

  progressSent(now: number): void {
    this.lastReportAt = now;
  }

  /**
   * What is due at `now`, given when anything was last written and whether the scanned position
   * is ahead of the last one reported; null when nothing is.
   */
  due(now: number, lastWriteAt: number, moved: boolean): PaceAction | null {
    const { heartbeatMs, timeoutMs, progressMs } = this.opts;
    if (progressMs !== null && moved && now - this.lastReportAt >= progressMs) return 'progress';
    if (heartbeatMs !== null) return now - lastWriteAt >= heartbeatMs ? 'heartbeat' : null;
    return now - this.lastRowAt >= timeoutMs ? 'timeout' : null;
  }

  /** How long to wait for a change before something becomes due (never negative). */
  waitMs(now: number, lastWriteAt: number, moved: boolean): number {
    const { heartbeatMs, timeoutMs, progressMs } = this.opts;
    let next = heartbeatMs !== null ? lastWriteAt + heartbeatMs : this.lastRowAt + timeoutMs;
    // Without movement no progress can fall due before a change wakes the feed anyway.
    if (progressMs !== null && moved) next = Math.min(next, this.lastReportAt + progressMs);
    return Math.max(0, next - now);
  }
}
