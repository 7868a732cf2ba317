/**
 * Partitioned databases (CouchDB 3, api/partitioned-dbs.rst; couch_partition.erl): a database
 * created with `?partitioned=true` keeps every document id as `partition:rest` (design and
 * `_local/` documents excepted), and queries may be confined to one partition
 * (`/{db}/_partition/{p}/…`, http/partition-routes.ts). The flag lives in the database's
 * `couch_meta` side store and is fixed at creation, as CouchDB keeps it in the shard's props.
 *
 * A partition's documents are the ids from `p:` up to `p;` (`;` follows `:`), the range
 * couch_partition:start_key/end_key name: `_all_docs` and the partition's counts read that range
 * of the by-id index. Partitioned views keep each partition's rows apart (views/index-store.ts).
 */
import { CouchError } from '../couch/errors.js';
import { validateDocId } from '../couch/doc.js';

/** The `couch_meta` entry that marks a partitioned database. */
export const PARTITIONED_META_KEY = 'partitioned';

/** couch_partition:validate_dbname: the system databases cannot be partitioned (their suffixes neither). */
const SYSTEM_DBS = ['_users', '_replicator', '_global_changes', '_dbs', '_nodes', '_metadata'];

export function isSystemDbName(name: string): boolean {
  return SYSTEM_DBS.some((s) => name === s || name.endsWith(`/${s}`));
}

/** The partition of a document id, or undefined when it has no colon (couch_partition:extract/1, first colon). */
export function partitionOf(id: string): string | undefined {
  const at = id.indexOf(':');
  return at < 0 ? undefined : id.slice(0, at);
}

/** couch_partition:validate_partition/1, its checks in CouchDB's order; throws 400 illegal_partition. */
export function validatePartition(p: unknown): asserts p is string {
  const fail = (detail: string): never => {
    throw new CouchError('illegal_partition', { params: { detail } });
  };
  if (typeof p !== 'string') return fail('Partition must be a string');
  if (p === '') return fail('Partition must not be empty');
  if (p.startsWith('_')) return fail('Partition must not start with an underscore');
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(p)) return fail('Partition must be valid UTF-8');
  if (p.includes(':')) return fail('Partition must not contain a colon');
}

/**
 * couch_db:validate_docid/2 for a partitioned database: the plain id checks first (so `_bad:x`
 * gets "Only reserved document ids may start with underscore."), then couch_partition's: design
 * and local ids are free, any other needs `partition:rest` with a valid partition and a valid rest.
 */
export function validatePartitionedDocId(id: string): void {
  validateDocId(id);
  if (id.startsWith('_design/') || id.startsWith('_local/')) return;
  const p = partitionOf(id);
  if (p === undefined) throw new CouchError('illegal_docid', { params: { detail: 'Doc id must be of form partition:id' } });
  validatePartition(p);
  validateDocId(id.slice(p.length + 1));
}

/** The ids of partition `p` lie in [`p:`, `p;`) (couch_partition:start_key/1, end_key/1). */
export function partitionStart(p: string): string {
  return `${p}:`;
}

export function partitionEnd(p: string): string {
  return `${p};`;
}

/**
 * `?partitioned=` of `PUT /{db}` (chttpd_db parse_partitioned_opt): absent or "false" is a plain
 * database, "true" a partitioned one (not for a system database), anything else a 400.
 */
export function parsePartitionedOpt(raw: string | null, dbName: string): boolean {
  if (raw === null || raw === 'false') return false;
  if (raw !== 'true') throw new CouchError('bad_request', { reason: 'Invalid `partitioned` parameter' });
  if (isSystemDbName(dbName)) throw new CouchError('bad_request', { reason: 'Cannot partition a system database' });
  return true;
}

/**
 * couch_mrview:validate/2's partition rules for a design document: `options.partitioned` must be
 * a boolean, and can be true only in a partitioned database. The reason, or null.
 */
export function designPartitionError(body: Record<string, unknown>, dbPartitioned: boolean): string | null {
  const options = body.options;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || !('partitioned' in options)) return null;
  const value = (options as Record<string, unknown>).partitioned;
  if (typeof value !== 'boolean') return '`options.partitioned` field must have boolean type';
  if (value && !dbPartitioned) return 'partitioned option cannot be true in a non-partitioned database.';
  return null;
}

/**
 * Whether a design document's views are partitioned (couch_mrview_index:set_partitioned/2): in a
 * partitioned database, unless the document says `options.partitioned: false`; never elsewhere.
 */
export function isPartitionedDesign(body: Record<string, unknown>, dbPartitioned: boolean): boolean {
  if (!dbPartitioned) return false;
  const options = body.options;
  const value = options !== null && typeof options === 'object' ? (options as Record<string, unknown>).partitioned : undefined;
  return typeof value === 'boolean' ? value : true;
}

/** couch_mrview's ?MAX_VIEW_LIMIT, the default of `[query_server_config] query_limit` and `partition_query_limit`. */
export const MAX_VIEW_LIMIT = 0x10000000;

/**
 * couch_mrview_util:apply_limit/2: a query without a `limit` gets the configured maximum, one above
 * it is a 400. `limit` undefined means none was given.
 */
export function applyQueryLimit(limit: number | undefined, max: number): number {
  if (limit === undefined) return max;
  if (limit > max) throw new CouchError('query_parse_error', { params: { detail: `Limit is too large, must not exceed ${max}` } });
  return limit;
}

/** Erlang term order for a range bound: every string (binary) sorts after every other value; strings by their UTF-8 bytes. */
function compareBound(a: unknown, b: string): number {
  if (typeof a !== 'string') return -1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * couch_mrview_util apply_all_docs_partition: an `_all_docs` range confined to partition `p`, the
 * bounds given clamped into [`p:`, `p;`] (forward: the start raised, the end lowered; descending
 * the other way round). `keys` are left as they are, as in CouchDB.
 */
export function clampToPartition<T extends { startKey?: unknown; endKey?: unknown; descending: boolean }>(q: T, p: string): T {
  const [low, high] = [partitionStart(p), partitionEnd(p)];
  const out = { ...q };
  const raise = (k: unknown): unknown => (k === undefined || compareBound(k, low) < 0 ? low : k);
  const lower = (k: unknown): unknown => (k === undefined || compareBound(k, high) > 0 ? high : k);
  if (!q.descending) {
    out.startKey = raise(q.startKey);
    out.endKey = lower(q.endKey);
  } else {
    out.startKey = lower(q.startKey);
    out.endKey = raise(q.endKey);
  }
  return out;
}

/**
 * A read or delete of `id` in a partitioned database: CouchDB finds the document's shard by its
 * partition (couch_partition:hash/1), so an id without one, other than a `_`-prefixed one, is a
 * 400 before any lookup.
 */
export function requirePartitionForLookup(id: string): void {
  if (!id.startsWith('_') && partitionOf(id) === undefined) throw new CouchError('illegal_docid', { params: { detail: 'Doc id must be of form partition:id' } });
}
