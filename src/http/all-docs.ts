/**
 * `GET|POST /{db}/_all_docs` (couch-replication.md §3.8): the query, and the reply around the
 * rows that couchdb/all-docs-rows.ts reads (by-id index range or given keys). Also
 * `GET|POST /{db}/_design_docs` (CouchDB 2.2+, api/database/bulk-api.rst): the same over the
 * design documents only, `total_rows` their count (couch_mrview:get_total_rows/2, namespace
 * `_design`). `offset` is CouchDB 3.x's: the live documents before the start key (after it,
 * descending) plus `skip`, at most `total_rows` (couchdb/all-docs-rows.ts rangeOffset); null with
 * `keys`. `POST …/queries` runs several listings in one request. A `partition` parameter (set by
 * `/{db}/_partition/{p}/_all_docs`, partition-routes.ts) confines the range to that partition.
 */
import { keyRows, rangeOffset, rangeRows } from '../couchdb/all-docs-rows.js';
import { compareRaw } from '../couch/collate.js';
import type { Db } from '../couchdb/db.js';
import { allDocsRange, queriesOf, withBodyParams, type AllDocsQuery } from './all-docs-query.js';
import { CouchError } from '../couch/errors.js';
import { applyQueryLimit, clampToPartition, MAX_VIEW_LIMIT, validatePartition } from '../couchdb/partition.js';
import { resolveDb } from './keyspace.js';
import { isObject, jsonDepthLimit, parseJson, readJsonBytes, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { sendJsonText } from './response.js';

/** Which documents a listing covers: all of them, or the design documents. */
interface Namespace {
  /** Narrow the query's range to the namespace. */
  readonly clamp: (q: AllDocsQuery) => AllDocsQuery;
  readonly totalRows: (db: Db) => number;
}

const ALL_DOCS: Namespace = { clamp: (q) => q, totalRows: (db) => db.counts().docCount };

/** Design document ids sort between these two (`/` is 0x2f, `0` 0x30): couch_mrview's `_design` namespace bounds. */
const DESIGN_FIRST = '_design/';
const DESIGN_END = '_design0';

const DESIGN_DOCS: Namespace = {
  clamp(q) {
    if (q.keys) return q;
    const [low, high] = q.descending ? [DESIGN_END, DESIGN_FIRST] : [DESIGN_FIRST, DESIGN_END];
    const dir = q.descending ? -1 : 1;
    const out: AllDocsQuery = { ...q };
    if (q.startKey === undefined || dir * compareRaw(q.startKey, low) < 0) out.startKey = low;
    if (q.endKey === undefined || dir * compareRaw(q.endKey, high) > 0) out.endKey = high;
    return out;
  },
  // The live design documents (a database holds few): the rows of the whole namespace.
  totalRows: (db) =>
    rangeRows(db, { startKey: DESIGN_FIRST, endKey: DESIGN_END, inclusiveEnd: false, limit: Number.MAX_SAFE_INTEGER, skip: 0, descending: false, includeDocs: false, conflicts: false, attachments: false }).length,
};

/**
 * The listing's query: the namespace's range, confined to a partition when `partition` names one
 * (partition-routes.ts sets it; couch_mrview_util:validate_all_docs_args), its limit then bounded
 * by `[query_server_config] partition_query_limit` (`maxLimit`).
 */
function listingQuery(db: Db, ns: Namespace, params: URLSearchParams, keys: unknown, maxLimit: number): AllDocsQuery {
  const q = ns.clamp(allDocsRange(params, keys));
  const partition = params.get('partition');
  if (partition === null) return q;
  if (!db.partitioned) throw new CouchError('query_parse_error', { params: { detail: '`partition` parameter is not supported on this db' } });
  validatePartition(partition);
  const limit = applyQueryLimit(q.limit === Number.MAX_SAFE_INTEGER ? undefined : q.limit, maxLimit);
  return q.keys ? { ...q, limit } : { ...clampToPartition(q, partition), limit };
}

/** The JSON text of a listing of `db` for a query string (and a POST body). */
function listingText(db: Db, ns: Namespace, query: URLSearchParams, body?: Record<string, unknown>, maxLimit = MAX_VIEW_LIMIT): string {
  const q = body === undefined ? listingQuery(db, ns, query, undefined, maxLimit) : listingQuery(db, ns, withBodyParams(query, body), body.keys, maxLimit);
  const rows = q.keys ? keyRows(db, q, q.keys) : rangeRows(db, q);
  const total = ns.totalRows(db);
  // fabric_view_all_docs: the documents before the first row plus skip, at most total_rows; null with keys.
  const offset = q.keys ? null : Math.min(total, rangeOffset(db, q) + q.skip);
  const head = JSON.stringify({ total_rows: total, offset }).slice(0, -1);
  const tail = q.updateSeq ? `,"update_seq":${JSON.stringify(db.updateSeq)}}` : '}';
  return `${head},"rows":[${rows.join(',')}]${tail}`;
}

/** `_all_docs` as an object, for a list function run over it (`_list/{fn}/_all_docs`). */
export function allDocsResult(db: Db, query: URLSearchParams, body?: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(listingText(db, ALL_DOCS, query, body)) as Record<string, unknown>;
}

/** `[query_server_config] partition_query_limit`, read per request (a change applies to the next). */
function partitionLimit(rc: RequestCtx): number {
  return rc.face.config.int('query_server_config', 'partition_query_limit', MAX_VIEW_LIMIT);
}

async function listDocs(rc: RequestCtx, ns: Namespace, body?: Record<string, unknown>): Promise<void> {
  sendJsonText(rc.res, 200, listingText(resolveDb(rc), ns, rc.query, body, partitionLimit(rc)));
}

/** `GET` and `POST` (a JSON object body: `keys` lists the ids, other members are query parameters) of a listing. */
function listingHandlers(ns: Namespace): { GET: Handler; POST: Handler } {
  return {
    GET: (rc) => listDocs(rc, ns),
    POST: async (rc) => {
      requireJsonType(rc.req);
      const raw = await readJsonBytes(rc);
      const body = raw.length > 0 ? parseJson(raw, jsonDepthLimit(rc)) : {};
      if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
      await listDocs(rc, ns, body);
    },
  };
}

/**
 * `POST /{db}/_all_docs/queries` (and `_design_docs/queries`), CouchDB 2.2+: `{"queries": [...]}`
 * answers `{"results": [...]}`, one listing per query, in order (chttpd_db:multi_all_docs_view/4).
 * Each query is an object of the listing's parameters (`keys` included) applied over the request's
 * query string, which gives the defaults. As in CouchDB the body needs no JSON Content-Type.
 */
function queriesHandler(ns: Namespace): { POST: Handler } {
  return {
    POST: async (rc) => {
      const db = resolveDb(rc);
      const raw = await readJsonBytes(rc);
      const body = raw.length > 0 ? parseJson(raw, jsonDepthLimit(rc)) : undefined;
      if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
      const results = queriesOf(body).map((query) => listingText(db, ns, withBodyParams(rc.query, query, true), query, partitionLimit(rc)));
      sendJsonText(rc.res, 200, `{"results":[${results.join(',')}]}`);
    },
  };
}

export const allDocsHandlers = listingHandlers(ALL_DOCS);
export const designDocsHandlers = listingHandlers(DESIGN_DOCS);
export const allDocsQueriesHandlers = queriesHandler(ALL_DOCS);
export const designDocsQueriesHandlers = queriesHandler(DESIGN_DOCS);
