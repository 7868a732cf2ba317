/**
 * The CouchDB face's shared state: options, the route table, sessions, CORS, the per-database
 * handles, and the open connections and feeds (so that closing the face, or a client going away,
 * releases everything at once).
 */
import type { Socket } from 'node:net';
import type { ServerContext } from '../server/context.js';
import { DEFAULT_CORS, type CorsConfig } from './cors.js';
import { Sessions } from './auth.js';
import { Db } from './db.js';
import type { Router } from './router.js';
import type { Handler } from './request.js';
import type { Bucket } from '../engine/bucket.js';

export interface HttpFaceOptions {
  /** vbuckets of a database created by `PUT /{db}` without `?q=` (default 1024, Couchbase's count). */
  defaultQ?: number;
  /** Largest request body accepted (default 64 MiB); beyond it, 413. */
  maxBodyBytes?: number;
  /** `_changes` timeout when the client gives neither `timeout` nor `heartbeat` (CouchDB: 60000). */
  changesTimeoutMs?: number;
  /** Cookie session lifetime (CouchDB `[chttpd_auth] timeout`, 600 s). */
  sessionTimeoutSec?: number;
  /** Initial CORS settings; the `_config` API can change them at runtime. */
  cors?: Partial<CorsConfig>;
}

export type ResolvedOptions = Required<Omit<HttpFaceOptions, 'cors'>>;

export interface FaceStats {
  requests: number;
  errors: number;
  feedsOpened: number;
  feedsClosed: number;
}

const CORS_CONFIG_KEY = 'couch_cors';

export class HttpFace {
  readonly options: ResolvedOptions;
  cors: CorsConfig;
  readonly sockets = new Set<Socket>();
  /** One token per streaming response in progress. */
  readonly feeds = new Set<object>();
  readonly stats: FaceStats = { requests: 0, errors: 0, feedsOpened: 0, feedsClosed: 0 };
  private readonly dbs = new Map<string, Db>();

  constructor(
    readonly ctx: ServerContext,
    readonly router: Router<Handler>,
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
  }

  async setCors(next: CorsConfig): Promise<void> {
    this.cors = next;
    await this.ctx.engine.store.system.put(CORS_CONFIG_KEY, next);
  }

  /** The handle for a bucket, rebuilt if the bucket was deleted and re-created. */
  db(bucket: Bucket): Db {
    const existing = this.dbs.get(bucket.name);
    if (existing && existing.bucket === bucket) return existing;
    const db = new Db(bucket, this.ctx.engine.store);
    this.dbs.set(bucket.name, db);
    return db;
  }

  forgetDb(name: string): void {
    this.dbs.delete(name);
  }

  /** Number of streaming responses (feeds) still open. */
  get openFeeds(): number {
    return this.feeds.size;
  }

  /**
   * Count a streaming response as open until it finishes or its request is aborted (the client
   * went away, or the face is closing); returns the release function for a normal finish.
   */
  trackFeed(signal: AbortSignal): () => void {
    const token = {};
    this.feeds.add(token);
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
