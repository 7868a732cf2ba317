/**
 * An HTTP client bound to one CouchDB-compatible database URL: credentials taken from the URL
 * (`http://user:pass@host:port/db`) and sent as Basic auth, a bounded undici connection pool,
 * and retries with backoff on network errors, timeouts, 408, 429 and 5xx
 * (couch_replicator_httpc.erl; couch-replication.md §1.5). Other statuses come back to the caller
 * when listed in `expect`, or are thrown as a typed `ReplicationError` carrying CouchDB's
 * `error`/`reason`.
 */
import { Agent, type Dispatcher } from 'undici';
import { codeForStatus, ReplicationError } from './errors.js';
import { policyDelay, sleep } from '../common/backoff.js';
import { DEFAULT_REQUEST_BACKOFF, type BackoffPolicy } from './retry.js';
import { parseJson, stringifyJson } from './json-seq.js';

export interface HttpClientOptions {
  /** Connections per origin (default 8): the pool is bounded, requests queue beyond it. */
  maxConnections?: number;
  backoff?: BackoffPolicy;
  /** Time to wait for response headers (CouchDB `connection_timeout`, 30000 ms). */
  headersTimeoutMs?: number;
  /** Time allowed between two body chunks (default 60000 ms). */
  bodyTimeoutMs?: number;
  /** Extra headers on every request (CouchDB's `headers` of a replication endpoint). */
  headers?: Record<string, string>;
  /** Share a dispatcher between clients; the client then does not close it. */
  dispatcher?: Dispatcher;
  /** Called before each retry, for logs and stats. */
  onRetry?: (err: ReplicationError, attempt: number, delayMs: number) => void;
  /** Aborts every request of this client, and its retry waits (a stopped replication). */
  signal?: AbortSignal;
  /**
   * Largest body of a buffered response (`_bulk_get`, `_all_docs`, a normal `_changes`, a
   * document), default DEFAULT_MAX_RESPONSE_BYTES. Beyond it the read stops and the request fails
   * with BODY_TOO_LARGE (not retried: the same request would get the same body). Streamed feeds
   * (continuous/longpoll `_changes`) are bounded per line instead (LineSplitter).
   */
  maxResponseBytes?: number;
}

/**
 * 256 MiB: a batch is bounded by count (batch size), not bytes, so a body is about batch size x
 * document size; CouchDB's default `max_document_size` is 8 MB and ordinary batches of ordinary
 * documents stay far below this, while a peer streaming without end, or a batch of huge inline
 * attachments, fails with a clear error instead of exhausting memory (CouchDB's replicator reads
 * such bodies whole through ibrowse and has no such guard).
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export type QueryValue = string | number | boolean | undefined;

export interface DbRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Path below the database (`_changes`, an encoded doc id), or '' for the database itself. */
  path?: string;
  /** Path from the server root instead (`GET /` for the server uuid). */
  serverPath?: string;
  query?: Record<string, QueryValue>;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Statuses returned to the caller; any other is thrown (after retries when retriable). */
  expect?: readonly number[];
  /** false: a single attempt (default true). */
  retry?: boolean;
  signal?: AbortSignal;
  /** Per-request timeouts (feeds that wait for changes need longer ones). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Stop reading and release the connection. */
  destroy(): void;
}

const DEFAULT_EXPECT = [200, 201, 202] as const;

/** A document id as a path: `_design/` and `_local/` keep their slash (CouchDB routing). */
export function encodeDocId(id: string): string {
  for (const prefix of ['_design/', '_local/']) {
    if (id.startsWith(prefix)) return prefix + encodeURIComponent(id.slice(prefix.length));
  }
  return encodeURIComponent(id);
}

/** The URL with user and password removed, for logs, stats and `_active_tasks`. */
export function redactUrl(url: URL | string): string {
  // A local database's name is shown as it is (CouchDB 2.x showed local endpoints by name).
  if (typeof url === 'string' && !URL.canParse(url)) return url;
  const u = new URL(url.toString());
  if (u.password !== '') u.password = '*****';
  return u.toString();
}

export function jsonOf(res: HttpResponse): unknown {
  try {
    return parseJson(res.body.toString('utf8')); // seqs above 2^53 stay exact (json-seq.ts)
  } catch (cause) {
    throw new ReplicationError('BAD_RESPONSE', 'invalid JSON', { status: res.status }, cause);
  }
}

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function couchErrorFields(body: Buffer): { error?: string; reason?: string; reasonValue?: unknown } {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const o = parsed as Record<string, unknown>;
      return {
        ...(typeof o.error === 'string' ? { error: o.error } : {}),
        ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
        ...(typeof o.reason === 'object' && o.reason !== null ? { reason: JSON.stringify(o.reason), reasonValue: o.reason } : {}),
      };
    }
  } catch {
    // not JSON: the status alone describes the failure
  }
  return {};
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

export class DbClient {
  /** The database URL without credentials. */
  readonly url: URL;
  readonly user: string | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly baseHeaders: Record<string, string>;
  private readonly dbPath: string;

  constructor(
    dbUrl: string | URL,
    private readonly opts: HttpClientOptions = {},
  ) {
    const u = new URL(dbUrl.toString());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ReplicationError('BAD_REQUEST', `unsupported URL scheme ${u.protocol}`);
    }
    this.user = u.username === '' ? undefined : decodeURIComponent(u.username);
    this.baseHeaders = { ...opts.headers };
    if (this.user !== undefined) {
      const token = Buffer.from(`${this.user}:${decodeURIComponent(u.password)}`).toString('base64');
      this.baseHeaders.authorization = `Basic ${token}`;
    }
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    this.dbPath = u.pathname.replace(/\/+$/, '');
    this.url = u;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connections: opts.maxConnections ?? 8,
        keepAliveTimeout: 30_000,
        headersTimeout: opts.headersTimeoutMs ?? 30_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 60_000,
      });
  }

  /** Headers every request carries (auth, configured extras). */
  get headers(): Record<string, string> {
    return { ...this.baseHeaders };
  }

  private target(req: DbRequest): string {
    const path =
      req.serverPath !== undefined
        ? req.serverPath
        : req.path === undefined || req.path === ''
          ? `${this.dbPath}/`
          : `${this.dbPath}/${req.path}`;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const q = qs.toString();
    return q === '' ? path : `${path}?${q}`;
  }

  private requestOptions(req: DbRequest): Dispatcher.RequestOptions {
    const headers: Record<string, string> = { ...this.baseHeaders, accept: req.accept ?? 'application/json', ...req.headers };
    let body: Buffer | undefined = req.body;
    if (req.json !== undefined) {
      body = Buffer.from(stringifyJson(req.json));
      headers['content-type'] = 'application/json';
    } else if (req.contentType !== undefined) {
      headers['content-type'] = req.contentType;
    }
    return {
      origin: this.url.origin,
      path: this.target(req),
      method: req.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(req.signal !== undefined ? { signal: req.signal } : {}),
      ...(req.headersTimeoutMs !== undefined ? { headersTimeout: req.headersTimeoutMs } : {}),
      ...(req.bodyTimeoutMs !== undefined ? { bodyTimeout: req.bodyTimeoutMs } : {}),
    };
  }

  private describe(req: DbRequest): { method: string; url: string } {
    return { method: req.method, url: `${this.url.origin}${this.target(req)}` };
  }

  /** One attempt: a typed error for network failures and unexpected statuses. */
  private async once(req: DbRequest): Promise<HttpResponse> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request(this.requestOptions(req));
    } catch (err) {
      if (isAbort(err, req.signal)) throw new ReplicationError('ABORTED', undefined, this.describe(req), err);
      const timeout = err instanceof Error && /TIMEOUT/i.test((err as { code?: string }).code ?? '');
      throw new ReplicationError(timeout ? 'TIMEOUT' : 'NETWORK', (err as Error).message, this.describe(req), err);
    }
    let body: Buffer;
    try {
      body = await this.readCapped(res, req);
    } catch (err) {
      if (err instanceof ReplicationError) throw err;
      if (isAbort(err, req.signal)) throw new ReplicationError('ABORTED', undefined, this.describe(req), err);
      throw new ReplicationError('NETWORK', (err as Error).message, this.describe(req), err);
    }
    const expect = req.expect ?? DEFAULT_EXPECT;
    if (expect.includes(res.statusCode)) return { status: res.statusCode, headers: res.headers, body };
    const fields = couchErrorFields(body);
    throw new ReplicationError(codeForStatus(res.statusCode), `${req.method} ${this.describe(req).url} → ${res.statusCode}`, {
      ...this.describe(req),
      status: res.statusCode,
      ...fields,
    });
  }

  /** The whole body, or BODY_TOO_LARGE as soon as it (or its Content-Length) passes the cap. */
  private async readCapped(res: Dispatcher.ResponseData, req: DbRequest): Promise<Buffer> {
    const max = this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const tooLarge = (): ReplicationError => {
      res.body.destroy();
      return new ReplicationError(
        'BODY_TOO_LARGE',
        `${req.method} ${this.describe(req).url} → a body over ${max} bytes (lower the batch size, or raise maxResponseBytes)`,
        { ...this.describe(req), status: res.statusCode, maxBytes: max },
      );
    };
    const declared = Number(headerValue(res.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > max) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  }

  /** The request's signal joined with the client's: either one aborts it. */
  private withSignal(req: DbRequest): DbRequest {
    const own = this.opts.signal;
    if (own === undefined || req.signal === own) return req;
    return { ...req, signal: req.signal === undefined ? own : AbortSignal.any([own, req.signal]) };
  }

  /** A request with retries on retriable failures (unless `retry: false`). */
  async request(request: DbRequest): Promise<HttpResponse> {
    const req = this.withSignal(request);
    const policy = this.opts.backoff ?? DEFAULT_REQUEST_BACKOFF;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(req);
      } catch (err) {
        if (!(err instanceof ReplicationError) || !err.retriable || req.retry === false) throw err;
        if (attempt > policy.retries) {
          throw new ReplicationError('RETRIES_EXHAUSTED', err.message, { ...err.context, attempts: attempt }, err);
        }
        const delay = policyDelay(policy, attempt);
        this.opts.onRetry?.(err, attempt, delay);
        if (!(await sleep(delay, req.signal))) {
          throw new ReplicationError('ABORTED', undefined, this.describe(req), req.signal?.reason ?? new Error('aborted'));
        }
      }
    }
  }

  /** A request whose JSON answer is returned parsed. */
  async json(req: DbRequest): Promise<{ status: number; value: unknown }> {
    const res = await this.request(req);
    return { status: res.status, value: res.body.length === 0 ? null : jsonOf(res) };
  }

  /**
   * A single attempt whose body is read as a stream (`_changes` feeds); the follower owns
   * reconnecting. A non-2xx status is thrown like `request` does.
   */
  async stream(request: DbRequest): Promise<StreamResponse> {
    const req = this.withSignal(request);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request(this.requestOptions(req));
    } catch (err) {
      if (isAbort(err, req.signal)) throw new ReplicationError('ABORTED', undefined, this.describe(req), err);
      throw new ReplicationError('NETWORK', (err as Error).message, this.describe(req), err);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const body = Buffer.from(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0)));
      throw new ReplicationError(codeForStatus(res.statusCode), `${req.method} ${this.describe(req).url} → ${res.statusCode}`, {
        ...this.describe(req),
        status: res.statusCode,
        ...couchErrorFields(body),
      });
    }
    const readable = res.body;
    return {
      status: res.statusCode,
      headers: res.headers,
      body: readable as AsyncIterable<Buffer>,
      destroy: () => readable.destroy(),
    };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
