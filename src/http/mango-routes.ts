/**
 * The Mango endpoints (CouchDB api/database/find.rst; mango_httpd.erl): `POST /{db}/_find`,
 * `POST /{db}/_explain`, `GET|POST /{db}/_index`, `POST /{db}/_index/_bulk_delete`,
 * `DELETE /{db}/_index/{ddoc}/json/{name}`. Bodies must be JSON objects sent as
 * `application/json` (415 otherwise); the work is src/mango's, imported on first use (`mango`):
 * with src/views it was about 50 ms of every start (bench startup).
 *
 * A `_find` reply is `{"docs": [...], "bookmark": "...", "execution_stats": {...}, "warning": "..."}`
 * in that member order (mango_httpd end_find_resp/1 appends them as the cursor reports them).
 */
import { CouchError } from '../couch/errors.js';
import { requireDbAdminOf, resolveDb } from './keyspace.js';
import { readJsonObject, type Handler, type RequestCtx } from './request.js';
import { sendJson, sendJsonText } from './response.js';
import type { RouteTable } from '../web/route-table.js';

/** src/mango, loaded on the first request that needs it (the import is cached after that). */
const mango = (): Promise<typeof import('../mango/index.js')> => import('../mango/index.js');

function body(rc: RequestCtx): Promise<Record<string, unknown>> {
  return readJsonObject(rc);
}

/**
 * The body of `_find`/`_explain` with the query string's `partition` (set by
 * `/{db}/_partition/{p}/_find`, partition-routes.ts) in place of the body's own (mango_httpd
 * maybe_set_partition/1).
 */
async function findBody(rc: RequestCtx): Promise<Record<string, unknown>> {
  const b = await body(rc);
  const partition = rc.query.get('partition');
  if (partition === null) return b;
  const { partition: _given, ...rest } = b;
  return { partition, ...rest };
}

const postFind: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { find, validateFind } = await mango();
  const opts = validateFind(await findBody(rc));
  const r = await find(db, opts);
  let text = `{"docs":[${r.docs.join(',')}],"bookmark":${JSON.stringify(r.bookmark)}`;
  if (opts.executionStats) text += `,"execution_stats":${JSON.stringify(r.stats)}`;
  if (r.warnings.length > 0) text += `,"warning":${JSON.stringify(r.warnings.join('\n'))}`;
  sendJsonText(rc.res, 200, text + '}');
};

const postExplain: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { explainFind, validateFind } = await mango();
  sendJson(rc.res, 200, explainFind(db, validateFind(await findBody(rc))));
};

/** `limit`/`skip` of `GET /db/_index`: integers, else 500 as mango_httpd parse_val/1 answers. */
function listParam(rc: RequestCtx, name: string): number | undefined {
  const v = rc.query.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw new CouchError('mango_invalid_list_index_params');
  return Number(v);
}

const getIndexes: Handler = async (rc) => {
  const db = resolveDb(rc);
  const { indexToJson, listIndexes } = await mango();
  const all = listIndexes(db).map(indexToJson);
  const limit = listParam(rc, 'limit') ?? all.length;
  const skip = listParam(rc, 'skip') ?? 0;
  if (limit < 1 || skip < 0) throw new CouchError('mango_invalid_list_index_params');
  sendJson(rc.res, 200, { total_rows: all.length, indexes: all.slice(Math.min(skip, all.length), Math.min(skip, all.length) + limit) });
};

const postIndex: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireDbAdminOf(rc, db); // index definitions are design documents (CouchDB: db admins only)
  const { createIndex, validateIndexCreate } = await mango();
  sendJson(rc.res, 200, await createIndex(db, validateIndexCreate(await body(rc))));
};

const postBulkDelete: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireDbAdminOf(rc, db); // index definitions are design documents (CouchDB: db admins only)
  const { bulkDelete, validateBulkDelete } = await mango();
  sendJson(rc.res, 200, await bulkDelete(db, validateBulkDelete(await body(rc))));
};

const deleteOne: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireDbAdminOf(rc, db); // index definitions are design documents (CouchDB: db admins only)
  const { deleteIndex } = await mango();
  await deleteIndex(db, rc.params.ddoc!, rc.params.type!, rc.params.name!);
  sendJson(rc.res, 200, { ok: true });
};

/** Any other path under `/{db}/_index/`: 404 for every method (mango_httpd handle_index_req's last clause). */
const noSuchIndexPath: Handler = async (rc) => {
  resolveDb(rc);
  throw new CouchError('not_found');
};
// Every method chttpd passes on (mochiweb names TRACE and PATCH too; 01_index_crud_test "bad urls").
const NO_SUCH_INDEX_PATH = Object.fromEntries(['GET', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS', 'TRACE', 'PATCH'].map((m) => [m, noSuchIndexPath]));

export const findHandlers = { POST: postFind };
export const explainHandlers = { POST: postExplain };
export const indexHandlers = { GET: getIndexes, POST: postIndex };

export function mangoRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/:db/_find', findHandlers)
    .add('/:db/_explain', explainHandlers)
    .add('/:db/_index', indexHandlers)
    .add('/:db/_index/_bulk_delete', { POST: postBulkDelete })
    .add('/:db/_index/:ddoc/:type/:name', { DELETE: deleteOne })
    .add('/:db/_index/_design/:ddoc/:type/:name', { DELETE: deleteOne })
    .add('/:db/_index/*rest', NO_SUCH_INDEX_PATH);
}
