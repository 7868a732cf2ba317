/**
 * Reading a request: the body (bounded), JSON bodies, and CouchDB's typed query parameters.
 *
 * CouchDB answers unparsable JSON with `400 bad_request "invalid UTF-8 JSON"` (chttpd:json_body/1)
 * and a wrong Content-Type on JSON-only endpoints with `415 bad_content_type`
 * (couch_httpd:validate_ctype/2). Query booleans must be `true` or `false`, integers must be
 * integers: anything else is `400 query_parse_error` (couch_mrview_http / chttpd_db parse_*).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { CouchError } from '../couch/errors.js';
import { parseJsonBody, readBody as readWebBody, type BodyErrors } from '../web/body.js';
import type { HttpFace } from './face.js';

export interface UserCtx {
  name: string;
  admin: boolean;
  /** How the user was authenticated, for `GET /_session` `info.authenticated`. */
  via: 'default' | 'cookie' | 'proxy' | 'jwt';
  /** CouchDB roles: `_admin` (the administrator), a bucket user's grants, a `_users` document's roles. */
  roles: string[];
  /** Which user set it is from: the Couchbase user registry, or the `_users` database (db-access.ts). */
  source: 'couchbase' | 'couchdb';
}

export interface RequestCtx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  query: URLSearchParams;
  params: Record<string, string>;
  user: UserCtx | null;
  face: HttpFace;
  /** Aborted when the client goes away before the response is finished. */
  signal: AbortSignal;
}

export type Handler = (rc: RequestCtx) => Promise<void>;

/**
 * An absolute URL of `path` on this server as the client reached it (couch_httpd absolute_uri):
 * the host from `X-Forwarded-Host`, else `Host`, else the listener; https when `X-Forwarded-Ssl:
 * on`, `X-Forwarded-Proto: https` or the TLS listener. `[chttpd]` (or `[httpd]`)
 * `x_forwarded_host`, `x_forwarded_ssl`, `x_forwarded_proto` name other headers for the three.
 */
export function absoluteUri(rc: RequestCtx, path: string): string {
  const header = (name: string): string | undefined => {
    const v = rc.req.headers[name.toLowerCase()];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const config = rc.face.access.config;
  const secure = (rc.req.socket as { encrypted?: boolean }).encrypted === true;
  const listener = `${rc.face.ctx.host}:${secure ? rc.face.ctx.ports.httpTls : rc.face.ctx.ports.http}`;
  const host = header(config.chttpd('x_forwarded_host') ?? 'X-Forwarded-Host') ?? header('host') ?? listener;
  const https =
    header(config.chttpd('x_forwarded_ssl') ?? 'X-Forwarded-Ssl') === 'on' ||
    header(config.chttpd('x_forwarded_proto') ?? 'X-Forwarded-Proto') === 'https' ||
    secure;
  return `${https ? 'https' : 'http'}://${host}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** The path of a document (or one of its attachments) of `dbName`, each segment encoded. */
export function docPath(dbName: string, id: string, attachment?: string): string {
  const enc = (s: string): string => s.split('/').map(encodeURIComponent).join('/');
  return `/${encodeURIComponent(dbName)}/${enc(id)}${attachment === undefined ? '' : `/${enc(attachment)}`}`;
}

/** CouchDB's replies to a body the kernel refuses (src/web/body.ts). */
const COUCH_BODY_ERRORS: BodyErrors = {
  tooLarge: () => new CouchError('too_large'),
  invalidJson: () => new CouchError('invalid_json'),
  tooDeep: (limit) => new CouchError('json_too_deep', { params: { limit } }),
};

/** Read the whole body, up to `limit` bytes (413 too_large beyond). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readWebBody(req, limit, COUCH_BODY_ERRORS);
}

const gunzipAsync = promisify(gunzip);

/**
 * Read a JSON body as chttpd:json_body/1 does, through maybe_decompress/2: `Content-Encoding:
 * gzip` is gunzipped (400 "Request body is not properly gzipped." when it is not; the decoded
 * bytes are held to `limit` too, 413 beyond), `identity` or none is as it came, any other is 415.
 * IBM's Cloudant SDK (so couchbackup) gzips every request body. Attachment bodies are not read
 * through this: they are stored with the encoding they came in (attachment-encoding.ts).
 */
export async function readJsonBytes(rc: RequestCtx, limit = rc.face.options.maxBodyBytes): Promise<Buffer> {
  return decodeJsonBytes(rc.req, await readBody(rc.req, limit), limit);
}

/** maybe_decompress/2 of a JSON body already read (see readJsonBytes). */
export async function decodeJsonBytes(req: IncomingMessage, raw: Buffer, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding === undefined || encoding === 'identity') return raw;
  if (encoding !== 'gzip') throw new CouchError('unsupported_body_encoding', { params: { encoding } });
  try {
    return await gunzipAsync(raw, { maxOutputLength: limit });
  } catch (err) {
    if (err instanceof RangeError) throw new CouchError('too_large');
    throw new CouchError('body_not_gzipped');
  }
}

/**
 * Parse a JSON body: invalid UTF-8 or JSON is 400 "invalid UTF-8 JSON" (chttpd:json_body/1), and
 * nesting deeper than `maxDepth` is 400 too (codec/json-check.ts, the limit every face shares).
 */
export function parseJson(raw: Buffer | string, maxDepth: number): unknown {
  return parseJsonBody(raw, maxDepth, COUCH_BODY_ERRORS);
}

/** The server's JSON nesting limit (engine option `maxJsonDepth`). */
export function jsonDepthLimit(rc: RequestCtx): number {
  return rc.face.ctx.engine.options.maxJsonDepth;
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** 415 unless the request says it carries JSON. */
export function requireJsonType(req: IncomingMessage): void {
  if (mediaType(req) !== 'application/json') throw new CouchError('bad_content_type', { params: { type: 'application/json' } });
}

/** Read a JSON body of a JSON-only endpoint. An empty body is `undefined`. */
export async function readJson(rc: RequestCtx, opts: { requireType?: boolean } = {}): Promise<unknown> {
  if (opts.requireType !== false) requireJsonType(rc.req);
  const raw = await readJsonBytes(rc);
  if (raw.length === 0) return undefined;
  return parseJson(raw, jsonDepthLimit(rc));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object body, else 400 "Document must be a JSON object" / bad_request. */
export async function readJsonObject(rc: RequestCtx, opts: { requireType?: boolean } = {}): Promise<Record<string, unknown>> {
  const body = await readJson(rc, opts);
  if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
  return body;
}

// ---- query parameters -----------------------------------------------------------------------

export function qBool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new CouchError('query_parse_error', { params: { detail: `Invalid boolean parameter: "${v}"` } });
}

export function qInt(q: URLSearchParams, name: string, opts: { min?: number } = {}): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw new CouchError('query_parse_error', { params: { detail: `Invalid value for integer: "${v}"` } });
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < (opts.min ?? 0)) {
    throw new CouchError('query_parse_error', { params: { detail: `Invalid value for ${name}: "${v}"` } });
  }
  return n;
}

/** A JSON-valued parameter (`keys`, `startkey`, `open_revs`, `atts_since`, `doc_ids`). */
export function qJson(q: URLSearchParams, name: string): unknown {
  const v = q.get(name);
  if (v === null) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    // couch_util:json_decode throws invalid_json, which chttpd answers as bad_request.
    throw new CouchError('bad_request', { reason: `Invalid JSON for parameter ${name}` });
  }
}

/**
 * Does the request accept the media type `type`? mochiweb_request:accepts_content_type, which
 * chttpd asks before answering `multipart/related` (a document with `attachments=true` or
 * `atts_since`) or `multipart/mixed` (`open_revs`): a missing Accept header is `*\/*`; the type
 * itself, its `main/*` or `*\/*` with q > 0 accepts it, unless the type or `main/*` is listed with
 * q=0. An unparsable q-value is not acceptance (mochiweb's bad_accept_header).
 */
export function accepts(req: IncomingMessage, type: string): boolean {
  const header = req.headers.accept;
  const accept = (header === undefined ? '*/*' : header).toLowerCase().replace(/\s/g, '');
  const superType = `${type.split('/')[0]}/*`;
  let any = false;
  for (const part of accept.split(',')) {
    if (part === '') continue;
    const [range, ...params] = part.split(';');
    let q = 1;
    for (const p of params) {
      if (!p.startsWith('q=')) continue;
      q = Number(p.slice(2));
      if (!Number.isFinite(q) || q < 0 || q > 1) return false;
    }
    if (q === 0 && (range === type || range === superType)) return false;
    if (q > 0 && (range === '*/*' || range === type || range === superType)) any = true;
  }
  return any;
}
