/**
 * A replication request as CouchDB accepts it in `POST /_replicate` and in `_replicator`
 * documents (replication/replicator.rst, couch_replicator_parse.erl): `source`/`target` as a URL
 * or `{url, headers, auth: {basic: {username, password}}}`, `continuous`, `create_target`,
 * `doc_ids`, `selector`, `filter` + `query_params`, `since_seq`, `use_checkpoints`,
 * `checkpoint_interval`, `worker_processes`, `worker_batch_size`, `http_connections`, `cancel`.
 *
 * A bare database name (CouchDB 1.x/2.x "local" endpoints) is a database of this server: opened
 * directly when the caller can (`localDatabases`), else resolved against this server's own URL,
 * authenticated as the requester.
 */
import { ReplicationError } from './errors.js';
import type { Seq } from './changes-parse.js';


/** couch_httpd:unquote/1: percent-decoding, the text as it is when it is no valid encoding. */
function unquote(id: string): string {
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

export interface EndpointSpec {
  /** The database URL, or for a local database its name. */
  url: string;
  headers: Record<string, string>;
  /** A database of this server, reached without HTTP (local-peer.ts). */
  local?: string;
}

export interface ReplicationRequest {
  source: EndpointSpec;
  target: EndpointSpec;
  continuous: boolean;
  createTarget: boolean;
  /**
   * `create_target_params`: the query parameters of the target's creation (`q`, `n`,
   * `partitioned`, couch_replicator_api_wrap:create_db_params), as strings.
   */
  createTargetParams?: Record<string, string>;
  docIds?: string[];
  selector?: Record<string, unknown>;
  filter?: string;
  queryParams?: Record<string, string>;
  sinceSeq?: Seq;
  useCheckpoints: boolean;
  checkpointIntervalMs?: number;
  workers?: number;
  batchSize?: number;
  connections?: number;
  cancel: boolean;
  /** `replication_id` of a cancel request. */
  replicationId?: string;
  /** Who the replication runs as (CouchDB's `user_ctx`): part of a local endpoint's id, and its access. */
  userCtx?: { name: string | null; roles: string[] };
}

export interface RequestContext {
  /**
   * Bare database names are databases of this server, opened directly (CouchDB 2.x local
   * endpoints); otherwise they resolve to `localBaseUrl`.
   */
  localDatabases?: boolean;
  /** This server's CouchDB base URL (`http://127.0.0.1:5984`), for bare database names. */
  localBaseUrl?: string;
  /** The requester's `Authorization` header, reused for local endpoints. */
  authorization?: string;
}

function bad(reason: string): ReplicationError {
  return new ReplicationError('BAD_REQUEST', reason, { error: 'bad_request', reason });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A bare database name: CouchDB's rule for the bucket part, optionally followed by a scope and
 * collection (`bucket.scope.collection` or `bucket.collection`, src/couchdb/keyspace.ts), whose
 * names are [A-Za-z0-9_%-] (engine/manifest.ts).
 */
const LOCAL_NAME = /^[a-z_][a-z0-9_$()+/-]*(?:\.[A-Za-z0-9_%-]+){0,2}$/;

function endpoint(name: 'source' | 'target', value: unknown, ctx: RequestContext): EndpointSpec {
  let url: string;
  const headers: Record<string, string> = {};
  if (typeof value === 'string') {
    url = value;
  } else if (isObject(value) && typeof value.url === 'string') {
    url = value.url;
    if (value.headers !== undefined) {
      if (!isObject(value.headers)) throw bad(`\`${name}.headers\` must be an object`);
      for (const [k, v] of Object.entries(value.headers)) {
        if (typeof v !== 'string') throw bad(`\`${name}.headers\` values must be strings`);
        headers[k.toLowerCase()] = v;
      }
    }
    const basic = isObject(value.auth) && isObject(value.auth.basic) ? value.auth.basic : undefined;
    if (basic) {
      if (typeof basic.username !== 'string' || typeof basic.password !== 'string') throw bad(`invalid \`${name}.auth.basic\``);
      headers.authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
    }
  } else {
    throw bad(`\`${name}\` must be a URL or an object with \`url\``);
  }
  if (!/^https?:\/\//i.test(url)) {
    if (ctx.localDatabases && LOCAL_NAME.test(url)) {
      // Headers and credentials mean nothing without HTTP: the user context decides access.
      return { url, headers: {}, local: url };
    }
    if (!ctx.localBaseUrl || !LOCAL_NAME.test(url) || url.startsWith('_')) throw bad(`\`${name}\` must be an http(s) database URL`);
    url = `${ctx.localBaseUrl.replace(/\/$/, '')}/${encodeURIComponent(url)}`;
    if (ctx.authorization && headers.authorization === undefined) headers.authorization = ctx.authorization;
  }
  try {
    new URL(url);
  } catch {
    throw bad(`\`${name}\` is not a valid URL`);
  }
  return { url, headers };
}

function bool(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(`\`${key}\` must be a boolean`);
  return v;
}

function posInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`\`${key}\` must be a positive integer`);
  return v;
}

export function parseReplicationRequest(body: unknown, ctx: RequestContext = {}): ReplicationRequest {
  if (!isObject(body)) throw bad('the request body must be a JSON object');
  const cancel = bool(body, 'cancel', false);
  if (cancel && typeof body.replication_id === 'string') {
    return {
      source: { url: '', headers: {} },
      target: { url: '', headers: {} },
      continuous: false,
      createTarget: false,
      useCheckpoints: true,
      cancel: true,
      replicationId: body.replication_id,
    };
  }
  if (body.source === undefined) throw bad('Missing `source` field');
  if (body.target === undefined) throw bad('Missing `target` field');
  const req: ReplicationRequest = {
    source: endpoint('source', body.source, ctx),
    target: endpoint('target', body.target, ctx),
    continuous: bool(body, 'continuous', false),
    createTarget: bool(body, 'create_target', false),
    useCheckpoints: bool(body, 'use_checkpoints', true),
    cancel,
  };
  const params = body.create_target_params;
  if (params !== undefined && params !== null) {
    if (!isObject(params)) throw bad('`create_target_params` should be a JSON object');
    req.createTargetParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  const filters = ['doc_ids', 'selector', 'filter'].filter((k) => body[k] !== undefined && body[k] !== null);
  if (filters.length > 1) throw bad('`selector`, `filter` and `doc_ids` are mutually exclusive');
  if (body.doc_ids !== undefined && body.doc_ids !== null) {
    if (!Array.isArray(body.doc_ids) || !body.doc_ids.every((d) => typeof d === 'string')) throw bad('`doc_ids` must be an array of strings');
    // couch_replicator_docs: each id is URL-decoded (`_design%2Ffoo` is `_design/foo`).
    req.docIds = (body.doc_ids as string[]).map(unquote);
  }
  if (body.selector !== undefined && body.selector !== null) {
    if (!isObject(body.selector)) throw bad('`selector` must be a JSON object');
    req.selector = body.selector;
  }
  if (body.filter !== undefined && body.filter !== null) {
    if (typeof body.filter !== 'string' || (!body.filter.startsWith('_') && !body.filter.includes('/'))) {
      throw bad('Invalid filter. Must match `ddocname/filtername`.');
    }
    req.filter = body.filter;
    if (body.query_params !== undefined) {
      if (!isObject(body.query_params)) throw bad('`query_params` must be an object');
      req.queryParams = Object.fromEntries(Object.entries(body.query_params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    }
  }
  if (body.since_seq !== undefined) req.sinceSeq = body.since_seq;
  const interval = posInt(body, 'checkpoint_interval');
  if (interval !== undefined) req.checkpointIntervalMs = interval;
  const workers = posInt(body, 'worker_processes');
  if (workers !== undefined) req.workers = workers;
  const batch = posInt(body, 'worker_batch_size');
  if (batch !== undefined) req.batchSize = batch;
  const conns = posInt(body, 'http_connections');
  if (conns !== undefined) req.connections = conns;
  return req;
}
