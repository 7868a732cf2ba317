/**
 * Server-level endpoints (CouchDB docs api/server/common.rst, api/server/authn.rst):
 * `GET /` (with the stable `uuid` PouchDB derives replication ids from, couch-replication.md
 * §1.3), `/_all_dbs`, `/_dbs_info`, `/_membership`, `/_up`, `/_uuids`, `/_session` cookie login
 * (as a Couchbase registry user or a `_users` user, auth.ts), `/_node/{node}/_stats` and
 * `_prometheus`; `_config` is config-routes.ts, `/_db_updates` db-updates.ts.
 */
import { checkNode, NODE } from './node-name.js';
import { nodeRoutes } from './node-routes.js';
import { clusterSetupRoutes } from './cluster-setup.js';
import { createHash } from 'node:crypto';
import { CouchError } from '../couch/errors.js';
import { checkCredentials, issueCookie, requireAdmin, requireUser, roles } from './auth.js';
import { configRoutes } from './config-routes.js';
import { dbUpdatesHandlers } from './db-updates.js';
import { authHandlers } from './proxy-auth.js';
import { absoluteUri, decodeJsonBytes, isObject, mediaType, jsonDepthLimit, parseJson, qInt, readBody, readJsonObject, type Handler, type RequestCtx } from './request.js';
import { allDocsRange } from './all-docs-query.js';
import { dbInfoOf } from './db-routes.js';
import { resolveDb } from './keyspace.js';
import { compareDocIds, compareRaw } from '../couch/collate.js';
import { sendJson } from './response.js';
import { USERS_DB } from '../couchdb/users-db.js';
import { dbNameOfBucket } from '../couchdb/keyspace.js';
import type { MetricsProvider } from '../common/metrics.js';
import type { RouteTable } from '../web/route-table.js';
import { COUCHDB_COMPAT_VERSION, FRESHET_VERSION } from '../common/version.js';

export const COUCH_VERSION = COUCHDB_COMPAT_VERSION;

const welcome: Handler = async (rc) => {
  sendJson(rc.res, 200, {
    couchdb: 'Welcome',
    version: COUCH_VERSION,
    git_sha: 'freshet',
    uuid: rc.face.ctx.engine.uuid,
    // couch_server:init enables `partitioned` whatever the feature flag says; the others CouchDB
    // lists (reshard, scheduler, pluggable storage engines, access) are not Freshet's.
    features: ['partitioned'],
    vendor: { name: 'Freshet', version: FRESHET_VERSION },
    freshet: FRESHET_VERSION,
  });
};


/**
 * The database names the user may see, in the range of the request's `startkey`/`endkey`,
 * `inclusive_end`, `descending`, `skip` and `limit`: CouchDB answers `_all_dbs` and `GET
 * /_dbs_info` as an `_all_docs` of its shards database (chttpd_misc:handle_all_dbs_info_req/1),
 * so names come in raw (code point) order and take the same parameters.
 */
function dbNamesInRange(rc: RequestCtx): string[] {
  const user = requireUser(rc);
  const users = rc.face.ctx.users;
  const q = allDocsRange(rc.query);
  // Database names, not bucket names (`a/b` is bucket `a%2Fb`, couchdb/keyspace.ts).
  const names = rc.face.ctx.engine.buckets().filter((b) => users.canAccessBucket(user.name, b.name)).map((b) => dbNameOfBucket(b.name)).sort(compareDocIds);
  if (q.descending) names.reverse();
  const dir = q.descending ? -1 : 1;
  const inRange = names.filter((name) => {
    if (q.startKey !== undefined && dir * compareRaw(name, q.startKey) < 0) return false;
    if (q.endKey === undefined) return true;
    const c = dir * compareRaw(name, q.endKey);
    return c < 0 || (c === 0 && q.inclusiveEnd);
  });
  return inRange.slice(q.skip, q.skip + q.limit);
}

const allDbs: Handler = async (rc) => {
  sendJson(rc.res, 200, dbNamesInRange(rc));
};

/** `GET /_dbs_info` (CouchDB 3.2): `_all_dbs` with each database's info; one gone meanwhile is left out. */
const dbsInfo: Handler = async (rc) => {
  const rows: Array<{ key: string; info: Record<string, unknown> }> = [];
  for (const name of dbNamesInRange(rc)) {
    const info = await dbInfoOrNull(rc, name);
    if (info) rows.push({ key: name, info });
  }
  sendJson(rc.res, 200, rows);
};

/** CouchDB's `max_db_number_for_dbs_info_req` default (chttpd_misc.erl MAX_DB_NUM_FOR_DBS_INFO). */
const MAX_DBS_INFO_KEYS = 100;

/** `POST /_dbs_info {"keys": [...]}`: each key's info, or `"error": "not_found"` in its row. */
const dbsInfoOfKeys: Handler = async (rc) => {
  requireUser(rc);
  const body = await readJsonObject(rc);
  const keys = body.keys;
  if (keys === undefined) throw new CouchError('bad_request', { reason: '`keys` member must exist.' });
  if (!Array.isArray(keys)) throw new CouchError('bad_request', { reason: '`keys` member must be an array.' });
  if (keys.length > MAX_DBS_INFO_KEYS) throw new CouchError('bad_request', { reason: 'too_many_keys' });
  const rows: unknown[] = [];
  for (const key of keys) {
    const info = typeof key === 'string' ? await dbInfoOrNull(rc, key) : null;
    rows.push(info ? { key, info } : { key, error: 'not_found' });
  }
  sendJson(rc.res, 200, rows);
};

/** A database's info if it exists and the user may read it, else null (CouchDB: not_found). */
async function dbInfoOrNull(rc: RequestCtx, name: string): Promise<Record<string, unknown> | null> {
  try {
    return await dbInfoOf(resolveDb(rc, name));
  } catch (err) {
    if (err instanceof CouchError) return null;
    throw err;
  }
}

/** `GET /_membership` (mem3_httpd): this one node; like every `/_` endpoint not listed as open, admin only. */
const membership: Handler = async (rc) => {
  requireAdmin(rc);
  sendJson(rc.res, 200, { all_nodes: [NODE], cluster_nodes: [NODE] });
};

const up: Handler = async (rc) => {
  sendJson(rc.res, 200, { status: 'ok' });
};

function metricsOf(rc: RequestCtx): MetricsProvider {
  const m = rc.face.ctx.metrics;
  if (m === undefined) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
  return m;
}

/**
 * `GET /_node/{node}/_stats[/{group}/...]`: CouchDB's node statistics in its shape (`couchdb`,
 * `couch_replicator` groups) plus Freshet's own (`freshet.storage`: the data directory's health);
 * src/metrics/. A path below `_stats` answers that part, `null` when there is none, as
 * couch_stats_httpd extract_path does.
 */
const nodeStats: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const metrics = rc.face.ctx.metrics;
  const h = rc.face.ctx.engine.store.health;
  // A face started on its own (no server metrics): what it knows itself, the storage health.
  let stats: unknown = metrics ? metrics.couchStats() : {
    freshet: {
      storage: { state: h.state, write_failures: h.writeFailures, recoveries: h.recoveries, last_error: h.lastError?.errno ?? null },
    },
  };
  for (const key of (rc.params.path ?? '').split('/').filter((k) => k !== '')) {
    stats = isObject(stats) && Object.hasOwn(stats, key) ? stats[key] : null;
  }
  sendJson(rc.res, 200, stats);
};

/** `GET /_node/{node}/_prometheus`: the server's Prometheus text, as CouchDB 3.2+ serves it. */
const nodePrometheus: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const { contentType, body } = await metricsOf(rc).prometheus();
  rc.res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  rc.res.end(body);
};

/** `GET /_uuids?count=N` (chttpd_misc handle_uuids_req): N of them, at most `[uuids] max_count`. */
const uuids: Handler = async (rc) => {
  const count = qInt(rc.query, 'count', { min: 1 }) ?? 1;
  if (count > rc.face.config.int('uuids', 'max_count', 1000)) throw new CouchError('bad_request', { reason: 'count parameter too large' });
  const body = { uuids: Array.from({ length: count }, () => rc.face.uuids.next()) };
  // chttpd_misc handle_uuids_req: never cached (an ETag of the answer, no-cache, Pragma).
  const etag = `"${createHash('md5').update(JSON.stringify(body)).digest('hex')}"`;
  sendJson(rc.res, 200, body, { 'Cache-Control': 'must-revalidate, no-cache', Pragma: 'no-cache', ETag: etag });
};

function sessionInfo(rc: RequestCtx): Record<string, unknown> {
  const info: Record<string, unknown> = { authentication_db: USERS_DB, authentication_handlers: authHandlers(rc.face.config) };
  if (rc.user) info.authenticated = rc.user.via;
  return { ok: true, userCtx: { name: rc.user?.name ?? null, roles: roles(rc.user) }, info };
}

const getSession: Handler = async (rc) => {
  sendJson(rc.res, 200, sessionInfo(rc));
};

/**
 * couch_httpd_auth extract_username/1: `name`, or `username` (as CouchDB's own test helpers send
 * it); both, different, is 400, and neither is 400.
 */
function sessionName(form: (key: string) => unknown): unknown {
  const name = form('name');
  const username = form('username');
  if (username === undefined || username === null) {
    if (name === undefined || name === null) throw new CouchError('bad_request', { reason: 'request body must contain a username' });
    return name;
  }
  if (name !== undefined && name !== null && name !== username) throw new CouchError('bad_request', { reason: 'request body contains different usernames' });
  return username;
}

/** `?next=` / `?fail=` of a login: a 302 to that path on this host (couch_httpd:absolute_uri). */
function redirectTo(rc: RequestCtx, param: 'next' | 'fail'): Record<string, string> | undefined {
  const target = rc.query.get(param);
  if (target === null) return undefined;
  return { Location: /^https?:\/\//.test(target) ? target : absoluteUri(rc, target) };
}

/** `POST /_session` takes JSON or a form (couch_httpd_auth:handle_session_req/2). */
const postSession: Handler = async (rc) => {
  const raw = await readBody(rc.req, 64 * 1024);
  let name: unknown;
  let password: unknown;
  if (mediaType(rc.req) === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw.toString('utf8'));
    name = sessionName((k) => form.get(k));
    password = form.get('password');
  } else {
    // couch_httpd_auth:handle_session_req/2 decodes JSON through maybe_decompress/2 (a form as sent).
    const body = parseJson(await decodeJsonBytes(rc.req, raw, 64 * 1024), jsonDepthLimit(rc));
    if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
    name = sessionName((k) => body[k]);
    password = body.password;
  }
  const user = typeof name === 'string' && typeof password === 'string' ? await checkCredentials(rc.req, rc.face, name, password, 'cookie', true) : null;
  if (user === null) {
    const fail = redirectTo(rc, 'fail');
    if (fail === undefined) throw new CouchError('unauthorized');
    sendJson(rc.res, 302, new CouchError('unauthorized').toJSON(), { ...fail, 'Set-Cookie': rc.face.sessions.clearCookieHeader() });
    return;
  }
  const cookie = issueCookie(rc.face, user);
  const next = redirectTo(rc, 'next');
  sendJson(rc.res, next === undefined ? 200 : 302, { ok: true, name, roles: roles(user) }, {
    'Set-Cookie': rc.face.sessions.setCookieHeader(cookie),
    ...next,
  });
};

const deleteSession: Handler = async (rc) => {
  sendJson(rc.res, 200, { ok: true }, { 'Set-Cookie': rc.face.sessions.clearCookieHeader() });
};


export function serverRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/', { GET: welcome })
    .add('/_all_dbs', { GET: allDbs })
    .add('/_dbs_info', { GET: dbsInfo, POST: dbsInfoOfKeys })
    .add('/_db_updates', dbUpdatesHandlers)
    .add('/_membership', { GET: membership })
    .add('/_up', { GET: up })
    .add('/_uuids', { GET: uuids })
    .add('/_session', { GET: getSession, POST: postSession, DELETE: deleteSession })
    .add('/_node/:node/_stats', { GET: nodeStats })
    .add('/_node/:node/_stats/*path', { GET: nodeStats })
    .add('/_node/:node/_prometheus', { GET: nodePrometheus });
  configRoutes(routes);
  nodeRoutes(routes);
  clusterSetupRoutes(routes);
}
