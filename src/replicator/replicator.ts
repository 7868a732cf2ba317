/**
 * One replication from a source to a target (couch-replication.md §1.2): verify the peers
 * (creating the target when asked), compute the replication id, read both checkpoints and find the
 * common session, then read `_changes?style=all_docs` in batches and hand each batch to a worker
 * (`_revs_diff` → `_bulk_get`/`open_revs` → `_bulk_docs`/multipart PUT), checkpointing the
 * highest seq whose batches are all written every `checkpointIntervalMs` and at the end.
 *
 * Memory is bounded: at most `workers` batches of `batchSize` changes are in flight, and the feed
 * is only asked for the next batch once a worker is free. One-shot replications page the feed
 * with `feed=normal&limit=` until caught up; continuous ones then keep following it (`continuous`
 * like CouchDB, or `longpoll` like PouchDB) until `stop()`.
 *
 * Request-level failures are retried with backoff inside the HTTP client; what is left (a peer down
 * for longer than the retry budget, a checkpoint refused) fails the run with a typed error, and the
 * caller (the job manager, the CLI) restarts it, which resumes from the last checkpoint.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { SILENT_LOGGER, type Logger } from '../common/logger.js';
import { replicateBatch } from './batch-worker.js';
import { sameSeq, type Seq } from './changes-parse.js';
import { Checkpointer, DEFAULT_CHECKPOINT_INTERVAL_MS, type HistoryEntry, type SessionCounters } from './checkpoint.js';
import { HttpPeer, type HttpPeerOptions } from './http-peer.js';
import { replicationIds, type ReplicationIds } from './replication-id.js';
import { SeqTracker } from './seq-tracker.js';
import { emptyStats, pendingFrom, type ReplicationStats } from './stats.js';
import type { ChangesFilter } from './follower.js';
import { reasonText, type ChangesSource, type Peer, type PeerInfo, type WriteFailure } from './peer.js';

export interface ReplicationOptions {
  source: Peer | string | URL;
  target: Peer | string | URL;
  /** The replicating node's identity, part of the replication id (default: derived from the host name). */
  nodeUuid?: string;
  continuous?: boolean;
  createTarget?: boolean;
  /** With `createTarget`: the creation's parameters (`q`, `partitioned`), as `create_target_params` gives them. */
  createTargetParams?: Readonly<Record<string, string>>;
  docIds?: string[];
  selector?: Record<string, unknown>;
  /** `ddoc/name` filter function, `_view`, `_design`. */
  filter?: string;
  queryParams?: Record<string, string>;
  /** Where to start when there is no usable checkpoint. */
  sinceSeq?: Seq;
  /** Changes per batch (default 500, CouchDB's `worker_batch_size`). */
  batchSize?: number;
  /** Batches written in parallel (default 4, CouchDB's `worker_processes`). */
  workers?: number;
  /** Default 30000 ms (CouchDB's `checkpoint_interval`). */
  checkpointIntervalMs?: number;
  useCheckpoints?: boolean;
  /** Feed once caught up in continuous mode (default `continuous`). */
  liveFeed?: 'continuous' | 'longpoll';
  heartbeatMs?: number;
  /** Options of peers given as URLs. */
  http?: HttpPeerOptions;
  /** Aborting stops the replication like `stop()` (a final checkpoint is written). */
  signal?: AbortSignal;
  onProgress?: (replication: Replication) => void;
  onDenied?: (failure: WriteFailure) => void;
  logger?: Logger;
}

export type ReplicationState = 'initializing' | 'running' | 'completed' | 'stopped' | 'failed';

export interface ReplicationResult {
  ok: true;
  no_changes?: true;
  session_id?: string;
  source_last_seq?: Seq;
  replication_id_version?: number;
  history?: HistoryEntry[];
  replication_id: string;
  stats: ReplicationStats;
}

/** A database with no document and no update yet (numeric or `0-…` CouchDB seq). */
function isEmpty(info: PeerInfo): boolean {
  const seq = info.updateSeq;
  return info.docCount === 0 && (seq === 0 || seq === '0' || (typeof seq === 'string' && seq.startsWith('0-')));
}

/** The default node identity: stable per machine, like CouchDB's v1/v2 ids used the host name. */
export function defaultNodeUuid(): string {
  return createHash('md5').update(`freshet-replicator:${hostname()}`).digest('hex');
}

export class Replication {
  state: ReplicationState = 'initializing';
  stats: ReplicationStats = emptyStats(0);
  ids: ReplicationIds | undefined;
  error: unknown;
  readonly source: Peer;
  readonly target: Peer;
  readonly startedAt = new Date();
  updatedAt = new Date();
  sourceInfo: PeerInfo | undefined;
  private readonly owned: Peer[] = [];
  private readonly log: Logger;
  private feed: ChangesSource | undefined;
  private stopping = false;
  private running: Promise<ReplicationResult> | undefined;
  private checkpointer: Checkpointer | undefined;
  private tracker: SeqTracker | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  private lastLog: Record<string, unknown> | undefined;
  /** The source's log as found at the start: what a run that checkpoints nothing answers with. */
  private sourceLog: Record<string, unknown> | null = null;
  /** The target had nothing at the start: `_revs_diff` is skipped until the first catch-up. */
  private emptyTarget = false;

  constructor(readonly opts: ReplicationOptions) {
    this.log = opts.logger ?? SILENT_LOGGER;
    const http: HttpPeerOptions = {
      ...opts.http,
      onRetry: (err, attempt, delay) => {
        this.stats.retries++;
        this.log.warn({ err: err.message, attempt, delay }, 'retrying request');
        opts.http?.onRetry?.(err, attempt, delay);
      },
    };
    const open = (p: Peer | string | URL): Peer => {
      if (typeof p === 'string' || p instanceof URL) {
        const peer = new HttpPeer(p, http);
        this.owned.push(peer);
        return peer;
      }
      return p;
    };
    this.source = open(opts.source);
    this.target = open(opts.target);
    if (opts.signal?.aborted) this.stopping = true;
    else opts.signal?.addEventListener('abort', () => void this.stop().catch(() => undefined), { once: true });
  }

  get continuous(): boolean {
    return this.opts.continuous === true;
  }

  /** Runs the replication; resolves when a one-shot is done or a continuous one is stopped. */
  start(): Promise<ReplicationResult> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops reading changes, lets the batches in flight finish and writes a last checkpoint. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.feed?.close();
    await this.running?.catch(() => undefined);
  }

  private filter(): ChangesFilter | undefined {
    const { docIds, selector, filter, queryParams } = this.opts;
    if (docIds) return { docIds };
    if (selector) return { selector };
    if (filter) return { name: filter, ...(queryParams ? { queryParams } : {}) };
    return undefined;
  }

  private async filterCode(): Promise<string | undefined> {
    const name = this.opts.filter;
    if (!name || name.startsWith('_') || !this.source.readDoc) return undefined;
    const slash = name.indexOf('/');
    const ddoc = await this.source.readDoc(`_design/${name.slice(0, slash)}`);
    const code = (ddoc?.filters as Record<string, unknown> | undefined)?.[name.slice(slash + 1)];
    return typeof code === 'string' ? code : undefined;
  }

  private async run(): Promise<ReplicationResult> {
    const o = this.opts;
    try {
      // The source first: a source that is missing or refuses us must not leave a new empty
      // target behind (CouchDB checks the source before it creates the target too).
      const sourceInfo = await this.source.info();
      if (o.createTarget) await this.target.create(o.createTargetParams);
      const targetInfo = await this.target.info();
      this.sourceInfo = sourceInfo;
      this.emptyTarget = isEmpty(targetInfo);
      const code = await this.filterCode();
      this.ids = replicationIds({
        nodeUuid: o.nodeUuid ?? defaultNodeUuid(),
        source: this.source.endpoint,
        target: this.target.endpoint,
        ...(o.docIds ? { docIds: o.docIds } : {}),
        ...(o.selector ? { selector: o.selector } : {}),
        ...(o.filter ? { filter: { name: o.filter, ...(code ? { code } : {}), ...(o.queryParams ? { queryParams: o.queryParams } : {}) } } : {}),
        ...(o.sinceSeq !== undefined ? { sinceSeq: o.sinceSeq } : {}),
        continuous: this.continuous,
        createTarget: o.createTarget === true,
      });
      let startSeq: Seq = o.sinceSeq ?? 0;
      let history: HistoryEntry[] = [];
      if (o.useCheckpoints !== false) {
        const found = await Checkpointer.read(this.source, this.target, this.ids.checkpointId);
        this.sourceLog = found.sourceLog;
        // A checkpoint wins over since_seq (CouchDB 437a586f, couch_replicator_scheduler_job.erl).
        if (found.common) ({ startSeq, history } = found);
      }
      this.log.info({ id: this.ids.repId, startSeq, source: this.source.label, target: this.target.label }, 'replication starting');
      this.stats = emptyStats(startSeq);
      this.stats.pending = pendingFrom(sourceInfo.updateSeq, startSeq);
      this.checkpointer = new Checkpointer(this.source, this.target, {
        checkpointId: this.ids.checkpointId,
        startSeq,
        history,
        docIdsReplication: o.docIds !== undefined,
      });
      this.tracker = new SeqTracker(startSeq);
      this.state = 'running';
      await this.pump(startSeq);
      await this.checkpoint();
      await this.checkpointChain;
      this.state = this.stopping ? 'stopped' : 'completed';
      this.progress();
      return this.result();
    } catch (err) {
      this.state = 'failed';
      this.error = err;
      this.log.warn({ err: (err as Error).message, id: this.ids?.repId }, 'replication failed');
      throw err;
    } finally {
      for (const p of this.owned) await p.close().catch(() => undefined);
    }
  }

  /** The read loop: feed batches to at most `workers` parallel batch writers. */
  private async pump(startSeq: Seq): Promise<void> {
    const o = this.opts;
    const workers = Math.max(1, o.workers ?? 4);
    const tracker = this.tracker!;
    const filter = this.filter();
    const feed = this.source.changes({
      since: startSeq,
      feed: this.continuous && (o.liveFeed ?? 'continuous') === 'continuous' ? 'continuous' : 'normal',
      live: this.continuous,
      batchSize: Math.max(1, o.batchSize ?? 500),
      style: 'all_docs',
      // Filling an empty target: first revisions come with the feed (see batch-worker.ts).
      ...(this.emptyTarget ? { includeDocs: true } : {}),
      ...(filter ? { filter } : {}),
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    });
    this.feed = feed;
    if (this.stopping) await feed.close();
    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    const timer = setInterval(() => {
      this.checkpoint().catch((err: unknown) => {
        failure ??= err;
        void feed.close().catch(() => undefined);
      });
    }, o.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS);
    timer.unref();
    try {
      for await (const batch of feed) {
        if (failure !== undefined || this.stopping) break;
        this.stats.changes_read += batch.results.length;
        this.stats.source_seq = batch.lastSeq;
        this.stats.pending = batch.pending ?? pendingFrom(this.sourceInfo?.updateSeq, batch.lastSeq) ?? this.stats.pending;
        while (inflight.size >= workers) await Promise.race(inflight);
        if (failure !== undefined) break;
        const token = tracker.add(batch.lastSeq);
        const skipRevsDiff = this.emptyTarget;
        if (batch.caughtUp) this.emptyTarget = false;
        const job: Promise<void> = replicateBatch(batch.results, {
          source: this.source,
          target: this.target,
          stats: this.stats,
          skipRevsDiff,
          onDenied: (f) => {
            // couch_replicator_worker handle_flush_docs_result/3: each refused document is
            // logged (and counted in doc_write_failures), the replication goes on.
            this.log.error({ id: f.id, rev: f.rev, target: this.target.label, error: f.error, reason: reasonText(f.reason) }, 'document not replicated');
            o.onDenied?.(f);
          },
        }).then(
          () => {
            tracker.done(token);
            this.stats.through_seq = tracker.throughSeq;
            this.progress();
          },
          (err: unknown) => {
            failure ??= err;
            void feed.close().catch(() => undefined);
          },
        );
        const tracked = job.finally(() => inflight.delete(tracked));
        inflight.add(tracked);
      }
    } catch (err) {
      failure ??= err;
    } finally {
      clearInterval(timer);
      await Promise.allSettled(inflight);
      await feed.close();
    }
    if (failure !== undefined) throw failure;
  }

  private counters(): SessionCounters {
    const s = this.stats;
    return {
      missing_checked: s.missing_checked,
      missing_found: s.missing_found,
      docs_read: s.docs_read,
      docs_written: s.docs_written,
      doc_write_failures: s.doc_write_failures,
    };
  }

  /** Records the through seq on both peers, unless it has not moved; checkpoints never overlap. */
  checkpoint(): Promise<void> {
    this.checkpointChain = this.checkpointChain.then(async () => {
      const cp = this.checkpointer;
      const tracker = this.tracker;
      if (!cp || !tracker || this.opts.useCheckpoints === false) return;
      // A one-shot run moves its through seq only with change rows: couch_replicator_changes_reader
      // process_change reports `last_seq` for continuous feeds alone. So a filtered or doc_ids run
      // that saw no row (Freshet's filtered feeds still advance `last_seq`) writes no checkpoint
      // and answers `no_changes`, as CouchDB's does.
      if (!this.continuous && this.stats.changes_read === 0) return;
      const seq = tracker.throughSeq;
      // Only when the through seq moved (since the start, or the last checkpoint).
      if (sameSeq(seq, this.stats.checkpointed_source_seq)) return;
      this.lastLog = await cp.record(seq, this.counters());
      this.stats.checkpointed_source_seq = seq;
      this.log.debug({ seq }, 'checkpoint recorded');
    });
    return this.checkpointChain;
  }

  private progress(): void {
    this.updatedAt = new Date();
    this.opts.onProgress?.(this);
  }

  private result(): ReplicationResult {
    const replication_id = this.ids?.repId ?? '';
    const log = this.lastLog ?? (this.opts.useCheckpoints === false && this.checkpointer && this.tracker
      ? this.checkpointer.body(this.tracker.throughSeq, this.counters())
      : undefined);
    if (log === undefined) {
      // couch_replicator_scheduler_job init_state: `{[{no_changes, true} | SourceLogBody]}`.
      const prev = this.sourceLog ?? {};
      return {
        ok: true,
        no_changes: true,
        ...(typeof prev.session_id === 'string' ? { session_id: prev.session_id } : {}),
        ...(prev.source_last_seq !== undefined ? { source_last_seq: prev.source_last_seq as Seq } : {}),
        ...(typeof prev.replication_id_version === 'number' ? { replication_id_version: prev.replication_id_version } : {}),
        ...(Array.isArray(prev.history) ? { history: prev.history as HistoryEntry[] } : {}),
        replication_id,
        stats: { ...this.stats },
      };
    }
    return {
      ok: true,
      session_id: log.session_id as string,
      source_last_seq: log.source_last_seq,
      replication_id_version: log.replication_id_version as number,
      history: log.history as HistoryEntry[],
      replication_id,
      stats: { ...this.stats },
    };
  }
}

/** Runs a replication to its end (one-shot) or until `signal` aborts (continuous). */
export function replicate(opts: ReplicationOptions): Promise<ReplicationResult> {
  return new Replication(opts).start();
}
