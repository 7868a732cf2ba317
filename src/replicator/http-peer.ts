/**
 * A replication peer reached over HTTP: any CouchDB-compatible database URL (CouchDB,
 * pouchdb-server, Freshet). Requests follow what CouchDB's replicator sends
 * (couch_replicator_api_wrap.erl; couch-replication.md §1.2 "What the real CouchDB replicator
 * sends"): `GET /{db}` to verify the peer, `PUT /{db}` to create it, `_changes`, `_revs_diff`,
 * `_bulk_get` / `open_revs`, `_bulk_docs` / multipart PUT, `_local` docs, `_ensure_full_commit`.
 */
import { ChangesFollower } from './follower.js';
import { DbClient, encodeDocId, type HttpClientOptions } from './http-client.js';
import { HttpDocFetcher } from './doc-fetch.js';
import { HttpDocWriter } from './doc-write.js';
import { isReplicationError, ReplicationError } from './errors.js';
import { DEFAULT_REQUEST_BACKOFF, type BackoffPolicy } from './retry.js';
import type {
  ChangesSource,
  EndpointIdentity,
  FetchedDoc,
  FetchRequest,
  FetchResult,
  Peer,
  PeerChangesOptions,
  PeerInfo,
  RevsDiffResult,
  WriteFailure,
} from './peer.js';

export interface HttpPeerOptions extends HttpClientOptions {
  /** Concurrent single-document requests (open_revs fallback, multipart PUTs). Default 8. */
  docConcurrency?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Ports CouchDB leaves out of the replication id (get_non_default_port/2). */
function nonDefaultPort(url: URL): number | 'default' {
  if (url.port === '') return 'default';
  const port = Number(url.port);
  if (url.protocol === 'http:' && (port === 80 || port === 5984)) return 'default';
  if (url.protocol === 'https:' && port === 443) return 'default';
  return port;
}

/** The user of a Basic `Authorization` header (CouchDB takes it when the URL has none). */
function basicUser(headers: Record<string, string> | undefined): string | undefined {
  const auth = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (!auth?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

export class HttpPeer implements Peer {
  readonly client: DbClient;
  readonly label: string;
  readonly endpoint: EndpointIdentity;
  private readonly fetcher: HttpDocFetcher;
  private readonly writer: HttpDocWriter;
  private readonly backoff: BackoffPolicy;

  constructor(url: string | URL, opts: HttpPeerOptions = {}) {
    this.backoff = opts.backoff ?? DEFAULT_REQUEST_BACKOFF;
    this.client = new DbClient(url, opts);
    this.label = this.client.url.toString();
    const u = this.client.url;
    const headers = Object.entries(opts.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'authorization');
    // CouchDB adds the trailing slash to a database URL before it hashes it.
    const path = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
    this.endpoint = { user: this.client.user ?? basicUser(opts.headers), host: u.hostname, port: nonDefaultPort(u), path, headers };
    this.fetcher = new HttpDocFetcher(this.client, opts.docConcurrency ?? 8);
    this.writer = new HttpDocWriter(this.client, opts.docConcurrency ?? 8);
  }

  /** `_bulk_get` counters for `_active_tasks`. */
  get bulkGetStats(): { docs: number; attempts: number } {
    return { docs: this.fetcher.bulkGetDocs, attempts: this.fetcher.bulkGetAttempts };
  }

  async info(): Promise<PeerInfo> {
    const { status, value } = await this.client.json({ method: 'GET', path: '', expect: [200, 404] });
    if (status === 404 || !isObject(value)) {
      throw new ReplicationError('DB_NOT_FOUND', this.label, { url: this.label, status });
    }
    // CouchDB's replicator insists on both fields (db_open/3); a peer without them is not a database.
    if (!('update_seq' in value)) throw new ReplicationError('DB_NOT_FOUND', `${this.label}: no update_seq`, { url: this.label });
    const info: PeerInfo = {
      dbName: typeof value.db_name === 'string' ? value.db_name : '',
      updateSeq: value.update_seq,
      instanceStartTime: typeof value.instance_start_time === 'string' ? value.instance_start_time : '0',
    };
    if (typeof value.doc_count === 'number') info.docCount = value.doc_count;
    return info;
  }

  async create(params?: Readonly<Record<string, string>>): Promise<boolean> {
    const { status } = await this.client.request({ method: 'PUT', path: '', ...(params ? { query: { ...params } } : {}), expect: [201, 202, 412] });
    return status !== 412;
  }

  changes(opts: PeerChangesOptions): ChangesSource {
    const follower = new ChangesFollower(this.client, {
      feed: opts.feed,
      live: opts.live,
      since: opts.since,
      batchSize: opts.batchSize,
      style: opts.style,
      // The request budget, not the follower's endless one: a source gone for longer fails the
      // run, and the job manager restarts it with its own backoff (visible as `crashing`).
      backoff: this.backoff,
      ...(opts.filter ? { filter: opts.filter } : {}),
      ...(opts.includeDocs ? { includeDocs: true } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { [Symbol.asyncIterator]: () => follower.batches(), close: () => follower.close() };
  }

  async revsDiff(revs: Record<string, string[]>): Promise<Record<string, RevsDiffResult>> {
    const { value } = await this.client.json({ method: 'POST', path: '_revs_diff', json: revs });
    if (!isObject(value)) throw new ReplicationError('BAD_RESPONSE', '_revs_diff: not an object');
    const out: Record<string, RevsDiffResult> = {};
    for (const [id, entry] of Object.entries(value)) {
      // An entry of another shape (`missing` a string, a number...) is a broken target: skipping
      // it would checkpoint past revisions it may lack. CouchDB's replicator crashes on it too
      // (couch_replicator_api_wrap get_missing_revs parses `missing` as a list of revs).
      if (!isObject(entry) || !Array.isArray(entry.missing) || !entry.missing.every((r) => typeof r === 'string')) {
        throw new ReplicationError('BAD_RESPONSE', `_revs_diff: the entry of ${JSON.stringify(id)} is not {"missing":[revs]}`);
      }
      const missing = entry.missing as string[];
      if (missing.length === 0) continue;
      const result: RevsDiffResult = { missing };
      if (Array.isArray(entry.possible_ancestors)) {
        result.possible_ancestors = entry.possible_ancestors.filter((r): r is string => typeof r === 'string');
      }
      out[id] = result;
    }
    return out;
  }

  fetch(reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult[]> {
    return this.fetcher.fetch(reqs, signal);
  }

  write(docs: readonly FetchedDoc[], signal?: AbortSignal): Promise<WriteFailure[]> {
    return this.writer.write(docs, signal);
  }

  async getLocal(id: string): Promise<Record<string, unknown> | null> {
    const { status, value } = await this.client.json({ method: 'GET', path: encodeDocId(id), expect: [200, 404] });
    return status === 200 && isObject(value) ? value : null;
  }

  async putLocal(id: string, body: Record<string, unknown>): Promise<string> {
    const { value } = await this.client.json({ method: 'PUT', path: encodeDocId(id), json: body });
    const rev = isObject(value) ? value.rev : undefined;
    return typeof rev === 'string' ? rev : '';
  }

  /** A design document (for a filter's source code), or null. */
  async readDoc(id: string): Promise<Record<string, unknown> | null> {
    const { status, value } = await this.client.json({ method: 'GET', path: encodeDocId(id), expect: [200, 404] });
    return status === 200 && isObject(value) ? value : null;
  }

  async ensureFullCommit(): Promise<string> {
    try {
      const { value } = await this.client.json({ method: 'POST', path: '_ensure_full_commit', json: {}, expect: [200, 201] });
      const t = isObject(value) ? value.instance_start_time : undefined;
      return typeof t === 'string' ? t : '0';
    } catch (err) {
      // Servers without the endpoint (pouchdb-express-router) commit on every write anyway.
      if (isReplicationError(err) && (err.status === 404 || err.status === 405 || err.status === 400)) return '0';
      throw err;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
