/**
 * The CouchDB face's shared state: options, the route table, sessions, CORS, the per-database
 * handles, the open feeds (so that closing the face, or a client going away, releases everything
 * at once; the open connections are the server's, src/web/server.ts), and the replication job
 * manager with its `_replicator` database (src/replicator/manager.ts).
 */
import { DEFAULT_MAX_PARTITION_SIZE } from '../couchdb/partition-size.js';
import type { Logger } from '../common/logger.js';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Ports } from '../topology/addresses.js';
import type { MetricsProvider } from '../common/metrics.js';
import type { AccessLog } from '../common/access-log.js';
import { DEFAULT_CORS, type CorsConfig } from './cors.js';
import { Sessions } from './auth.js';
import { Db, SIDE_NAMESPACE_BASES } from '../couchdb/db.js';
import { watchCollectionDrops } from '../couchdb/side-store.js';
import type { RouteTable } from '../web/route-table.js';
import type { Handler } from './request.js';
import type { Bucket } from '../engine/bucket.js';
import type { ReplicatorManager } from '../replicator/manager.js';
import type { RequestContext } from '../replicator/request.js';
import type { ReplicationOptions } from '../replicator/replicator.js';
import type { BackoffPolicy } from '../replicator/retry.js';
import { ReplicatorDb, type ReplicatorJobs } from '../couchdb/replicator-db.js';
import { GlobalChanges } from '../couchdb/global-changes.js';
import { attachmentCompressionOf, CouchConfig } from '../couchdb/config.js';
import { UuidGenerator } from '../couchdb/uuids.js';
import { CouchUsers } from './couch-users.js';
import { PasswordsCache } from '../couchdb/passwords-cache.js';
import { AuthLockout } from './auth-lockout.js';
import { DiskMonitor } from '../couchdb/disk-monitor.js';
import type { AccessHost } from './db-access.js';
import { applyLogLevel } from './config-routes.js';
import { DesignFunctions } from '../design/design-docs.js';
import type { SandboxOptions } from '../design/sandbox.js';

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
  /** Limits of design functions (src/design/sandbox.ts: 5 s per call, 64 MiB per design document). */
  design?: Pick<SandboxOptions, 'timeoutMs' | 'memoryBytes' | 'maxRuntimes'>;
}

export type ResolvedOptions = Required<Omit<HttpFaceOptions, 'cors' | 'replicator' | 'design'>>;

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
/** `_config` changes other than CORS (couchdb/config.ts), in the engine's system database. */
const CONFIG_KEY = 'couch_config';

export class HttpFace {
  readonly options: ResolvedOptions;
  cors: CorsConfig;
  /** One entry per streaming response in progress: its token and its mode (`feed=`). */
  readonly feeds = new Map<object, string>();
  readonly stats: FaceStats = {
    requests: 0, errors: 0, feedsOpened: 0, feedsClosed: 0, methods: {}, statusCodes: {}, forgottenReads: 0, forgottenWrites: 0,
  };
  /** Handles by bucket name, plus NUL and the collection id for a named collection. */
  private readonly dbs = new Map<string, Db>();
  readonly #watched = new WeakSet<Bucket>();
  readonly replicatorDb: ReplicatorDb;
  /** Database events into `_global_changes`, behind `/_db_updates` (couchdb/global-changes.ts). */
  readonly globalChanges: GlobalChanges;
  /** The replication job manager once loaded (`replicationManager()`); none loaded means no jobs. */
  #replicator: ReplicatorManager | undefined;
  #replicatorLoading: Promise<ReplicatorManager> | undefined;
  #replicationClosed = false;
  readonly #replicatorOptions: HttpFaceOptions['replicator'];
  /** The port this face listens on, once bound (bare database names in replications resolve to it). */
  port: number | undefined;
  /** `/_node/{node}/_config` (couchdb/config.ts); the design-function sandbox reads its limits here. */
  readonly config: CouchConfig;
  /** Server-generated ids by `[uuids] algorithm` (couchdb/uuids.ts). */
  readonly uuids: UuidGenerator;
  /** `_users` logins (couch-users.ts). */
  readonly couchUsers: CouchUsers;
  /** CouchDB's password cache and its `_stats` counters (couchdb/passwords-cache.ts). */
  readonly passwords: PasswordsCache;
  /** `[chttpd_auth_lockout]` (auth-lockout.ts). */
  readonly lockout: AuthLockout;
  /** `[disk_monitor]` (couchdb/disk-monitor.ts): the data directory's filesystem against its thresholds. */
  readonly disk: DiskMonitor;
  /** What the access rules read (db-access.ts). */
  readonly access: AccessHost;
  /** Filters and validate_doc_update: the QuickJS sandbox, loaded on first use (src/design/). */
  readonly design: DesignFunctions;

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
    this.#replicatorOptions = options.replicator;
    const store = ctx.engine.store;
    this.config = new CouchConfig({ load: () => store.system.get(CONFIG_KEY), save: (v) => store.putMeta(store.system, CONFIG_KEY, v) });
    // A level set through `_config` before a restart applies again, as CouchDB's local.ini does.
    const level = this.config.get('log', 'level');
    if (level !== undefined && this.config.isSet('log', 'level')) applyLogLevel(ctx.logger, level);
    this.config.onChange((section, key, value) => {
      if (section === 'log' && key === 'level' && value !== undefined) applyLogLevel(ctx.logger, value);
    });
    this.uuids = new UuidGenerator((key) => this.config.get('uuids', key));
    this.couchUsers = new CouchUsers(ctx.engine, (b) => this.db(b), () => {
      const size = Number.parseInt(this.config.chttpdAuth('auth_cache_size') ?? '', 10);
      return Number.isSafeInteger(size) && size > 0 ? size : 50;
    });
    this.passwords = new PasswordsCache(this.config);
    this.lockout = new AuthLockout(this.config, ctx.logger);
    this.disk = new DiskMonitor(this.config, ctx.engine.store.path);
    this.access = { users: ctx.users, config: this.config, passwords: this.passwords };
    this.design = new DesignFunctions({
      ...options.design,
      onLog: (ddocId, message) => ctx.logger.info({ ddoc: ddocId }, `design function log: ${message}`),
    });
    // The sandbox's limits are `_config` settings (CouchDB's os_process_timeout), live.
    const sandboxLimits = (): void => this.design.setLimits({
      timeoutMs: this.config.int('query_server_config', 'os_process_timeout', 5000),
      memoryBytes: this.config.int('query_server_config', 'memory_limit_bytes', 64 * 1024 * 1024),
    });
    if (this.config.isSet('query_server_config', 'os_process_timeout') || this.config.isSet('query_server_config', 'memory_limit_bytes')) sandboxLimits();
    this.config.onChange((section) => {
      if (section === 'query_server_config') sandboxLimits();
    });
    // The `_replicator` database hands its documents over through this: an empty (or missing)
    // `_replicator` at start, the common case, never loads the manager; a document to run does.
    const jobs: ReplicatorJobs = {
      loadReplicatorDocs: async (db, docs) => {
        if (docs.length > 0) await (await this.replicationManager()).loadReplicatorDocs(db, docs);
      },
      replicatorDocChanged: async (db, id, body) => {
        // A manager never loaded knows no document: a deletion has nothing to stop.
        if (body === null && this.#replicatorLoading === undefined) return;
        await (await this.replicationManager()).replicatorDocChanged(db, id, body);
      },
    };
    this.replicatorDb = new ReplicatorDb({ engine: ctx.engine, manager: jobs, logger: ctx.logger, db: (b) => this.db(b) });
    this.globalChanges = new GlobalChanges({ engine: ctx.engine, logger: ctx.logger, db: (b) => this.db(b) });
  }

  /** The manager if loaded: metrics read it without loading it (none loaded means no jobs). */
  get replicator(): ReplicatorManager | undefined {
    return this.#replicator;
  }

  /**
   * `_replicate`, `_replicator` documents, `_active_tasks`, `_scheduler/*` (one manager per face).
   * Loaded on first use: the replicator and its HTTP client (undici) cost a cold start ~100 ms of
   * module loading that a server with no replication never needs.
   */
  replicationManager(): Promise<ReplicatorManager> {
    this.#replicatorLoading ??= this.#loadReplicator();
    return this.#replicatorLoading;
  }

  async #loadReplicator(): Promise<ReplicatorManager> {
    const [{ ReplicatorManager }, { useLocalDatabases }] = await Promise.all([import('../replicator/manager.js'), import('./local-replication.js')]);
    const rep = this.#replicatorOptions;
    const manager = new ReplicatorManager({
      nodeUuid: this.ctx.engine.uuid,
      nodeName: `freshet@${this.ctx.host}`,
      localBaseUrl: () => this.localBaseUrl(),
      logger: this.ctx.logger,
      ...(rep?.defaults ? { defaults: rep.defaults } : {}),
      ...(rep?.restartBackoff ? { restartBackoff: rep.restartBackoff } : {}),
      onDocState: (db, id, state, info) => this.replicatorDb.recordState(db, id, state, info),
    });
    useLocalDatabases({ engine: this.ctx.engine, manager, db: (b, c) => this.db(b, c), access: this.access, design: this.design });
    // Loaded while the face closes: closed at once, as the eager manager was by closeReplication.
    if (this.#replicationClosed) await manager.close();
    this.#replicator = manager;
    return manager;
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
    this.#replicationClosed = true;
    await this.replicatorDb.close();
    // A manager still loading closes itself as it arrives (#loadReplicator).
    if (this.#replicatorLoading !== undefined) await (await this.#replicatorLoading).close();
    await this.replicatorDb.drain();
  }

  async setCors(next: CorsConfig): Promise<void> {
    this.cors = next;
    await this.ctx.engine.store.putMeta(this.ctx.engine.store.system, CORS_CONFIG_KEY, next);
  }

  /**
   * The handle for a collection of a bucket (the default one when omitted), rebuilt if the bucket
   * was deleted and re-created. The first handle on a bucket starts removing the side data
   * (`_local` docs, attachments, settings) of its collections as they are dropped.
   */
  db(bucket: Bucket, collectionId = 0): Db {
    const key = collectionId === 0 ? bucket.name : `${bucket.name}\u0000${collectionId.toString(16)}`;
    const existing = this.dbs.get(key);
    if (existing && existing.bucket === bucket) return existing;
    if (!this.#watched.has(bucket)) {
      this.#watched.add(bucket);
      watchCollectionDrops(bucket, SIDE_NAMESPACE_BASES, (err, collectionId) =>
        this.ctx.logger.warn({ err, bucket: bucket.name, collectionId }, 'could not remove the side data of a dropped collection'));
    }
    const db = new Db(bucket, collectionId, () => attachmentCompressionOf(this.config), () => this.config.int('couchdb', 'max_partition_size', DEFAULT_MAX_PARTITION_SIZE), () => this.disk.blockInteractiveDatabaseWrites());
    this.dbs.set(key, db);
    return db;
  }

  /** Forget every handle on a bucket's collections (it was deleted). */
  forgetDb(bucketName: string): void {
    for (const [key, db] of this.dbs) {
      if (db.bucket.name !== bucketName) continue;
      this.stats.forgottenReads += db.stats.reads;
      this.stats.forgottenWrites += db.stats.writes;
      this.dbs.delete(key);
    }
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
