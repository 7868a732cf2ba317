/**
 * The `_all_docs` / `_local_docs` query (CouchDB api/database/bulk-api.rst, couch-replication.md
 * §3.8): `keys` (POST body or JSON query), `key`, `startkey`/`start_key`, `endkey`/`end_key`,
 * `inclusive_end`, `limit`, `skip`, `descending`, `include_docs`, `conflicts`, `attachments`,
 * `update_seq`, from the query string or a POST body (`withBodyParams`). JSON-valued parameters must be valid JSON (`400 query_parse_error` otherwise), and
 * a non-empty `keys` goes with no `key`/`startkey`/`endkey` (400 `query_parse_error`, as CouchDB).
 */
import { CouchError } from '../couch/errors.js';
import { isObject, qBool, qInt, qJson } from './request.js';
import type { AllDocsRowQuery } from '../couchdb/all-docs-rows.js';

/** The rows' range and shape (couchdb/all-docs-rows.ts), plus what only the HTTP reply uses. */
export interface AllDocsQuery extends AllDocsRowQuery {
  keys?: unknown[];
  updateSeq: boolean;
}

/** Parameters whose value is JSON in a query string (a key), as opposed to a plain word or number. */
const JSON_PARAMS = new Set(['key', 'keys', 'startkey', 'start_key', 'endkey', 'end_key']);

/**
 * The `queries` of a `POST …/queries` body (`_all_docs`, `_design_docs`, a view), each an object of
 * parameters: couch_mrview_util:get_view_queries/1. A value that is no list, or an entry that is
 * no object (a crash in CouchDB), is a 400.
 */
export function queriesOf(body: Record<string, unknown>): Array<Record<string, unknown>> {
  const queries = body.queries;
  if (!Array.isArray(queries)) throw new CouchError('bad_request', { reason: 'POST body must include `queries` parameter.' });
  return queries.map((query: unknown) => {
    if (!isObject(query)) throw new CouchError('bad_request', { reason: 'Each query must be a JSON object.' });
    return query;
  });
}

/**
 * The query string with a POST body's parameters under it: couch_mrview_http's
 * parse_body_and_query/3 reads every view parameter from the body too, and the query string wins
 * where both name one (CouchDB's "colliding parameters" tests); with `bodyWins`, a `/queries`
 * entry overrides the query string instead (couch_mrview_http:parse_params/4 applies each query
 * over the request's arguments). Body values are JSON; they are put
 * back into the query string's spelling (keys as JSON text, words and numbers as they are) so that
 * one parser reads both.
 */
export function withBodyParams(query: URLSearchParams, body: Record<string, unknown>, bodyWins = false): URLSearchParams {
  const merged = new URLSearchParams(query);
  for (const [name, value] of Object.entries(body)) {
    if (name === 'keys' || value === undefined || (query.has(name) && !bodyWins)) continue;
    merged.set(name, JSON_PARAMS.has(name) || typeof value !== 'string' ? JSON.stringify(value) : value);
  }
  return merged;
}

/** A JSON parameter under either of its spellings (undefined when neither is given). */
function paramOf(q: URLSearchParams, name: string, alias: string): unknown {
  return q.has(name) ? qJson(q, name) : qJson(q, alias);
}

export function allDocsRange(q: URLSearchParams, keysFromBody?: unknown): AllDocsQuery {
  let keys = keysFromBody ?? qJson(q, 'keys');
  // chttpd_db all_docs: bad_request, worded for where the keys came from.
  if (keys !== undefined && !Array.isArray(keys)) {
    throw new CouchError('bad_request', { reason: keysFromBody === undefined ? '`keys` parameter must be an array.' : '`keys` body member must be an array.' });
  }
  const key = qJson(q, 'key');
  const startKey = paramOf(q, 'startkey', 'start_key');
  const endKey = paramOf(q, 'endkey', 'end_key');
  // couch_mrview_util:validate_args/1: a non-empty `keys` excludes any range.
  if (Array.isArray(keys) && keys.length > 0 && (key !== undefined || startKey !== undefined || endKey !== undefined)) {
    throw new CouchError('query_parse_error', { params: { detail: '`keys` is incompatible with `key`, `start_key` and `end_key`' } });
  }
  const out: AllDocsQuery = {
    inclusiveEnd: qBool(q, 'inclusive_end', true),
    limit: qInt(q, 'limit') ?? Number.MAX_SAFE_INTEGER,
    skip: qInt(q, 'skip') ?? 0,
    descending: qBool(q, 'descending'),
    includeDocs: qBool(q, 'include_docs'),
    conflicts: qBool(q, 'conflicts'),
    attachments: qBool(q, 'attachments'),
    encodingInfo: qBool(q, 'att_encoding_info'),
    updateSeq: qBool(q, 'update_seq'),
  };
  if (key !== undefined && keys === undefined) {
    out.startKey = key;
    out.endKey = key;
    out.inclusiveEnd = true;
  } else {
    // couch_mrview_util ad_skey_opts/ad_ekey_opts: with no start (end) key, `startkey_docid`
    // (`endkey_docid`) bounds the ids instead.
    const start = startKey !== undefined ? startKey : q.get('startkey_docid') ?? q.get('start_key_doc_id') ?? undefined;
    const end = endKey !== undefined ? endKey : q.get('endkey_docid') ?? q.get('end_key_doc_id') ?? undefined;
    if (start !== undefined) out.startKey = start;
    if (end !== undefined) out.endKey = end;
  }
  if (keys !== undefined) out.keys = keys as unknown[];
  return out;
}
