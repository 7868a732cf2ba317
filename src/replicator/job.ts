/**
 * One scheduled replication job, as CouchDB's scheduler runs them (replication/replicator.rst,
 * couch_replicator_scheduler.erl): a one-shot job runs once to `completed`; a continuous one runs
 * until cancelled. A job whose replication crashed goes to `crashing`, waits with exponential
 * backoff and starts again, resuming from its last checkpoint; a request that can never work
 * (bad URL, missing database without create_target after retries) keeps retrying as CouchDB does,
 * with the error visible in `_scheduler/docs`.
 */
import type { Logger } from '../common/logger.js';
import { errorText, isReplicationError, ReplicationError } from './errors.js';
import { HttpPeer } from './http-peer.js';
import type { Peer } from './peer.js';
import { Replication, type ReplicationOptions, type ReplicationResult } from './replicator.js';
import { policyDelay, sleep, type BackoffPolicy } from '../common/backoff.js';
import type { ReplicationRequest } from './request.js';

export type JobState = 'initializing' | 'running' | 'pending' | 'crashing' | 'completed' | 'failed';

export interface JobEvent {
  timestamp: string;
  type: 'added' | 'started' | 'crashed' | 'stopped' | 'completed';
  reason?: string;
}

export interface JobOrigin {
  /** `_replicator` database name. */
  database: string;
  docId: string;
}

export interface JobSettings {
  nodeUuid: string;
  /** Opens bare-name (local) endpoints, with the access of the job's user. */
  localPeer?: (dbName: string, user: { name: string | null; roles: string[] }) => Peer;
  restartBackoff: BackoffPolicy;
  /** Defaults for every job (batch size, workers, …), overridden by the request. */
  defaults: Partial<ReplicationOptions>;
  logger: Logger;
}

let pids = 0;

export class ReplicationJob {
  readonly pid = `<0.${++pids}.0>`;
  state: JobState = 'initializing';
  readonly history: JobEvent[] = [];
  errorCount = 0;
  lastError: string | undefined;
  startTime = new Date();
  lastUpdated = new Date();
  result: ReplicationResult | undefined;
  current: Replication | undefined;
  private stopped = false;
  private readonly wake = new AbortController();
  private runPromise: Promise<ReplicationResult | undefined> | undefined;

  constructor(
    /** Job id: base id plus `+continuous`/`+create_target`. */
    readonly id: string,
    readonly request: ReplicationRequest,
    readonly user: string | null,
    readonly origin: JobOrigin | null,
    private readonly settings: JobSettings,
    /** Restart crashed runs (documents: yes; a transient one-shot `_replicate`: no). */
    private readonly restart: boolean,
  ) {
    this.event('added');
  }

  private event(type: JobEvent['type'], reason?: string): void {
    this.history.unshift({ timestamp: new Date().toISOString(), type, ...(reason ? { reason } : {}) });
    this.history.length = Math.min(this.history.length, 20);
    this.lastUpdated = new Date();
  }

  get source(): string {
    return this.request.source.url;
  }

  get target(): string {
    return this.request.target.url;
  }

  /** Starts the job; the promise settles when it completes, fails for good, or is stopped. */
  run(): Promise<ReplicationResult | undefined> {
    this.runPromise ??= this.loop();
    return this.runPromise;
  }

  private options(): ReplicationOptions {
    const r = this.request;
    const d = this.settings.defaults;
    const http = (headers: Record<string, string>) => ({ ...d.http, headers: { ...d.http?.headers, ...headers }, ...(r.connections ? { maxConnections: r.connections } : {}) });
    const peer = (e: ReplicationRequest['source']): Peer => {
      if (e.local === undefined) return new HttpPeer(e.url, http(e.headers));
      if (!this.settings.localPeer) throw new ReplicationError('BAD_REQUEST', `${e.local}: local databases are not available here`);
      return this.settings.localPeer(e.local, r.userCtx ?? { name: this.user, roles: [] });
    };
    return {
      ...d,
      source: peer(r.source),
      target: peer(r.target),
      nodeUuid: this.settings.nodeUuid,
      continuous: r.continuous,
      createTarget: r.createTarget,
      ...(r.createTargetParams ? { createTargetParams: r.createTargetParams } : {}),
      useCheckpoints: r.useCheckpoints,
      logger: this.settings.logger,
      ...(r.docIds ? { docIds: r.docIds } : {}),
      ...(r.selector ? { selector: r.selector } : {}),
      ...(r.filter ? { filter: r.filter } : {}),
      ...(r.queryParams ? { queryParams: r.queryParams } : {}),
      ...(r.sinceSeq !== undefined ? { sinceSeq: r.sinceSeq } : {}),
      ...(r.checkpointIntervalMs ? { checkpointIntervalMs: r.checkpointIntervalMs } : {}),
      ...(r.workers ? { workers: r.workers } : {}),
      ...(r.batchSize ? { batchSize: r.batchSize } : {}),
      onProgress: () => {
        this.lastUpdated = new Date();
      },
    };
  }

  private async loop(): Promise<ReplicationResult | undefined> {
    while (!this.stopped) {
      let opts: ReplicationOptions;
      try {
        opts = this.options();
      } catch (err) {
        this.state = 'failed';
        this.lastError = errorText(err);
        throw err;
      }
      const rep = new Replication(opts);
      this.current = rep;
      this.state = 'running';
      this.startTime = new Date();
      this.event('started');
      try {
        const result = await rep.start();
        this.result = result;
        if (this.stopped) return result;
        this.state = 'completed';
        this.event('completed');
        return result;
      } catch (err) {
        this.lastError = errorText(err);
        if (this.stopped) return undefined;
        this.errorCount++;
        this.event('crashed', this.lastError);
        this.settings.logger.warn({ job: this.id, err: this.lastError }, 'replication job crashed');
        if (!this.restart) {
          this.state = 'failed';
          throw err;
        }
        this.state = 'crashing';
        if (!(await sleep(policyDelay(this.settings.restartBackoff, this.errorCount), this.wake.signal))) return undefined;
        this.state = 'pending';
      } finally {
        await Promise.all([opts.source, opts.target].map((p) => (typeof p === 'object' && 'close' in p ? p.close().catch(() => undefined) : undefined)));
      }
    }
    return undefined;
  }

  /** Cancels the job: the running replication stops after a last checkpoint. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake.abort();
    await this.current?.stop();
    await this.runPromise?.catch(() => undefined);
    if (this.state !== 'completed' && this.state !== 'failed') this.event('stopped');
  }

  /** CouchDB's status for an error a client can act on. */
  static statusOf(err: unknown): { status: number; error: string; reason: string } {
    if (!isReplicationError(err)) return { status: 500, error: 'replication_failed', reason: errorText(err) };
    switch (err.kind) {
      case 'DB_NOT_FOUND':
        return { status: 404, error: 'db_not_found', reason: `could not open ${err.context.url ?? ''}` };
      case 'UNAUTHORIZED':
        return { status: 401, error: 'unauthorized', reason: err.context.reason ?? err.message };
      case 'FORBIDDEN':
        return { status: 403, error: 'forbidden', reason: err.context.reason ?? err.message };
      case 'BAD_REQUEST':
        return { status: 400, error: 'bad_request', reason: err.context.reason ?? err.message };
      default:
        return { status: 500, error: err.code.toLowerCase(), reason: err.message };
    }
  }
}
