/**
 * The view query parameters (CouchDB api/ddoc/views.rst; couch_mrview_http.erl parse_params and
 * couch_mrview_util.erl validate_args, whose `query_parse_error` texts are kept). They come from
 * the query string (JSON-encoded values) and, for POST, the JSON body (plain values); the body
 * wins. `start_key`/`end_key`/`start_key_doc_id`/`end_key_doc_id` are the newer spellings;
 * `stale=ok|update_after` the legacy form of `update=false|lazy` (+ `stable=true`), and
 * Couchbase's `stale=false` (update first, as `update=true`).
 */
import { CouchError } from '../couch/errors.js';
import { collate } from '../couch/collate.js';
import type { UpdateMode } from './index.js';
import type { ViewRange } from './query-rows.js';
import { applyQueryLimit, MAX_VIEW_LIMIT, validatePartition } from '../couchdb/partition.js';

/** The key range of a query is a `ViewRange` (query-rows.ts), plus what is not about the range. */
export interface ViewQuery extends ViewRange {
  keys?: unknown[];
  limit: number;
  skip: number;
  /** Undefined: not given (reduce views reduce by default). */
  reduce?: boolean;
  /** 'exact' = group=true; a number = group_level; undefined = not given. */
  groupLevel?: number | 'exact';
  includeDocs: boolean;
  conflicts?: boolean;
  attachments: boolean;
  /** `att_encoding_info` (include_docs). */
  encodingInfo?: boolean;
  updateSeq: boolean;
  update: UpdateMode;
  sorted: boolean;
  stable: boolean;
  /**
   * `[query_server_config] query_limit` and `partition_query_limit` (couch_mrview_util
   * apply_limit), set by the face; CouchDB's defaults (unbounded in practice) when absent.
   */
  queryLimits?: { global: number; partition: number };
  /**
   * `[disk_monitor]` blocks interactive view indexing now (couchdb/disk-monitor.ts), set by the
   * face: an `update=true` query of a stale index is then refused.
   */
  indexingBlocked?: boolean;
}

function parseError(detail: string): CouchError {
  return new CouchError('query_parse_error', { params: { detail } });
}

/** Erlang's ~p of a query-string value (a string). */
const p = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));

type Raw = Map<string, { value: unknown; json: boolean }>;

function boolOf(name: string, v: { value: unknown; json: boolean }): boolean {
  if (!v.json) {
    if (v.value === 'true') return true;
    if (v.value === 'false') return false;
  } else if (typeof v.value === 'boolean') return v.value;
  throw parseError(`Invalid boolean parameter: ${p(v.value)}`);
}

function posIntOf(v: { value: unknown; json: boolean }): number {
  const n = v.json ? v.value : /^-?\d+$/.test(String(v.value)) ? Number(v.value) : NaN;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw parseError(`Invalid value for integer: ${p(v.value)}`);
  if (n < 0) throw parseError(`Invalid value for positive integer: ${p(v.value)}`);
  return n;
}

function jsonOf(name: string, v: { value: unknown; json: boolean }): unknown {
  if (v.json) return v.value;
  try {
    return JSON.parse(String(v.value));
  } catch {
    // couch_util:json_decode throws invalid_json, which chttpd answers as bad_request.
    throw new CouchError('bad_request', { reason: `Invalid JSON for parameter ${name}` });
  }
}

function stringOf(v: { value: unknown; json: boolean }): string {
  return typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
}

/** Read the parameters of a view request (`body`: the POST body's members). */
export function parseViewQuery(query: URLSearchParams, body?: Record<string, unknown>): ViewQuery {
  const raw: Raw = new Map();
  for (const [k, v] of query) raw.set(k, { value: v, json: false });
  // The query string wins over a body parameter of the same name (CouchDB's "colliding
  // parameters" tests).
  if (body) for (const [k, v] of Object.entries(body)) if (!raw.has(k)) raw.set(k, { value: v, json: true });
  const q: ViewQuery = {
    hasStart: false, hasEnd: false, inclusiveEnd: true, descending: false, limit: Number.MAX_SAFE_INTEGER, skip: 0,
    includeDocs: false, attachments: false, updateSeq: false, update: 'true', sorted: true, stable: false,
  };
  let key: { v: unknown } | undefined;
  // couch_mrview_util determine_group_level reads `group` and `group_level` together, whatever
  // their order: group_level wins over group=true, and contradicts group=false.
  let group: boolean | undefined;
  let groupLevel: number | undefined;
  for (const [name, v] of raw) {
    switch (name) {
      case 'key': key = { v: jsonOf(name, v) }; break;
      case 'keys': {
        const keys = jsonOf(name, v);
        // couch_mrview_http get_view_keys: a body's `keys` that is no array is a bad request.
        if (!Array.isArray(keys)) throw v.json ? new CouchError('bad_request', { reason: '`keys` member must be an array.' }) : parseError('`keys` must be an array of keys.');
        q.keys = keys;
        break;
      }
      case 'startkey': case 'start_key': q.startKey = jsonOf(name, v); q.hasStart = true; break;
      case 'endkey': case 'end_key': q.endKey = jsonOf(name, v); q.hasEnd = true; break;
      case 'startkey_docid': case 'start_key_doc_id': q.startDocId = stringOf(v); break;
      case 'endkey_docid': case 'end_key_doc_id': q.endDocId = stringOf(v); break;
      case 'inclusive_end': q.inclusiveEnd = boolOf(name, v); break;
      case 'descending': q.descending = boolOf(name, v); break;
      case 'limit': q.limit = posIntOf(v); break;
      case 'skip': q.skip = posIntOf(v); break;
      case 'reduce': q.reduce = boolOf(name, v); break;
      case 'group': group = boolOf(name, v); break;
      case 'group_level': groupLevel = posIntOf(v); break;
      case 'include_docs': q.includeDocs = boolOf(name, v); break;
      case 'conflicts': q.conflicts = boolOf(name, v); break;
      case 'attachments': q.attachments = boolOf(name, v); break;
      case 'att_encoding_info': q.encodingInfo = boolOf(name, v); break;
      case 'update_seq': q.updateSeq = boolOf(name, v); break;
      case 'sorted': q.sorted = boolOf(name, v); break;
      case 'stable': q.stable = boolOf(name, v); break;
      case 'partition': {
        // couch_mrview_http parse_param: the partition is checked as it is read.
        const part = stringOf(v);
        validatePartition(part);
        q.partition = part;
        break;
      }
      case 'update': {
        const u = stringOf(v);
        if (u !== 'true' && u !== 'false' && u !== 'lazy') throw parseError('Invalid value for `update`.');
        q.update = u;
        break;
      }
      case 'stale': {
        const s = stringOf(v);
        if (s === 'false') {
          // Couchbase's views (capi) spell "update first" `stale=false`; the SDK sends it for
          // `scanConsistency: RequestPlus`. CouchDB has no such value; nothing else changes.
          q.update = 'true';
          break;
        }
        if (s === 'ok') q.update = 'false';
        else if (s === 'update_after') q.update = 'lazy';
        else throw parseError('Invalid value for `stale`.');
        q.stable = true;
        break;
      }
      default: break; // CouchDB keeps unknown parameters as `extra`.
    }
  }
  if (group === false && groupLevel !== undefined && groupLevel > 0) throw parseError("Can't specify group=false and group_level>0 at the same time");
  if (groupLevel !== undefined) q.groupLevel = groupLevel;
  else if (group !== undefined) q.groupLevel = group ? 'exact' : 0;
  if (key) {
    q.startKey = key.v;
    q.endKey = key.v;
    q.hasStart = true;
    q.hasEnd = true;
  }
  if (q.keys !== undefined && q.keys.length > 0 && (q.hasStart || q.hasEnd)) {
    throw parseError('`keys` is incompatible with `key`, `start_key` and `end_key`');
  }
  if (q.hasStart && q.hasEnd && q.keys === undefined) {
    const c = collate(q.startKey, q.endKey);
    if (!q.descending && c > 0) throw parseError(`No rows can match your key range, reverse your start_key and end_key or set descending=true`);
    if (q.descending && c < 0) throw parseError(`No rows can match your key range, reverse your start_key and end_key or set descending=false`);
  }
  return q;
}

/** Checks that depend on the view (couch_mrview_util validate_args). `isReduce`: has a reduce and `reduce` is not false. */
export function validateForView(q: ViewQuery, hasReduce: boolean): boolean {
  if (q.reduce === true && !hasReduce) throw parseError('Reduce is invalid for map-only views.');
  const reducing = hasReduce && q.reduce !== false;
  if (!reducing && q.groupLevel !== undefined && q.groupLevel !== 0) throw parseError('Invalid use of grouping on a map view.');
  if (reducing) {
    if (q.keys !== undefined && q.groupLevel !== 'exact') throw parseError('Multi-key fetchs for reduce views must use `group=true`');
    if (q.includeDocs) throw parseError('`include_docs` is invalid for reduce');
    if (q.conflicts !== undefined) throw parseError('`conflicts` is invalid for reduce views.');
  }
  return reducing;
}

/**
 * couch_mrview_util:validate_args/3's partition rules: a partitioned view is read one partition at
 * a time and a global one never is; then apply_limit bounds `limit` by `partition_query_limit` or
 * `query_limit`. The query with its limit settled.
 */
export function validatePartitionUse(q: ViewQuery, partitioned: boolean): ViewQuery {
  if (partitioned && q.partition === undefined) throw parseError('`partition` parameter is mandatory for queries to this view.');
  if (!partitioned && q.partition !== undefined) throw parseError('`partition` parameter is not supported in this design doc');
  const max = partitioned ? q.queryLimits?.partition ?? MAX_VIEW_LIMIT : q.queryLimits?.global ?? MAX_VIEW_LIMIT;
  return { ...q, limit: applyQueryLimit(q.limit === Number.MAX_SAFE_INTEGER ? undefined : q.limit, max) };
}
