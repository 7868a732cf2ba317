/**
 * `/_node/{node}/_config[/{section}[/{key}]]` (CouchDB api/server/configuration.rst): GET the
 * whole configuration, a section or a key; PUT a key (the body a JSON string; the answer the old
 * value, `""` when there was none); DELETE a key (the answer the removed value, 404
 * `unknown_config_value` when there was none). Server admins only; values are strings.
 *
 * `[cors]` and `[chttpd] enable_cors` are the CORS settings (cors.ts, persisted as they always
 * were); every other key lives in couchdb/config.ts. A few values are checked before they are
 * taken, since the server acts on them: `[log] level` (applied to the running logger at once),
 * `[couchdb] default_security`, `[chttpd_auth] iterations` and `pbkdf2_prf`, `[attachments]
 * compression_level`. `[admins]` is refused:
 * the server admin is the Couchbase administrator (README "Credentials").
 */
import { CouchError } from '../couch/errors.js';
import type { Logger } from '../common/logger.js';
import { isConfigName } from '../couchdb/config.js';
import { isUuidAlgorithm, UUID_ALGORITHMS } from '../couchdb/uuids.js';
import { parseAuthHandlers } from './proxy-auth.js';
import { requireAdmin } from './auth.js';
import { CORS_KEYS, type CorsKey } from './cors.js';
import { jsonDepthLimit, parseJson, readJsonBytes, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';
import { checkNode } from './node-name.js';
import type { RouteTable } from '../web/route-table.js';

/** CouchDB's log levels (couch_log_util:level_to_atom/1) to pino's. */
const LOG_LEVELS: Readonly<Record<string, string>> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  emerg: 'fatal',
  none: 'silent',
};

/**
 * Set the running logger's level, when it has one (a pino logger does; the silent default of the
 * library entry points has none and stays silent).
 */
export function applyLogLevel(logger: Logger, couchLevel: string): void {
  const pinoLevel = LOG_LEVELS[couchLevel.toLowerCase()];
  const target = logger as Logger & { level?: unknown };
  if (pinoLevel !== undefined && typeof target.level === 'string') target.level = pinoLevel;
}

function keepsLogin(value: string): string | null {
  const handlers = parseAuthHandlers(value);
  return handlers.includes('default') || handlers.includes('cookie') ? null : 'authentication_handlers must keep {chttpd_auth, cookie_authentication_handler} or {chttpd_auth, default_authentication_handler}';
}

const CHECKS: Readonly<Record<string, (value: string) => string | null>> = {
  'log/level': (v) => (LOG_LEVELS[v.toLowerCase()] ? null : `log level must be one of ${Object.keys(LOG_LEVELS).join(', ')}`),
  'couchdb/default_security': (v) => (v === 'admin_only' || v === 'everyone' ? null : 'default_security must be admin_only or everyone'),
  'chttpd_auth/iterations': (v) => (/^[1-9]\d{0,6}$/.test(v) ? null : 'iterations must be an integer from 1 to 9999999'),
  // Without cookie or Basic handling nobody, the administrator included, could log in to set it back.
  'chttpd/authentication_handlers': keepsLogin,
  'httpd/authentication_handlers': keepsLogin,
  'uuids/algorithm': (v) => (isUuidAlgorithm(v) ? null : `algorithm must be one of ${UUID_ALGORITHMS.join(', ')}`),
  // couch_db:with_stream/3 reads it with config:get_integer (a non-integer fails every attachment write there).
  'attachments/compression_level': (v) => (/^[0-9]$/.test(v.trim()) ? null : 'compression_level must be an integer from 0 (no compression) to 9'),
  'chttpd_auth/pbkdf2_prf': (v) => (['sha', 'sha224', 'sha256', 'sha384', 'sha512'].includes(v) ? null : 'pbkdf2_prf must be sha, sha224, sha256, sha384 or sha512'),
};

function unknownValue(): CouchError {
  return new CouchError('not_found_detail', { params: { detail: 'unknown_config_value' } });
}

function names(rc: RequestCtx): { section: string; key: string | undefined } {
  requireAdmin(rc);
  checkNode(rc);
  const section = rc.params.section ?? '';
  const key = rc.params.key;
  if (!isConfigName(section) || (key !== undefined && !isConfigName(key))) throw new CouchError('bad_request', { reason: 'invalid config section or key name' });
  return { section, key };
}

function isCorsKey(section: string, key: string): boolean {
  return (section === 'cors' && Object.hasOwn(CORS_KEYS, key)) || (section === 'chttpd' && key === 'enable_cors');
}

function corsValue(rc: RequestCtx, key: string): string {
  return key === 'enable_cors' ? String(rc.face.cors.enabled) : CORS_KEYS[key as CorsKey].get(rc.face.cors);
}

/** A section as GET shows it, the CORS keys included. */
function sectionOf(rc: RequestCtx, section: string): Record<string, string> {
  const out = rc.face.config.section(section);
  if (section === 'cors') for (const key of Object.keys(CORS_KEYS)) out[key] = corsValue(rc, key);
  if (section === 'chttpd') {
    out.enable_cors = corsValue(rc, 'enable_cors');
    out.port = String(rc.face.ctx.ports.http); // the listener's, as the running server reports it
  }
  // Where the data lives (CouchDB's `database_dir`): the engine's data directory.
  if (section === 'couchdb') out.database_dir = rc.face.ctx.engine.store.path;
  return out;
}

const getAll: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const all: Record<string, Record<string, string>> = {};
  for (const section of new Set([...rc.face.config.sections(), 'cors', 'chttpd', 'couchdb'])) all[section] = sectionOf(rc, section);
  sendJson(rc.res, 200, Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1))));
};

const getSection: Handler = async (rc) => {
  const { section } = names(rc);
  sendJson(rc.res, 200, sectionOf(rc, section));
};

const getKey: Handler = async (rc) => {
  const { section, key } = names(rc);
  const value = sectionOf(rc, section)[key!];
  if (value === undefined) throw unknownValue();
  sendJson(rc.res, 200, value);
};

async function readValue(rc: RequestCtx): Promise<string> {
  const value = parseJson(await readJsonBytes(rc, 64 * 1024), jsonDepthLimit(rc));
  if (typeof value !== 'string') throw new CouchError('bad_request', { reason: 'config values must be JSON strings' });
  return value;
}

/**
 * couch_util:check_config_blacklist: sections that name code to run (handlers, daemons, query
 * servers) are never changed over HTTP.
 */
const BLACKLISTED = new Set(['daemons', 'external', 'httpd_design_handlers', 'httpd_db_handlers', 'httpd_global_handlers', 'native_query_servers', 'os_daemons', 'query_servers', 'feature_flags']);

function checkBlacklist(section: string): void {
  if (BLACKLISTED.has(section)) throw new CouchError('forbidden', { params: { detail: 'Config section blacklisted for modification over HTTP API.' } });
}

const putKey: Handler = async (rc) => {
  const { section, key } = names(rc);
  checkBlacklist(section);
  if (section === 'admins') throw new CouchError('bad_request', { reason: 'the server admin is the Couchbase administrator: set it with `freshet serve` or the management REST API' });
  const value = await readValue(rc);
  const problem = CHECKS[`${section}/${key!}`]?.(value);
  if (problem) throw new CouchError('bad_request', { reason: problem });
  if (isCorsKey(section, key!)) {
    const old = corsValue(rc, key!);
    const cors = rc.face.cors;
    await rc.face.setCors(key === 'enable_cors' ? { ...cors, enabled: value === 'true' } : CORS_KEYS[key as CorsKey].set(cors, value));
    sendJson(rc.res, 200, old);
    return;
  }
  const old = await rc.face.config.set(section, key!, value);
  sendJson(rc.res, 200, old ?? '');
};

const deleteKey: Handler = async (rc) => {
  const { section, key } = names(rc);
  checkBlacklist(section);
  if (isCorsKey(section, key!)) throw new CouchError('bad_request', { reason: 'CORS settings are set, not deleted: PUT the value wanted' });
  if (rc.face.config.get(section, key!) === undefined) throw unknownValue();
  const old = await rc.face.config.delete(section, key!);
  sendJson(rc.res, 200, old ?? '');
};

/** `POST /_node/{node}/_config/_reload`: nothing to re-read (changes apply at once); 200 as CouchDB. */
const reload: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  sendJson(rc.res, 200, { ok: true });
};

export function configRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/_node/:node/_config', { GET: getAll })
    .add('/_node/:node/_config/_reload', { POST: reload })
    .add('/_node/:node/_config/:section', { GET: getSection })
    .add('/_node/:node/_config/:section/:key', { GET: getKey, PUT: putKey, DELETE: deleteKey });
}
