/**
 * Replication endpoints of the server (CouchDB api/server/common.rst): `POST /_replicate`,
 * `GET /_active_tasks`, `GET /_scheduler/jobs` and `GET /_scheduler/docs[/{db}[/{docid}]]`, over
 * the face's ReplicatorManager (src/replicator/manager.ts).
 *
 * Access, as chttpd_auth_request does it: `_scheduler/*` needs a server admin (401 "You are not a
 * server admin." otherwise), and so does `_active_tasks` (chttpd_misc:handle_task_status_req/1
 * calls verify_is_server_admin). `_replicate` takes any authenticated user (anonymous requests
 * are refused: a replication makes this server fetch URLs on the caller's behalf); only an admin
 * or the user who started a replication may cancel it (couch_replicator:check_authorization/2).
 * A one-shot `_replicate` answers when the replication is done, as CouchDB does.
 *
 * Each handler asks the face for the manager (`replicationManager()`), which loads it on first
 * use: a server that never replicates never loads the replicator.
 */
import { CouchError } from '../couch/errors.js';
import { parseReplicationRequest } from '../replicator/request.js';
import { requireAdmin, requireUser, roles } from './auth.js';
import { isObject, qInt, readJson, type Handler, type RequestCtx, type UserCtx } from './request.js';
import { sendJson } from './response.js';
import type { RouteTable } from '../web/route-table.js';
import type { ReplicatorManager } from '../replicator/manager.js';

/** The job a cancel request names, by full id or by base id (the `+continuous` suffix left off). */
function jobOwner(manager: ReplicatorManager, rc: RequestCtx, body: Record<string, unknown>): { found: boolean; user: unknown } {
  let id: string;
  if (typeof body.replication_id === 'string') {
    id = body.replication_id;
  } else {
    try {
      id = manager.jobIdOf(parseReplicationRequest(body, rc.face.localRequestContext(rc.req.headers.authorization)));
    } catch {
      return { found: false, user: null }; // the manager answers the bad request itself
    }
  }
  const base = id.split('+')[0];
  const jobs = manager.schedulerJobs().jobs as Array<Record<string, unknown>>;
  const job = jobs.find((j) => j.id === id) ?? jobs.find((j) => typeof j.id === 'string' && j.id.split('+')[0] === base && j.doc_id === null);
  return job ? { found: true, user: job.user } : { found: false, user: null };
}

function checkCancel(manager: ReplicatorManager, rc: RequestCtx, user: UserCtx, body: Record<string, unknown>): void {
  if (user.admin || body.cancel !== true) return;
  const owner = jobOwner(manager, rc, body);
  if (owner.found && owner.user !== user.name) throw new CouchError('unauthorized', { reason: 'Only the owner or a server admin may cancel a replication.' });
}

const replicate: Handler = async (rc) => {
  const user = requireUser(rc);
  const body = await readJson(rc);
  const manager = await rc.face.replicationManager();
  if (isObject(body)) checkCancel(manager, rc, user, body);
  const auth = rc.req.headers.authorization;
  const answer = await manager.handleReplicate(body, {
    name: user.name,
    roles: roles(user),
    ...(auth ? { authorization: auth } : {}),
  });
  sendJson(rc.res, answer.status, answer.body);
};

const activeTasks: Handler = async (rc) => {
  requireAdmin(rc);
  sendJson(rc.res, 200, (await rc.face.replicationManager()).activeTasks());
};

function page(rc: RequestCtx): { limit?: number; skip?: number } {
  const limit = qInt(rc.query, 'limit');
  const skip = qInt(rc.query, 'skip');
  return { ...(limit !== undefined ? { limit } : {}), ...(skip !== undefined ? { skip } : {}) };
}

const schedulerJobs: Handler = async (rc) => {
  requireAdmin(rc);
  sendJson(rc.res, 200, (await rc.face.replicationManager()).schedulerJobs(page(rc)));
};

/** `_scheduler/docs` pages like `_scheduler/jobs` (`limit`, `skip`). */
const schedulerDocs: Handler = async (rc) => {
  requireAdmin(rc);
  const all = (await rc.face.replicationManager()).schedulerDocs(rc.params.db) as { total_rows: number; docs: unknown[] };
  const { limit, skip = 0 } = page(rc);
  sendJson(rc.res, 200, { total_rows: all.total_rows, offset: skip, docs: all.docs.slice(skip, limit === undefined ? undefined : skip + limit) });
};

const schedulerDoc: Handler = async (rc) => {
  requireAdmin(rc);
  const doc = (await rc.face.replicationManager()).schedulerDocs(rc.params.db, rc.params.docid);
  if (doc === null) throw new CouchError('not_found_detail', { params: { detail: 'unknown' } });
  sendJson(rc.res, 200, doc);
};

/** Registered before the database routes, which would otherwise take `/_replicate` for a database. */
export function replicationRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/_replicate', { POST: replicate })
    .add('/_active_tasks', { GET: activeTasks })
    .add('/_scheduler/jobs', { GET: schedulerJobs })
    .add('/_scheduler/docs', { GET: schedulerDocs })
    .add('/_scheduler/docs/:db', { GET: schedulerDocs })
    .add('/_scheduler/docs/:db/*docid', { GET: schedulerDoc });
}
