/**
 * The replication job manager behind Freshet's `POST /_replicate`, `_replicator` databases,
 * `GET /_active_tasks`, `GET /_scheduler/jobs` and `GET /_scheduler/docs` (CouchDB
 * replication/replicator.rst, api/server/common.rst). The HTTP face mounts it through a narrow
 * interface and keeps ownership of the `_replicator` database itself:
 *
 * - `handleReplicate(body, auth)` answers `POST /_replicate` (status + JSON body);
 * - `loadReplicatorDocs(db, docs)` at startup and `replicatorDocChanged(db, id, doc)` on every
 *   write/delete of a `_replicator` document: continuous jobs therefore survive a restart, and
 *   resume from their checkpoints on the peers;
 * - `onDocState` (option) lets the face record `_replication_state` in the document, as CouchDB
 *   does for `completed` and `failed` (those documents are not run again after a restart);
 * - `activeTasks()`, `schedulerJobs()`, `schedulerDocs()` build the JSON of the three GETs.
 */
import { SILENT_LOGGER, type Logger } from '../common/logger.js';
import { isReplicationError } from './errors.js';
import { HttpPeer } from './http-peer.js';
import type { LocalUserCtx } from './local-peer.js';
import type { EndpointIdentity, LocalEndpointIdentity, Peer } from './peer.js';
import { ReplicationJob, type JobState } from './job.js';
import { replicationIds } from './replication-id.js';
import { parseReplicationRequest, type EndpointSpec, type ReplicationRequest, type RequestContext } from './request.js';
import { DEFAULT_FEED_BACKOFF, type BackoffPolicy } from './retry.js';
import { activeTaskJson, replicationSummary, schedulerDocJson, schedulerJobJson, type ReplicationSummary } from './task-views.js';
import type { ReplicationOptions } from './replicator.js';

export interface ReplicateAuth {
  /** Authenticated user name, null for an anonymous admin party. */
  name: string | null;
  roles?: string[];
  /** The request's Authorization header, reused when `source`/`target` is a bare database name. */
  authorization?: string;
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface ReplicatorManagerOptions {
  /** This node's uuid (the `uuid` of `GET /`): part of every replication id. */
  nodeUuid: string;
  /** Shown as `node` in the task JSON. */
  nodeName?: string;
  /** This server's CouchDB base URL, for bare database names in requests. */
  localBaseUrl?: () => string | undefined;
  logger?: Logger;
  restartBackoff?: BackoffPolicy;
  /** Defaults for every job (tests lower intervals). */
  defaults?: Partial<ReplicationOptions>;
  /**
   * Opens a database of this server as a peer (local-peer.ts), checking the user's access. With
   * it, bare database names in requests are local databases; without it, URLs of this server.
   */
  localPeer?: LocalPeerFactory;
  /** Record a document job's terminal state in its `_replicator` document. */
  onDocState?: (database: string, docId: string, state: 'completed' | 'failed', info: Record<string, unknown>) => void | Promise<void>;
}

export type LocalPeerFactory = (dbName: string, user: LocalUserCtx) => Peer;

/**
 * A `doc_ids` replication keeps no checkpoints; CouchDB also puts its session's times and counts
 * at the top of the answer, "for backwards compatibility" (couch_replicator_scheduler_job).
 */
function docIdsTopLevel(req: { docIds?: string[] }, history: ReadonlyArray<Record<string, unknown>> | undefined): Record<string, unknown> {
  const h = history?.[0];
  if (req.docIds === undefined || h === undefined) return {};
  const keys = ['start_time', 'end_time', 'docs_read', 'docs_written', 'doc_write_failures'];
  return Object.fromEntries(keys.filter((k) => h[k] !== undefined).map((k) => [k, h[k]]));
}

/**
 * A completed document job's `_replication_stats`, as couch_replicator_scheduler_job rep_stats/1
 * writes them (with the job's start time, as the scheduler's doc update adds it).
 */
function repStats(job: ReplicationJob): Record<string, unknown> {
  const s = job.result?.stats;
  return {
    start_time: new Date(job.startTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    revisions_checked: s?.missing_checked ?? 0,
    missing_revisions_found: s?.missing_found ?? 0,
    docs_read: s?.docs_read ?? 0,
    docs_written: s?.docs_written ?? 0,
    changes_pending: s?.pending ?? null,
    doc_write_failures: s?.doc_write_failures ?? 0,
    checkpointed_source_seq: s?.checkpointed_source_seq ?? 0,
  };
}

const TERMINAL = new Set(['completed', 'failed']);

export class ReplicatorManager {
  private readonly jobs = new Map<string, ReplicationJob>();
  /** Counts of jobs no longer in the table (finished one-shot jobs, cancelled ones). */
  private readonly retired = { docsRead: 0, docsWritten: 0, docFailures: 0 };
  /** `_replicator` documents by `db\u0000docId`, with their job id (or their parse error). */
  private readonly docs = new Map<string, { database: string; docId: string; jobId?: string; error?: string; state?: JobState }>();
  private readonly log: Logger;
  private closed = false;
  private localPeer: LocalPeerFactory | undefined;

  constructor(private readonly opts: ReplicatorManagerOptions) {
    this.log = opts.logger ?? SILENT_LOGGER;
    this.localPeer = opts.localPeer;
  }

  /** Turns bare database names into local databases from now on (the face's `_replicator` wiring). */
  useLocalDatabases(factory: LocalPeerFactory): void {
    this.localPeer = factory;
  }

  /** How bare database names resolve for requests from now on. */
  private requestContext(authorization?: string): RequestContext {
    const base = this.opts.localBaseUrl?.();
    return {
      ...(this.localPeer ? { localDatabases: true } : {}),
      ...(base ? { localBaseUrl: base } : {}),
      ...(authorization ? { authorization } : {}),
    };
  }

  private settings() {
    return {
      nodeUuid: this.opts.nodeUuid,
      ...(this.localPeer ? { localPeer: this.localPeer } : {}),
      restartBackoff: this.opts.restartBackoff ?? { ...DEFAULT_FEED_BACKOFF, initialMs: 1000, maxMs: 300_000 },
      defaults: this.opts.defaults ?? {},
      logger: this.log,
    };
  }

  private get nodeName(): string {
    return this.opts.nodeName ?? 'freshet@127.0.0.1';
  }

  /** The job id CouchDB would show: base id plus `+continuous` / `+create_target`. */
  jobIdOf(req: ReplicationRequest): string {
    const user = req.userCtx ?? { name: null, roles: [] };
    const identity = (e: EndpointSpec): EndpointIdentity | LocalEndpointIdentity => {
      if (e.local !== undefined) return { local: { dbName: e.local, userName: user.name, roles: user.roles } };
      const peer = new HttpPeer(e.url, { headers: e.headers });
      void peer.close().catch(() => undefined);
      return peer.endpoint;
    };
    const ids = replicationIds({
      nodeUuid: this.opts.nodeUuid,
      source: identity(req.source),
      target: identity(req.target),
      ...(req.docIds ? { docIds: req.docIds } : {}),
      ...(req.selector ? { selector: req.selector } : {}),
      ...(req.filter ? { filter: { name: req.filter, ...(req.queryParams ? { queryParams: req.queryParams } : {}) } } : {}),
      ...(req.sinceSeq !== undefined ? { sinceSeq: req.sinceSeq } : {}),
      continuous: req.continuous,
      createTarget: req.createTarget,
    });
    return ids.repId;
  }

  /** `POST /_replicate`. */
  async handleReplicate(body: unknown, auth: ReplicateAuth): Promise<HttpAnswer> {
    let req: ReplicationRequest;
    try {
      req = parseReplicationRequest(body, this.requestContext(auth.authorization));
      req.userCtx = { name: auth.name, roles: auth.roles ?? [] };
    } catch (err) {
      const e = ReplicationJob.statusOf(err);
      return { status: e.status, body: { error: e.error, reason: e.reason } };
    }
    const id = req.replicationId ?? this.jobIdOf(req);
    if (req.cancel) {
      const job = this.jobs.get(id) ?? [...this.jobs.values()].find((j) => j.id.split('+')[0] === id.split('+')[0] && j.origin === null);
      if (!job || job.origin !== null) return { status: 404, body: { error: 'not_found', reason: `Replication ${id} not found` } };
      // couch_replicator:check_authorization/2: the owner or a server admin.
      if (!(auth.roles ?? []).includes('_admin') && job.user !== auth.name) {
        return { status: 401, body: { error: 'unauthorized', reason: 'Only the owner or a server admin may cancel a replication.' } };
      }
      await job.stop();
      this.forget(job);
      return { status: 200, body: { ok: true, _local_id: job.id } };
    }
    const existing = this.jobs.get(id);
    if (req.continuous) {
      if (!existing) this.startJob(new ReplicationJob(id, req, auth.name, null, this.settings(), true));
      return { status: 202, body: { ok: true, _local_id: id } };
    }
    const job = existing ?? new ReplicationJob(id, req, auth.name, null, this.settings(), false);
    if (!existing) this.jobs.set(id, job);
    try {
      const result = await job.run();
      if (!result) return { status: 500, body: { error: 'replication_cancelled', reason: 'the replication was cancelled' } };
      const { stats: _stats, replication_id: _id, ...couch } = result;
      return { status: 200, body: { ...couch, ...docIdsTopLevel(req, couch.history) } };
    } catch (err) {
      const e = ReplicationJob.statusOf(err);
      return { status: e.status, body: { error: e.error, reason: e.reason } };
    } finally {
      if (this.jobs.get(id) === job && !req.continuous) this.forget(job);
    }
  }

  private startJob(job: ReplicationJob): void {
    this.jobs.set(job.id, job);
    job.run().then(
      (result) => this.finished(job, result ? 'completed' : undefined),
      () => this.finished(job, 'failed'),
    );
  }

  private finished(job: ReplicationJob, state: 'completed' | 'failed' | undefined): void {
    if (this.jobs.get(job.id) === job && job.origin === null) this.forget(job);
    if (!job.origin || !state || this.closed) return;
    const key = `${job.origin.database}\u0000${job.origin.docId}`;
    const doc = this.docs.get(key);
    if (doc?.jobId !== job.id) return;
    doc.state = state;
    const info = state === 'completed' ? repStats(job) : { error: job.lastError ?? 'failed' };
    Promise.resolve(this.opts.onDocState?.(job.origin.database, job.origin.docId, state, info)).catch((err: unknown) =>
      this.log.warn({ err }, 'could not record the replication state'),
    );
  }

  /** Startup: every document of a `_replicator` database. */
  async loadReplicatorDocs(database: string, docs: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    for (const doc of docs) if (typeof doc._id === 'string') await this.replicatorDocChanged(database, doc._id, doc);
  }

  /**
   * A `_replicator` document was written (doc) or deleted (null). Design documents are ignored;
   * a document already `completed`/`failed` is not run again, unless written again without its
   * `_replication_state`; a changed document restarts its job.
   */
  async replicatorDocChanged(database: string, docId: string, doc: Record<string, unknown> | null): Promise<void> {
    if (docId.startsWith('_design/') || this.closed) return;
    const key = `${database}\u0000${docId}`;
    const prev = this.docs.get(key);
    if (doc === null || doc._deleted === true) {
      this.docs.delete(key);
      if (prev?.jobId) await this.dropJob(prev.jobId);
      return;
    }
    const known = typeof doc._replication_state === 'string' ? doc._replication_state : undefined;
    let req: ReplicationRequest;
    try {
      req = parseReplicationRequest(doc, this.requestContext());
      req.userCtx = userCtxOf(doc);
    } catch (err) {
      if (prev?.jobId) await this.dropJob(prev.jobId);
      this.docs.set(key, { database, docId, state: 'failed', error: isReplicationError(err) ? (err.context.reason ?? err.message) : String(err) });
      return;
    }
    const id = this.jobIdOf(req);
    // Same replication, e.g. only the state fields changed; but a finished document written again
    // without `_replication_state` runs again, as couch_replicator_doc_processor forgets a
    // completed document ({completed, Id} deletes its row) and process_updated starts it anew.
    const rerun = known === undefined && prev?.state !== undefined && TERMINAL.has(prev.state);
    if (prev?.jobId === id && this.jobs.has(id) && !rerun) return;
    if (prev?.jobId) await this.dropJob(prev.jobId);
    if (known !== undefined && TERMINAL.has(known)) {
      this.docs.set(key, { database, docId, jobId: id, state: known as JobState });
      return;
    }
    if (this.jobs.has(id)) {
      this.docs.set(key, { database, docId, state: 'failed', error: `Replication ${id} specified by document ${docId} already started` });
      return;
    }
    this.docs.set(key, { database, docId, jobId: id });
    this.startJob(new ReplicationJob(id, req, req.userCtx?.name ?? null, { database, docId }, this.settings(), true));
  }

  private async dropJob(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    this.forget(job);
    await job.stop();
  }

  /** Drop a job from the table, keeping its document counts in the totals. */
  private forget(job: ReplicationJob): void {
    if (this.jobs.get(job.id) !== job) return;
    this.jobs.delete(job.id);
    const s = replicationSummary(job);
    this.retired.docsRead += s.docsRead;
    this.retired.docsWritten += s.docsWritten;
    this.retired.docFailures += s.docFailures;
  }

  /** Every job in the table (running, pending, crashing, continuous), for metrics. */
  summaries(): ReplicationSummary[] {
    return [...this.jobs.values()].map(replicationSummary);
  }

  /** Documents read, written and refused by every job since start (CouchDB couch_replicator stats). */
  totals(): { docsRead: number; docsWritten: number; docFailures: number; jobs: number } {
    const t = { ...this.retired, jobs: this.jobs.size };
    for (const s of this.summaries()) {
      t.docsRead += s.docsRead;
      t.docsWritten += s.docsWritten;
      t.docFailures += s.docFailures;
    }
    return t;
  }

  /** `GET /_active_tasks`: the replications running now. */
  activeTasks(): Array<Record<string, unknown>> {
    return [...this.jobs.values()].filter((j) => j.state === 'running' && j.current).map((j) => activeTaskJson(j, this.nodeName));
  }

  /** `GET /_scheduler/jobs[?limit&skip]`. */
  schedulerJobs(query: { limit?: number; skip?: number } = {}): Record<string, unknown> {
    const all = [...this.jobs.values()].filter((j) => j.state !== 'completed').sort((a, b) => a.id.localeCompare(b.id));
    const skip = query.skip ?? 0;
    const page = all.slice(skip, query.limit === undefined ? undefined : skip + query.limit);
    return { total_rows: all.length, offset: skip, jobs: page.map((j) => schedulerJobJson(j, this.nodeName)) };
  }

  /** `GET /_scheduler/docs[/{db}[/{docid}]]`; null when the document is unknown. */
  schedulerDocs(database?: string, docId?: string): Record<string, unknown> | null {
    const rows = [...this.docs.values()].filter((d) => (database === undefined || d.database === database) && (docId === undefined || d.docId === docId));
    const views = rows.map((d) => schedulerDocJson(d, d.jobId ? this.jobs.get(d.jobId) : undefined, this.nodeName));
    if (docId !== undefined) return views[0] ?? null;
    return { total_rows: views.length, offset: 0, docs: views };
  }

  /** Stops every job (each writes a last checkpoint). */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    await Promise.all(jobs.map((j) => j.stop()));
  }
}

/** A `_replicator` document's `user_ctx` (`{name, roles}`); none means anonymous, as in CouchDB. */
function userCtxOf(doc: Record<string, unknown>): LocalUserCtx {
  const ctx = doc.user_ctx;
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) return { name: null, roles: [] };
  const { name, roles } = ctx as Record<string, unknown>;
  return {
    name: typeof name === 'string' ? name : null,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
  };
}
