/**
 * Server-level endpoints (CouchDB docs api/server/common.rst, api/server/authn.rst):
 * `GET /` (with the stable `uuid` PouchDB derives replication ids from, couch-replication.md
 * §1.3), `/_all_dbs`, `/_up`, `/_uuids`, `/_session` cookie login, and the `[cors]` part of
 * `/_node/{node}/_config`.
 */
import { randomBytes } from 'node:crypto';
import { CouchError } from '../couch/errors.js';
import { checkPassword, requireAdmin, requireUser, roles } from './auth.js';
import { CORS_KEYS, type CorsKey } from './cors.js';
import { isObject, mediaType, jsonDepthLimit, parseJson, qInt, readBody, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';
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
    features: [],
    vendor: { name: 'Freshet', version: FRESHET_VERSION },
    freshet: FRESHET_VERSION,
  });
};

const allDbs: Handler = async (rc) => {
  const user = requireUser(rc);
  const users = rc.face.ctx.users;
  // Database names, not bucket names (`a/b` is bucket `a%2Fb`, couchdb/keyspace.ts), in CouchDB's order.
  const names = rc.face.ctx.engine.buckets().filter((b) => users.canAccessBucket(user.name, b.name)).map((b) => dbNameOfBucket(b.name)).sort();
  const skip = qInt(rc.query, 'skip') ?? 0;
  const limit = qInt(rc.query, 'limit');
  const descending = rc.query.get('descending') === 'true';
  const ordered = descending ? names.reverse() : names;
  sendJson(rc.res, 200, ordered.slice(skip, limit === undefined ? undefined : skip + limit));
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
 * `GET /_node/{node}/_stats`: CouchDB's node statistics in its shape (`couchdb`, `couch_replicator`
 * groups) plus Freshet's own (`freshet.storage`: the data directory's health); src/metrics/.
 */
const nodeStats: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const metrics = rc.face.ctx.metrics;
  if (metrics) {
    sendJson(rc.res, 200, metrics.couchStats());
    return;
  }
  // A face started on its own (no server metrics): what it knows itself, the storage health.
  const h = rc.face.ctx.engine.store.health;
  sendJson(rc.res, 200, {
    freshet: {
      storage: { state: h.state, write_failures: h.writeFailures, recoveries: h.recoveries, last_error: h.lastError?.errno ?? null },
    },
  });
};

/** `GET /_node/{node}/_prometheus`: the server's Prometheus text, as CouchDB 3.2+ serves it. */
const nodePrometheus: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const { contentType, body } = await metricsOf(rc).prometheus();
  rc.res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  rc.res.end(body);
};

const uuids: Handler = async (rc) => {
  const count = qInt(rc.query, 'count', { min: 1 }) ?? 1;
  if (count > 1000) throw new CouchError('bad_request', { reason: 'count parameter too large' });
  sendJson(rc.res, 200, { uuids: Array.from({ length: count }, () => randomBytes(16).toString('hex')) });
};

function sessionInfo(rc: RequestCtx): Record<string, unknown> {
  const info: Record<string, unknown> = { authentication_handlers: ['cookie', 'default'] };
  if (rc.user) info.authenticated = rc.user.via;
  return { ok: true, userCtx: { name: rc.user?.name ?? null, roles: roles(rc.user) }, info };
}

const getSession: Handler = async (rc) => {
  sendJson(rc.res, 200, sessionInfo(rc));
};

/** `POST /_session` takes JSON or a form (couch_httpd_auth:handle_session_req/2). */
const postSession: Handler = async (rc) => {
  const raw = await readBody(rc.req, 64 * 1024);
  let name: unknown;
  let password: unknown;
  if (mediaType(rc.req) === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw.toString('utf8'));
    name = form.get('name');
    password = form.get('password');
  } else {
    const body = parseJson(raw, jsonDepthLimit(rc));
    if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
    name = body.name;
    password = body.password;
  }
  const users = rc.face.ctx.users;
  if (typeof name !== 'string' || typeof password !== 'string') throw new CouchError('unauthorized');
  if (!(await checkPassword(rc.req, users, rc.face.ctx.authThrottle, name, password))) throw new CouchError('unauthorized');
  const cookie = rc.face.sessions.issue(name);
  sendJson(rc.res, 200, { ok: true, name, roles: users.isAdmin(name) ? ['_admin'] : [] }, {
    'Set-Cookie': rc.face.sessions.setCookieHeader(cookie),
  });
};

const deleteSession: Handler = async (rc) => {
  sendJson(rc.res, 200, { ok: true }, { 'Set-Cookie': rc.face.sessions.clearCookieHeader() });
};

// ---- /_node/{node}/_config/cors[/key] --------------------------------------------------------

function checkNode(rc: RequestCtx): void {
  const node = rc.params.node;
  if (node !== '_local' && node !== 'freshet@127.0.0.1') throw new CouchError('not_found_detail', { params: { detail: 'no such node' } });
}

function corsKey(rc: RequestCtx): CorsKey {
  const key = rc.params.key ?? '';
  if (!(key in CORS_KEYS)) throw new CouchError('not_found_detail', { params: { detail: 'unknown_config_value' } });
  return key as CorsKey;
}

const getCorsSection: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const cfg = rc.face.cors;
  sendJson(rc.res, 200, Object.fromEntries(Object.entries(CORS_KEYS).map(([k, v]) => [k, v.get(cfg)])));
};

const getCorsKey: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  sendJson(rc.res, 200, CORS_KEYS[corsKey(rc)].get(rc.face.cors));
};

async function readConfigValue(rc: RequestCtx): Promise<string> {
  const value = parseJson(await readBody(rc.req, 64 * 1024), jsonDepthLimit(rc));
  if (typeof value !== 'string') throw new CouchError('bad_request', { reason: 'config values must be JSON strings' });
  return value;
}

const putCorsKey: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const entry = CORS_KEYS[corsKey(rc)];
  const old = entry.get(rc.face.cors);
  await rc.face.setCors(entry.set(rc.face.cors, await readConfigValue(rc)));
  sendJson(rc.res, 200, old);
};

/** `[chttpd] enable_cors` switches the whole feature. */
const getEnableCors: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  sendJson(rc.res, 200, String(rc.face.cors.enabled));
};

const putEnableCors: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const old = String(rc.face.cors.enabled);
  await rc.face.setCors({ ...rc.face.cors, enabled: (await readConfigValue(rc)) === 'true' });
  sendJson(rc.res, 200, old);
};

export function serverRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/', { GET: welcome })
    .add('/_all_dbs', { GET: allDbs })
    .add('/_up', { GET: up })
    .add('/_uuids', { GET: uuids })
    .add('/_session', { GET: getSession, POST: postSession, DELETE: deleteSession })
    .add('/_node/:node/_stats', { GET: nodeStats })
    .add('/_node/:node/_prometheus', { GET: nodePrometheus })
    .add('/_node/:node/_config/cors', { GET: getCorsSection })
    .add('/_node/:node/_config/cors/:key', { GET: getCorsKey, PUT: putCorsKey })
    .add('/_node/:node/_config/chttpd/enable_cors', { GET: getEnableCors, PUT: putEnableCors });
}
