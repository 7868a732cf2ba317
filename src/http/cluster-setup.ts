/**
 * `/_cluster_setup` (CouchDB setup_httpd.erl, setup.erl; api/server/common.rst), as a single
 * node answers it. Setup tools (Fauxton's wizard, container entrypoints, Helm charts) ask it for
 * the state and post `enable_single_node` or `finish_cluster` to have the system databases made.
 *
 *   GET   {"state": "single_node_enabled"} once every database of `ensure_dbs_exist` (default
 *         `["_users","_replicator"]`) exists, else "single_node_disabled": a Freshet server is one
 *         node with an administrator from its first start.
 *   POST  (application/json, server admins) `{"action": ...}`, 201 `{"ok":true}` on success:
 *         enable_single_node  creates the missing databases of `ensure_dbs_exist`; `username`
 *                             must be the administrator (the server admin is the Couchbase
 *                             administrator, README "Credentials"); `bind_address` and `port`
 *                             are the command line's (`freshet serve`), not changed here.
 *         finish_cluster      the same creation; 400 "Cluster is already finished" when every
 *                             database exists (setup:finish_cluster).
 *         remove_node         accepted, nothing to do (as CouchDB).
 *         enable_cluster, add_node, receive_cookie   400: there is no cluster to form.
 *         anything else       400 "Invalid Action'" (the apostrophe is CouchDB's).
 */
import { CouchError } from '../couch/errors.js';
import { requireAdmin } from './auth.js';
import { createDatabase } from './db-routes.js';
import { readJsonObject, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';
import type { RouteTable } from '../web/route-table.js';

/** setup:cluster_system_dbs/0 in CouchDB 3 (`_global_changes` is no longer made). */
const SYSTEM_DBS = ['_users', '_replicator'];

function dbList(value: unknown, what: string): string[] {
  if (value === undefined) return SYSTEM_DBS;
  if (!Array.isArray(value) || !value.every((d): d is string => typeof d === 'string')) {
    throw new CouchError('bad_request', { reason: `${what} must be a JSON array of database names` });
  }
  return value;
}

function queryDbs(rc: RequestCtx): string[] {
  const raw = rc.query.get('ensure_dbs_exist');
  if (raw === null) return SYSTEM_DBS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CouchError('bad_request', { reason: 'ensure_dbs_exist must be a JSON array of database names' });
  }
  return dbList(parsed, 'ensure_dbs_exist');
}

const missing = (rc: RequestCtx, dbs: readonly string[]): string[] => dbs.filter((d) => !rc.face.ctx.engine.bucket(d));

const getState: Handler = async (rc) => {
  requireAdmin(rc);
  sendJson(rc.res, 200, { state: missing(rc, queryDbs(rc)).length === 0 ? 'single_node_enabled' : 'single_node_disabled' });
};

async function createMissing(rc: RequestCtx, dbs: readonly string[]): Promise<void> {
  for (const name of missing(rc, dbs)) {
    try {
      await createDatabase(rc.face, name, { q: rc.face.options.defaultQ ?? 1024, partitioned: null });
    } catch (err) {
      // Made meanwhile by another request: as fabric:create_db's file_exists, ignored by setup.
      if (!(err instanceof CouchError && err.kind === 'file_exists')) throw err;
    }
  }
}

const post: Handler = async (rc) => {
  const admin = requireAdmin(rc);
  requireJsonType(rc.req);
  const body = await readJsonObject(rc);
  const invalid = (): CouchError => new CouchError('bad_request', { reason: "Invalid Action'" });
  switch (body.action) {
    case 'enable_single_node': {
      if (body.username !== undefined && body.username !== admin.name) {
        throw new CouchError('bad_request', { reason: 'the server admin is the Couchbase administrator: set it with `freshet serve` or the management REST API' });
      }
      await createMissing(rc, dbList(body.ensure_dbs_exist, 'ensure_dbs_exist'));
      break;
    }
    case 'finish_cluster': {
      const dbs = dbList(body.ensure_dbs_exist, 'ensure_dbs_exist');
      if (missing(rc, dbs).length === 0) throw new CouchError('bad_request', { reason: 'Cluster is already finished' });
      await createMissing(rc, dbs);
      break;
    }
    case 'remove_node':
      break;
    case 'enable_cluster':
    case 'add_node':
    case 'receive_cookie':
      throw new CouchError('bad_request', { reason: 'Freshet runs as a single node: use `enable_single_node`' });
    default:
      throw invalid();
  }
  sendJson(rc.res, 201, { ok: true });
};

export function clusterSetupRoutes(routes: RouteTable<Handler>): void {
  const handlers = { GET: getState, POST: post };
  routes.add('/_cluster_setup', handlers).add('/_cluster_setup/*rest', handlers);
}

