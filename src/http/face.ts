/**
 * The CouchDB face's shared state: options, the route table, sessions, CORS, the per-database
 * handles, the open feeds (so that closing the face, or a client going away, releases everything
 * at once; the open connections are the server's, src/web/server.ts), and the replication job
 * manager with its `_replicator` database (src/replicator/manager.ts).
 */
import type { Logger } from '../common/logger.js';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Ports } from '../topology/addresses.js';
import type { MetricsProvider } from '../common/metrics.js';
import type { AccessLog } from '../common/access-log.js';
import { DEFAULT_CORS, type CorsConfig } from './cors.js';
import { Sessions } from './auth.js';
import { Db } from '../couchdb/db.js';
import type { RouteTable } from '../web/route-table.js';
import type { Handler } from './request.js';
import type { Bucket } from '../engine/bucket.js';
import { ReplicatorManager } from '../replicator/manager.js';
import type { RequestContext } from '../replicator/request.js';
import type { ReplicationOptions } from '../replicator/replicator.js';
import type { BackoffPolicy } from '../replicator/retry.js';
import { ReplicatorDb } from '../couchdb/replicator-db.js';
import { useLocalDatabases } from './local-replication.js';

/** What the CouchDB face is built from (the server passes it to `startHttpFace`). */
export interface HttpDeps {
  readonly engine: Engine;
  readonly users: UserRegistry;
  /** Failed-login throttle shared by every face's password checks (src/auth/throttle.ts). */
  readonly authThrottle: AuthThrottle;
  readonly logger: Logger;
  /** The host to listen on. */
  readonly host: string;
  /** The server's bound ports, live (`Location` headers name the HTTP port). */
  readonly ports: Readonly<Ports>;
  /** The server's metrics (`_node/{node}/_stats`, `_prometheus`); absent when the face runs alone. */
  readonly metrics?: MetricsProvider;
  /** `serve --access-log`: one entry per request. */
  readonly accessLog?: AccessLog;
}

export interface HttpFaceOptions {
  /** vbuckets of a database created by `PUT /{db}` without `?q=` (default 1024, Couchbase's count). */
  defaultQ?: number;
  /**
   * Largest request body accepted (default 64 MiB); beyond it, 413 too_large. It must admit a
   * revision at the value limit (engine/limits.ts, 20 MiB) sent inline: base64 makes that ~27 MiB.
   */
  maxBodyBytes?: number;
  /** `_changes` timeout when the client gives neither `timeout` nor `heartbeat` (CouchDB: 60000). */
  changesTimeoutMs?: number;
  /** Cookie session lifetime (CouchDB `[chttpd_auth] timeout`, 600 s). */
  sessionTimeoutSec?: number;
  /** Initial CORS settings; the `_config` API can change them at runtime. */
  cors?: Partial<CorsConfig>;
  /** Settings of the replication jobs this face runs (tests lower intervals and backoff). */
  replicator?: { defaults?: Partial<ReplicationOptions>; restartBackoff?: BackoffPolicy };
}

export type ResolvedOptions = Required<Omit<HttpFaceOptions, 'cors' | 'replicator'>>;

export interface FaceStats {
  requests: number;
  errors: number;
  feedsOpened: number;
  feedsClosed: number;
  /** Requests by method and replies by status code (CouchDB `httpd_request_methods`, `httpd_status_codes`). */
  readonly methods: Record<string, number>;
  readonly statusCodes: Record<string, number>;
  /** Document reads and writes of databases since dropped (the open ones count in their Db). */
  forgottenReads: number;
  forgottenWrites: number;
}

const CORS_CONFIG_KEY = 'couch_cors';

export class HttpFace {
  readonly options: ResolvedOptions;
  cors: CorsConfig;
  /** One entry per streaming response in progress: its token and its mode (`feed=`). */
  readonly feeds = new Map<object, string>();
  readonly stats: FaceStats = {
    requests: 0, errors: 0, feedsOpened: 0, feedsClosed: 0, methods: {}, statusCodes: {}, forgottenReads: 0, forgottenWrites: 0,
  };
  private readonly dbs = new Map<string, Db>();
  /** `_replicate`, `_replicator` documents, `_active_tasks`, `_scheduler/*` (one manager per face). */
  readonly replicator: ReplicatorManager;
  readonly replicatorDb: ReplicatorDb;
  /** The port this face listens on, once bound (bare database names in replications resolve to it). */
  port: number | undefined;

  constructor(
    readonly ctx: HttpDeps,
    readonly routes: RouteTable<Handler>,
    readonly sessions: Sessions,
    options: HttpFaceOptions,
  ) {
    this.options = {
      defaultQ: options.defaultQ ?? 1024,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      changesTimeoutMs: options.changesTimeoutMs ?? 60_000,
      sessionTimeoutSec: options.sessionTimeoutSec ?? 600,
    };
    const saved = ctx.engine.store.system.get(CORS_CONFIG_KEY) as Partial<CorsConfig> | undefined;
    this.cors = { ...DEFAULT_CORS, ...options.cors, ...saved };
    const rep = options.replicator;
    this.replicator = new ReplicatorManager({
      nodeUuid: ctx.engine.uuid,
      nodeName: `freshet@${ctx.host}`,
      localBaseUrl: () => this.localBaseUrl(),
      logger: ctx.logger,
      ...(rep?.defaults ? { defaults: rep.defaults } : {}),
      ...(rep?.restartBackoff ? { restartBackoff: rep.restartBackoff } : {}),
      onDocState: (db, id, state, info) => this.replicatorDb.recordState(db, id, state, info),
    });
    useLocalDatabases({ engine: ctx.engine, manager: this.replicator, db: (b) => this.db(b), users: ctx.users });
    this.replicatorDb = new ReplicatorDb({ engine: ctx.engine, manager: this.replicator, logger: ctx.logger, db: (b) => this.db(b) });
  }

  /** This face's own base URL, reachable from this process (a wildcard bind address means loopback). */
  localBaseUrl(): string | undefined {
    if (this.port === undefined) return undefined;
    const host = this.ctx.host === '0.0.0.0' || this.ctx.host === '' ? '127.0.0.1' : this.ctx.host === '::' ? '::1' : this.ctx.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** How a replication request resolves bare database names: against this face, as the requester. */
  localRequestContext(authorization: string | undefined): RequestContext {
    const base = this.localBaseUrl();
    return { ...(base ? { localBaseUrl: base } : {}), ...(authorization ? { authorization } : {}) };
  }

  /**
   * Stop the replication side before the listener closes: jobs whose source or target is this
   * server write their last checkpoint through it, and state writes finish before the engine
   * closes.
   */
  async closeReplication(): Promise<void> {
    await this.replicatorDb.close();
    await this.replicator.close();
    await this.replicatorDb.drain();
  }

  async setCors(next: CorsConfig): Promise<void> {
    this.cors = next;
    await this.ctx.engine.store.putMeta(this.ctx.engine.store.system, CORS_CONFIG_KEY, next);
  }

  /** The handle for a bucket, rebuilt if the bucket was deleted and re-created. */
  db(bucket: Bucket): Db {
    const existing = this.dbs.get(bucket.name);
    if (existing && existing.bucket === bucket) return existing;
    const db = new Db(bucket);
    this.dbs.set(bucket.name, db);
    return db;
  }

  forgetDb(name: string): void {
    const db = this.dbs.get(name);
    if (db) {
      this.stats.forgottenReads += db.stats.reads;
      this.stats.forgottenWrites += db.stats.writes;
    }
    this.dbs.delete(name);
  }

  /** Document reads and writes through this face (CouchDB `database_reads`, `database_writes`). */
  docTraffic(): { reads: number; writes: number } {
    let reads = this.stats.forgottenReads;
    let writes = this.stats.forgottenWrites;
    for (const db of this.dbs.values()) {
      reads += db.stats.reads;
      writes += db.stats.writes;
    }
    return { reads, writes };
  }

  /** Databases this face has a handle on (CouchDB `open_databases`). */
  get openDatabases(): number {
    return this.dbs.size;
  }

  /** Open feeds by mode (continuous, longpoll, eventsource, normal...). */
  feedsByMode(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const mode of this.feeds.values()) out[mode] = (out[mode] ?? 0) + 1;
    return out;
  }

  /** Number of streaming responses (feeds) still open. */
  get openFeeds(): number {
    return this.feeds.size;
  }

  /**
   * Count a streaming response as open until it finishes or its request is aborted (the client
   * went away, or the face is closing); returns the release function for a normal finish.
   */
  trackFeed(signal: AbortSignal, mode: string): () => void {
    const token = {};
    this.feeds.set(token, mode);
    this.stats.feedsOpened++;
    const release = (): void => {
      signal.removeEventListener('abort', release);
      if (this.feeds.delete(token)) this.stats.feedsClosed++;
    };
    signal.addEventListener('abort', release, { once: true });
    if (signal.aborted) release();
    return release;
  }
}
