/**
 * `/{db}/_partition/...` (CouchDB api/partitioned-dbs.rst; chttpd_db:handle_partition_req/2):
 *
 *   GET /{db}/_partition/{p}                       the partition's counts and sizes
 *   /{db}/_partition/{p}/_all_docs[/queries]       `_all_docs` within the partition
 *   /{db}/_partition/{p}/_design/{d}/_view/{v}[/queries]   a partitioned view's partition
 *   /{db}/_partition/{p}/_design/{d}/_list|_show|_update/…  design functions, lists over the partition
 *   /{db}/_partition/{p}/_find, _explain           Mango within the partition
 *   /{db}/_partition/{p}/_index                    `/{db}/_index`, the partition ignored
 *
 * As in chttpd, a sub-path checks that the database is partitioned, then the partition name, then
 * that a `partition` in the query string names the same partition, and hands the request to the
 * database-level handler with `partition` set in its query string: `_all_docs`, views and Mango
 * read it there (so `?partition=p` on those paths works too, as in CouchDB). Any other sub-path is
 * 404 `missing`.
 */
import { CouchError } from '../couch/errors.js';
import { validatePartition } from '../couchdb/partition.js';
import { scanPartition } from '../couchdb/partition-size.js';
import type { Db } from '../couchdb/db.js';
import { allDocsHandlers, allDocsQueriesHandlers } from './all-docs.js';
import { resolveDb } from './keyspace.js';
import { findHandlers, explainHandlers, indexHandlers } from './mango-routes.js';
import type { Handler, RequestCtx } from './request.js';
import { sendJson } from './response.js';
import { designInfoHandlers, viewHandlers, viewQueriesHandlers } from './view-routes.js';
import { listHandlers, showHandlers, updateHandlers } from './render-routes.js';
import type { RouteTable } from '../web/route-table.js';

const notPartitioned = (): CouchError => new CouchError('bad_request', { reason: 'database is not partitioned' });

/** The request as the database-level handler sees it: `partition` in its query string. */
function withPartition(rc: RequestCtx, db: Db): RequestCtx {
  if (!db.partitioned) throw notPartitioned();
  const p = rc.params.partition!;
  validatePartition(p);
  const given = rc.query.get('partition');
  if (given !== null && given !== p) throw new CouchError('bad_request', { reason: 'Conflicting value for `partition` in query string' });
  const query = new URLSearchParams(rc.query);
  query.set('partition', p);
  return { ...rc, query };
}

/** Each method's handler, run with the partition in the query string. */
function inPartition(handlers: Readonly<Partial<Record<string, Handler>>>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const [method, inner] of Object.entries(handlers)) {
    if (inner) out[method] = (rc) => inner(withPartition(rc, resolveDb(rc)));
  }
  return out;
}

/**
 * `GET /{db}/_partition/{p}` (fabric_db_partition_info, couch_bt_engine:get_partition_info): the
 * live and deleted documents with ids in [`p:`, `p;`) and their sizes, `active` and `external`
 * both the bytes of the live ones' stored values (partition-size.ts). The partition name is
 * checked before the database.
 */
const partitionInfo: Handler = async (rc) => {
  const p = rc.params.partition!;
  validatePartition(p);
  const db = resolveDb(rc);
  if (!db.partitioned) throw notPartitioned();
  await db.settled();
  const { docCount, delCount, bytes } = scanPartition(db, p);
  sendJson(rc.res, 200, { db_name: db.name, sizes: { active: bytes, external: bytes }, partition: p, doc_count: docCount, doc_del_count: delCount });
};

/** `POST /{db}/_partition/_x…` names no partition (chttpd_db's third clause); other methods are 405. */
const partitionPost: Handler = async (rc) => {
  validatePartition(rc.params.partition);
  throw new CouchError('method_not_allowed', { params: { methods: 'GET' } });
};

const invalidRequest: Handler = async () => {
  throw new CouchError('bad_request', { reason: 'invalid_partition_req' });
};

/** Any other sub-path: the same checks as a served one, then 404. */
const noSuchPath: Handler = async (rc) => {
  withPartition(rc, resolveDb(rc));
  throw new CouchError('not_found');
};

const EVERY_METHOD = ['GET', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS'] as const;
const every = (h: Handler): Record<string, Handler> => Object.fromEntries(EVERY_METHOD.map((m) => [m, h]));

export function partitionRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/:db/_partition', every(invalidRequest))
    .add('/:db/_partition/:partition', { GET: partitionInfo, POST: partitionPost })
    .add('/:db/_partition/:partition/_all_docs', inPartition(allDocsHandlers))
    .add('/:db/_partition/:partition/_all_docs/queries', inPartition(allDocsQueriesHandlers))
    .add('/:db/_partition/:partition/_find', inPartition(findHandlers))
    .add('/:db/_partition/:partition/_explain', inPartition(explainHandlers))
    .add('/:db/_partition/:partition/_index', inPartition(indexHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_view/:view', inPartition(viewHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_view/:view/queries', inPartition(viewQueriesHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_info', inPartition(designInfoHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_list/:fn/:view', inPartition(listHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_list/:fn/:viewddoc/:view', inPartition(listHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_show/:fn', inPartition(showHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_show/:fn/*docid', inPartition(showHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_update/:fn', inPartition(updateHandlers))
    .add('/:db/_partition/:partition/_design/:ddoc/_update/:fn/*docid', inPartition(updateHandlers))
    .add('/:db/_partition/:partition/*rest', every(noSuchPath));
}
