/**
 * Mango indexes as CouchDB keeps them: a `json` index is a view of a design document whose
 * `language` is `"query"` (mango_idx.erl, mango_idx_view.erl), stored as
 *
 *   {"_id": "_design/<ddoc>", "language": "query",
 *    "views": {"<name>": {"map": {"fields": {"<f>": "asc", ...}, "partial_filter_selector": {...}},
 *                         "reduce": "_count",
 *                         "options": {"def": <the `index` object as given>}}}}
 *
 * so that a database copied to CouchDB (or replicated from it) keeps its indexes. In a partitioned
 * database (couchdb/partition.ts) an index is partitioned unless its design document says
 * `"options": {"partitioned": false}` (mango_idx get_idx_partitioned/2): its rows are kept per
 * partition and it serves only queries within a partition. The view's
 * `map` is not JavaScript: the view engine hands it to the native map function (native-map.ts,
 * mango_native_proc.erl). Besides the json indexes every database has the `special` `_all_docs`
 * index (mango_idx_special.erl): the by-id order of the documents themselves.
 *
 * Index and design document names generated when none is given are the SHA-1 of the definition
 * in hex, as CouchDB's are; the bytes hashed differ (CouchDB hashes an Erlang term), so the names
 * do not match CouchDB's.
 */
import { createHash } from 'node:crypto';
import { normalizeSelector } from '../couch/selector.js';
import type { Db } from '../couchdb/db.js';
import { isPartitionedDesign } from '../couchdb/partition.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { sortToJson, type IndexCreateOptions, type SortDir, type SortSpec } from './opts.js';

export interface JsonIndex {
  readonly type: 'json';
  /** `_design/...` */
  readonly ddoc: string;
  readonly name: string;
  readonly fields: SortSpec;
  /** Normal form, or null when the index has none. */
  readonly partialFilterSelector: Record<string, unknown> | null;
  /** The view as stored in the design document. */
  readonly view: Record<string, unknown>;
  /** Whether the index is partitioned (`#idx.partitioned`); absent means a global index. */
  readonly partitioned?: boolean;
}

export interface SpecialIndex {
  readonly type: 'special';
  readonly ddoc: null;
  readonly name: '_all_docs';
  readonly fields: SortSpec;
  readonly partialFilterSelector: null;
}

export type MangoIndex = JsonIndex | SpecialIndex;

export const ALL_DOCS_INDEX: SpecialIndex = { type: 'special', ddoc: null, name: '_all_docs', fields: [['_id', 'asc']], partialFilterSelector: null };

const DESIGN = '_design/';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `ddoc` or `_design/ddoc` → `_design/ddoc` (mango_httpd convert_to_design_id/1). */
export function designId(name: string): string {
  return name.startsWith(DESIGN) ? name : DESIGN + name;
}

/** A stored `map.fields` (`{"f": "asc"}`, or a list of names or `{f: dir}`) as a sort, or null if malformed. */
function storedFields(v: unknown): SortSpec | null {
  const out: Array<[string, SortDir]> = [];
  const entries: Array<[unknown, unknown]> = isObject(v)
    ? Object.entries(v)
    : Array.isArray(v)
      ? v.flatMap((f): Array<[unknown, unknown]> => (typeof f === 'string' ? [[f, 'asc']] : isObject(f) ? Object.entries(f) : [[null, null]]))
      : [];
  for (const [f, d] of entries) {
    if (typeof f !== 'string' || (d !== 'asc' && d !== 'desc')) return null;
    out.push([f, d]);
  }
  return out.length > 0 ? out : null;
}

/**
 * The json indexes of one design document (mango_idx:from_ddoc/2, mango_idx_view:from_ddoc/1);
 * invalid views are left out. `dbPartitioned`: whether the database is partitioned, the default
 * of the design document's `options.partitioned`.
 */
export function indexesOfDdoc(id: string, doc: Record<string, unknown>, dbPartitioned = false): JsonIndex[] {
  if (doc.language !== 'query' || !isObject(doc.views)) return [];
  const partitioned = isPartitionedDesign(doc, dbPartitioned);
  const out: JsonIndex[] = [];
  for (const [name, view] of Object.entries(doc.views)) {
    if (!isObject(view) || !isObject(view.map) || !isObject(view.options)) continue;
    const fields = storedFields(view.map.fields);
    if (fields === null) continue;
    let pfs: Record<string, unknown> | null = null;
    const raw = view.map.partial_filter_selector ?? view.map.selector;
    try {
      if (isObject(raw) && Object.keys(raw).length > 0) pfs = normalizeSelector(raw);
    } catch {
      continue;
    }
    out.push({ type: 'json', ddoc: id, name, fields, partialFilterSelector: pfs, view, partitioned });
  }
  return out;
}

/** Every live design document of the database, in id order, as JSON. */
export function designDocs(db: Db): Array<{ id: string; doc: Record<string, unknown> }> {
  const out: Array<{ id: string; doc: Record<string, unknown> }> = [];
  const prefix = Buffer.from(DESIGN, 'utf8');
  for (const key of db.keysFrom(prefix, false)) {
    if (key.length < prefix.length || !key.subarray(0, prefix.length).equals(prefix)) break;
    const id = key.toString('utf8');
    const state = loadDoc(db, id, db.revsLimit);
    if (!state || state.winner.deleted || state.opaque) continue;
    out.push({ id, doc: winnerJson(db, state) });
  }
  return out;
}

/** mango_idx:list/1, sorted as `GET /db/_index` lists them: `_all_docs` first, then by ddoc and name. */
export function listIndexes(db: Db): MangoIndex[] {
  const json = designDocs(db).flatMap(({ id, doc }) => indexesOfDdoc(id, doc, db.partitioned));
  json.sort((a, b) => (a.ddoc === b.ddoc ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.ddoc < b.ddoc ? -1 : 1));
  return [ALL_DOCS_INDEX, ...json];
}

/** An index as `GET /db/_index` and `_explain` show it (mango_idx_view:to_json/1, mango_idx_special). */
export function indexToJson(idx: MangoIndex): Record<string, unknown> {
  if (idx.type === 'special') return { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } };
  const def: Record<string, unknown> = { fields: sortToJson(idx.fields) };
  if (idx.partialFilterSelector !== null) def.partial_filter_selector = idx.partialFilterSelector;
  return { ddoc: idx.ddoc, name: idx.name, type: 'json', partitioned: idx.partitioned === true, def };
}

/** The view a new index is stored as (mango_idx_view make_view/1). */
export function viewOf(opts: IndexCreateOptions): Record<string, unknown> {
  return {
    map: { fields: Object.fromEntries(opts.fields), partial_filter_selector: opts.partialFilterSelector },
    reduce: '_count',
    options: { def: opts.def },
  };
}

/**
 * The names an index gets (mango_idx get_idx_ddoc/2, get_idx_name/2). CouchDB hashes the
 * definition with the request's options (gen_name/2), so the same fields under two names make two
 * design documents, and so does an explicit `partitioned` (hashed only when given, so that the
 * names of indexes created without it stay as they were).
 */
export function indexNames(opts: IndexCreateOptions): { ddoc: string; name: string } {
  const signed: unknown[] = ['json', opts.def, opts.name];
  if (opts.partitioned !== null) signed.push(opts.partitioned);
  const generated = createHash('sha1').update(JSON.stringify(signed)).digest('hex');
  return { ddoc: designId(opts.ddoc ?? generated), name: opts.name ?? generated };
}

/** Canonical JSON (sorted keys): comparing stored views, and json index signatures (view-source.ts). */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** Whether two stored views are the same definition. */
export function sameView(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}
