/**
 * Replication logs (checkpoints): `_local/<replication id>` documents on both peers, in CouchDB's
 * format (couch_replicator_scheduler_job.erl do_checkpoint/1; couch-replication.md §1.4):
 *
 *   {"session_id", "source_last_seq", "replication_id_version": 4,
 *    "history": [{"session_id","start_time","end_time","start_last_seq","end_last_seq",
 *                 "recorded_seq","missing_checked","missing_found","docs_read","docs_written",
 *                 "doc_write_failures"}, …]}          newest first, at most 50 entries
 *
 * One session (one run of a job) owns one history entry, rewritten at each checkpoint of the run.
 * Where to start is found as CouchDB does (compare_replication_logs/2): equal `session_id` on both
 * sides → the source's `source_last_seq`; otherwise the most recent session present in both
 * histories → its `recorded_seq`; otherwise from the beginning.
 */
import { randomBytes } from 'node:crypto';
import { isReplicationError, ReplicationError } from './errors.js';
import { REP_ID_VERSION } from './replication-id.js';
import type { Seq } from './changes-parse.js';
import type { Peer } from './peer.js';

export const MAX_HISTORY = 50;
/**
 * Time between checkpoints of a running replication: CouchDB's `[replicator] checkpoint_interval`
 * default, 30000 ms (couch_replicator_utils default_options/0), also what `_active_tasks` shows.
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 30_000;
export const LOWEST_SEQ = 0;

export interface HistoryEntry {
  session_id: string;
  recorded_seq: Seq;
  [field: string]: unknown;
}

export interface SessionCounters {
  missing_checked: number;
  missing_found: number;
  docs_read: number;
  docs_written: number;
  doc_write_failures: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function historyOf(log: Record<string, unknown> | null): HistoryEntry[] {
  const h = log?.history;
  if (!Array.isArray(h)) return [];
  return h.filter((e): e is HistoryEntry => isObject(e) && typeof e.session_id === 'string');
}

function hasSession(id: string, history: readonly HistoryEntry[]): boolean {
  return history.some((e) => e.session_id === id);
}

/** compare_replication_logs/2 and compare_rep_history/2. */
export function compareReplicationLogs(
  source: Record<string, unknown> | null,
  target: Record<string, unknown> | null,
): { startSeq: Seq; history: HistoryEntry[]; common: boolean } {
  if (source === null || target === null) return { startSeq: LOWEST_SEQ, history: [], common: false };
  if (source.session_id !== undefined && source.session_id === target.session_id) {
    return { startSeq: source.source_last_seq ?? LOWEST_SEQ, history: historyOf(source), common: true };
  }
  let s = historyOf(source);
  let t = historyOf(target);
  while (s.length > 0 && t.length > 0) {
    const [sHead, ...sRest] = s as [HistoryEntry, ...HistoryEntry[]];
    const [tHead, ...tRest] = t as [HistoryEntry, ...HistoryEntry[]];
    if (hasSession(sHead.session_id, t)) return { startSeq: sHead.recorded_seq ?? LOWEST_SEQ, history: sRest, common: true };
    if (hasSession(tHead.session_id, sRest)) return { startSeq: tHead.recorded_seq ?? LOWEST_SEQ, history: tRest, common: true };
    s = sRest;
    t = tRest;
  }
  return { startSeq: LOWEST_SEQ, history: [], common: false };
}

/** RFC 1123 date, as httpd_util:rfc1123_date/0 writes it. */
export function rfc1123(date: Date = new Date()): string {
  return date.toUTCString();
}

export interface CheckpointerOptions {
  /** `_local/<base id>`. */
  checkpointId: string;
  /** The run's `start_last_seq`. */
  startSeq: Seq;
  /** History found by `read()`, the tail after this session's entry. */
  history?: HistoryEntry[];
  /** doc_ids replications copy some counters to the top level (compatibility with CouchDB 1.0). */
  docIdsReplication?: boolean;
  /** Write the source's copy too (default true). A read-only source turns it off by itself. */
  writeSource?: boolean;
}

/** Reads and writes the replication logs of one replication on both peers. */
export class Checkpointer {
  readonly sessionId = randomBytes(16).toString('hex');
  readonly startTime = rfc1123();
  private history: HistoryEntry[];
  private sourceRev: string | undefined;
  private targetRev: string | undefined;
  private startTimes: { source: string; target: string } | undefined;
  private writeSource: boolean;
  /** Set when a source checkpoint write was refused (401/403): only the target keeps one. */
  sourceReadOnly = false;

  constructor(
    private readonly source: Peer,
    private readonly target: Peer,
    private readonly opts: CheckpointerOptions,
  ) {
    this.history = opts.history ?? [];
    this.writeSource = opts.writeSource ?? true;
  }

  /**
   * Reads both logs and finds the common session: where to start. `sourceLog` is the source's
   * log as read, which a run that checkpoints nothing answers with (couch_replicator's initial
   * `checkpoint_history`).
   */
  static async read(source: Peer, target: Peer, checkpointId: string): Promise<{ startSeq: Seq; history: HistoryEntry[]; common: boolean; sourceLog: Record<string, unknown> | null }> {
    const [src, tgt] = await Promise.all([source.getLocal(checkpointId), target.getLocal(checkpointId)]);
    return { ...compareReplicationLogs(src, tgt), sourceLog: src };
  }

  /** The log body for `seq` (also the `_replicate` response's fields). */
  body(seq: Seq, counters: SessionCounters): Record<string, unknown> {
    const endTime = rfc1123();
    const entry: HistoryEntry = {
      session_id: this.sessionId,
      start_time: this.startTime,
      end_time: endTime,
      start_last_seq: this.opts.startSeq,
      end_last_seq: seq,
      recorded_seq: seq,
      ...counters,
    };
    const extra = this.opts.docIdsReplication
      ? { start_time: this.startTime, end_time: endTime, docs_read: counters.docs_read, docs_written: counters.docs_written, doc_write_failures: counters.doc_write_failures }
      : {};
    return {
      session_id: this.sessionId,
      source_last_seq: seq,
      replication_id_version: REP_ID_VERSION,
      ...extra,
      history: [entry, ...this.history].slice(0, MAX_HISTORY),
    };
  }

  /**
   * Commit both sides, then write the log to the source and the target (do_checkpoint/1). A peer
   * whose `instance_start_time` changed since the first commit of this session restarted and may
   * have lost writes: the checkpoint is refused and the job must restart from the last good one.
   */
  async record(seq: Seq, counters: SessionCounters): Promise<Record<string, unknown>> {
    const [source, target] = await Promise.all([this.source.ensureFullCommit(), this.target.ensureFullCommit()]);
    if (this.startTimes === undefined) this.startTimes = { source, target };
    else if (this.startTimes.source !== source || this.startTimes.target !== target) {
      throw new ReplicationError('CHECKPOINT', 'a peer restarted during the replication (instance_start_time changed)');
    }
    const body = this.body(seq, counters);
    if (this.writeSource) {
      try {
        this.sourceRev = await this.put(this.source, body, this.sourceRev);
      } catch (err) {
        // PouchDB turns source checkpoints off for the run when the source refuses them.
        if (!isReplicationError(err) || (err.status !== 401 && err.status !== 403)) throw err;
        this.writeSource = false;
        this.sourceReadOnly = true;
      }
    }
    this.targetRev = await this.put(this.target, body, this.targetRev);
    return body;
  }

  /** PUT with the last known `_rev`; a 409 re-reads the doc once and retries (CouchDB and PouchDB both). */
  private async put(peer: Peer, body: Record<string, unknown>, rev: string | undefined): Promise<string> {
    const withRev = (r: string | undefined): Record<string, unknown> => ({ _id: this.opts.checkpointId, ...(r ? { _rev: r } : {}), ...body });
    try {
      return await peer.putLocal(this.opts.checkpointId, withRev(rev ?? (await this.currentRev(peer))));
    } catch (err) {
      if (!isReplicationError(err) || err.status !== 409) throw err;
      return peer.putLocal(this.opts.checkpointId, withRev(await this.currentRev(peer)));
    }
  }

  private async currentRev(peer: Peer): Promise<string | undefined> {
    const doc = await peer.getLocal(this.opts.checkpointId);
    return typeof doc?._rev === 'string' ? doc._rev : undefined;
  }
}
