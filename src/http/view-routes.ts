/**
 * View endpoints (CouchDB api/ddoc/views.rst, common.rst): `GET|POST /{db}/_design/{ddoc}/_view/
 * {view}` (POST: `keys` and any other parameter in the JSON body), `GET /{db}/_design/{ddoc}/_info`
 * and `POST /{db}/_view_cleanup`. The work is in src/views (service.ts), which, with src/mango,
 * is imported on first use (`views`): both were about 50 ms of every start (bench startup).
 */
import type { Db } from '../couchdb/db.js';
import { CouchError } from '../couch/errors.js';
import { loadDesignDoc } from '../design/design-docs.js';
import { MAX_VIEW_LIMIT } from '../couchdb/partition.js';
import { requireAdmin } from './auth.js';
import { queriesOf } from './all-docs-query.js';
import { resolveDb } from './keyspace.js';
import { readJsonObject, type Handler, type RequestCtx } from './request.js';
// A type only: the views modules load on first use (test/server/startup-imports.test.ts).
import type { ReduceLimitOptions } from '../views/reduce-limit.js';
import type { RowStream } from '../views/run.js';
import { sendJson, sendJsonText } from './response.js';

type Views = typeof import('../views/query.js') & typeof import('../views/service.js');
let loaded: Promise<Views> | null = null;
/** src/views, loaded by the first request that needs it, then the same object for every request. */
function views(): Promise<Views> {
  loaded ??= Promise.all([import('../views/query.js'), import('../views/service.js')]).then(([query, service]) => ({ ...query, ...service }));
  return loaded;
}

/** `[query_server_config] reduce_limit` as it is now (a `_config` change applies to the next query). */
function reduceLimit(rc: RequestCtx, db: Db, ddoc: string): ReduceLimitOptions {
  return {
    setting: rc.face.config.get('query_server_config', 'reduce_limit'),
    threshold: rc.face.config.get('query_server_config', 'reduce_limit_threshold'),
    ratio: rc.face.config.get('query_server_config', 'reduce_limit_ratio'),
    log: (message, level) => rc.face.ctx.logger[level ?? 'info']({ db: db.name, ddoc: `_design/${ddoc}` }, message),
  };
}

/** `[query_server_config] query_limit` and `partition_query_limit` as they are now. */
function queryLimits(rc: RequestCtx): { global: number; partition: number } {
  const config = rc.face.config;
  return { global: config.int('query_server_config', 'query_limit', MAX_VIEW_LIMIT), partition: config.int('query_server_config', 'partition_query_limit', MAX_VIEW_LIMIT) };
}

/** What a view query takes from the server's state: the query limits, and `[disk_monitor]`'s block on index updates. */
function serverLimits(rc: RequestCtx): { queryLimits: { global: number; partition: number }; indexingBlocked: boolean } {
  return { queryLimits: queryLimits(rc), indexingBlocked: rc.face.disk.blockInteractiveViewIndexing() };
}

const getView: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { parseViewQuery, queryView } = await views();
  const q = { ...parseViewQuery(rc.query), ...serverLimits(rc) };
  sendJsonText(rc.res, 200, await queryView(db, rc.params.ddoc!, rc.params.view!, q, reduceLimit(rc, db, rc.params.ddoc!)));
};

/**
 * chttpd_view handle_view_req (CouchDB 3.2+, apache/couchdb#2168): a plain POST no longer runs
 * `queries` (that is `…/queries`); couch_mrview_util get_view_queries first refuses one that is no
 * array.
 */
function assertNoQueries(body: Record<string, unknown>): void {
  if (body.queries === undefined) return;
  if (!Array.isArray(body.queries)) throw new CouchError('bad_request', { reason: '`queries` member must be an array.' });
  throw new CouchError('bad_request', { reason: 'The `queries` parameter is no longer supported at this endpoint' });
}

const postView: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  assertNoQueries(body);
  const { parseViewQuery, queryView } = await views();
  const q = { ...parseViewQuery(rc.query, body), ...serverLimits(rc) };
  sendJsonText(rc.res, 200, await queryView(db, rc.params.ddoc!, rc.params.view!, q, reduceLimit(rc, db, rc.params.ddoc!)));
};

/**
 * `POST /{db}/_design/{ddoc}/_view/{view}/queries` (CouchDB 2.2+): `{"queries": [...]}` answers
 * `{"results": [...]}`, one view result per query, in order (chttpd_view:multi_query_view/5). Each
 * query's parameters apply over the query string's (couch_mrview_http:parse_params/4), the reverse
 * of a plain POST, where the query string wins. Every query is parsed before any runs, so a bad
 * one is a 400 with nothing sent.
 */
const postViewQueries: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  const { parseViewQuery, queryView } = await views();
  const limits = serverLimits(rc);
  const parsed = queriesOf(body).map((query) => ({ ...parseViewQuery(new URLSearchParams([...rc.query].filter(([name]) => !Object.hasOwn(query, name))), query), ...limits }));
  const results: string[] = [];
  for (const q of parsed) results.push(await queryView(db, rc.params.ddoc!, rc.params.view!, q, reduceLimit(rc, db, rc.params.ddoc!)));
  sendJsonText(rc.res, 200, `{"results":[${results.join(',')}]}`);
};

/** A view's result as a row stream (`total_rows`, `offset`, ... and rows read as pulled), for list functions (render-routes.ts). */
export async function viewRows(rc: RequestCtx, db: Db, ddoc: string, view: string, body?: Record<string, unknown>): Promise<RowStream> {
  const { parseViewQuery, viewRowStream } = await views();
  return viewRowStream(db, ddoc, view, { ...parseViewQuery(rc.query, body), ...serverLimits(rc) }, reduceLimit(rc, db, ddoc));
}

const getInfo: Handler = async (rc) => {
  const db = resolveDb(rc);
  const ddoc = loadDesignDoc(db, `_design/${rc.params.ddoc!}`);
  if (ddoc !== null && ddoc.language === 'query') {
    // A Mango design document: its json indexes are views of their own (src/mango/view-source.ts);
    // the first one's state stands for the design document's, as CouchDB reports one group.
    const mango = await import('../mango/index.js');
    const [first] = mango.indexesOfDdoc(ddoc._id, ddoc, db.partitioned);
    if (first === undefined) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
    const idx = await mango.openJsonIndex(db, first);
    sendJson(rc.res, 200, { name: rc.params.ddoc!, view_index: idx.info('query') });
    return;
  }
  const { designInfo } = await views();
  sendJson(rc.res, 200, await designInfo(db, rc.params.ddoc!));
};

const viewCleanup: Handler = async (rc) => {
  requireAdmin(rc);
  const db = resolveDb(rc);
  const [{ cleanupViews }, { mangoSignatures }] = await Promise.all([views(), import('../mango/index.js')]);
  // Mango json indexes are views too (src/mango): their indexes are in use while their ddocs exist.
  await cleanupViews(db, mangoSignatures(db));
  sendJson(rc.res, 202, { ok: true });
};

export const viewHandlers = { GET: getView, POST: postView };
export const viewQueriesHandlers = { POST: postViewQueries };
export const designInfoHandlers = { GET: getInfo };
export const viewCleanupHandlers = { POST: viewCleanup };

/** `/{db}/_temp_view`, any method: 410, as CouchDB 2+ answers (after the database's access check). */
const tempViewGone: Handler = async (rc) => {
  resolveDb(rc);
  throw new CouchError('temp_view_gone');
};
export const tempViewHandlers = { GET: tempViewGone, POST: tempViewGone, PUT: tempViewGone, DELETE: tempViewGone };
