/**
 * Request bodies of the Mango endpoints, validated as CouchDB validates them (mango_opts.erl
 * validate_find/1, validate_idx_create/1, validate_bulk_delete/1; mango_sort.erl,
 * mango_fields.erl): every known key with its default, an unknown key is 400 `invalid_key`, a
 * missing required one 400 `missing_required_key`, each value with mango_error.erl's error.
 *
 * The selector is normalised by the one selector implementation (src/couch/selector.ts); its
 * errors, which `_changes?filter=_selector` reports as `bad_request`, come out of `_find` with
 * Mango's own error names (`bad_arg`, `invalid_operator`, ...), as mango_httpd does.
 */
import { CouchError, isCouchError, type CouchErrorKind } from '../couch/errors.js';
import { normalizeSelector } from '../couch/selector.js';
import { validatePartition } from '../couchdb/partition.js';

export type SortDir = 'asc' | 'desc';
/** A sort (mango_sort): fields in order, every one in the same direction. */
export type SortSpec = ReadonlyArray<readonly [string, SortDir]>;

export interface FindOptions {
  /** The selector in CouchDB's normal form. */
  readonly selector: Record<string, unknown>;
  /** `[]`, `[ddoc]` or `[ddoc, name]` (mango_opts:validate_use_index/1). */
  readonly useIndex: readonly string[];
  /** CouchDB 3.4's `allow_fallback` (default true): false refuses another index than `use_index`'s, or `_all_docs`. */
  readonly allowFallback: boolean;
  /** The opaque bookmark to resume after, or null. */
  readonly bookmark: string | null;
  readonly limit: number;
  readonly skip: number;
  readonly sort: SortSpec;
  /** Fields to return, or every field. */
  readonly fields: readonly string[] | 'all_fields';
  readonly r: number;
  readonly conflicts: boolean;
  readonly stale: 'ok' | false;
  readonly update: boolean;
  readonly stable: boolean;
  readonly executionStats: boolean;
  /** The partition the query is confined to, or null (mango_opts validate_partition/1: `""` is none). */
  readonly partition: string | null;
}

/** `[mango] default_limit`. */
export const DEFAULT_LIMIT = 25;

const show = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function err(kind: CouchErrorKind, value: unknown): CouchError {
  return new CouchError(kind, { params: { value: show(value) } });
}

/** Take the known keys out of a body; anything left over is `invalid_key`. */
function takeKeys(body: Record<string, unknown>, known: readonly string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(body)) {
    if (!known.includes(k)) throw new CouchError('mango_invalid_key', { params: { key: k } });
    out.set(k, v);
  }
  return out;
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw err('mango_invalid_boolean', v);
  return v;
}

function nonNegInt(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw err('mango_invalid_non_neg_integer', v);
  return v as number;
}

function posInt(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw err('mango_invalid_pos_integer', v);
  return v as number;
}

const SELECTOR_ERRORS: Partial<Record<CouchErrorKind, CouchErrorKind>> = {
  selector_bad_arg: 'mango_bad_arg',
  selector_invalid_operator: 'mango_invalid_operator',
  selector_not_supported: 'mango_not_supported',
  selector_bad_field: 'mango_bad_field',
  selector_missing_field: 'mango_missing_field_name',
};

/** A selector in normal form, with Mango's error names (mango_opts:validate_selector/1). */
export function validateSelector(v: unknown): Record<string, unknown> {
  if (!isObject(v)) throw err('mango_invalid_selector_json', v);
  try {
    return normalizeSelector(v);
  } catch (e) {
    const mapped = isCouchError(e) ? SELECTOR_ERRORS[e.kind] : undefined;
    if (mapped === undefined || !isCouchError(e)) throw e;
    // The reason stays the selector module's text; only the error name is Mango's.
    throw new CouchError(mapped, { reason: e.reason });
  }
}

/** mango_sort:new/1. */
export function parseSort(v: unknown): SortSpec {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw err('mango_invalid_sort_json', v);
  const out = v.map((f): [string, SortDir] => {
    if (typeof f === 'string' && f !== '') return [f, 'asc'];
    if (isObject(f) && Object.keys(f).length === 1) {
      const [name, dir] = Object.entries(f)[0]!;
      if (dir === 'asc' || dir === 'desc') return [name, dir];
      throw err('mango_invalid_sort_dir', dir);
    }
    throw err('mango_invalid_sort_field', f);
  });
  if (new Set(out.map(([, d]) => d)).size > 1) throw new CouchError('mango_mixed_sort');
  return out;
}

/** The sort as CouchDB's JSON (mango_sort:to_json/1): `[{field: dir}]`. */
export function sortToJson(sort: SortSpec): Array<Record<string, SortDir>> {
  return sort.map(([f, d]) => ({ [f]: d }));
}

/** mango_fields:new/1. */
function parseFields(v: unknown): readonly string[] | 'all_fields' {
  if (v === undefined) return 'all_fields';
  if (!Array.isArray(v)) throw err('mango_invalid_fields', v);
  if (v.length === 0) return 'all_fields';
  for (const f of v) if (typeof f !== 'string') throw err('mango_invalid_field', f);
  return v as string[];
}

/** mango_opts:validate_use_index/1: a name, `ddoc/name`, `_design/ddoc[/name]`, or a list of them. */
export function parseUseIndex(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') {
    const parts = v.split('/');
    if (parts[0] === '_design') parts.shift();
    if (parts.length === 1 || parts.length === 2) return parts;
    throw err('mango_invalid_index_name', v);
  }
  if (Array.isArray(v) && v.length <= 2 && v.every((x) => typeof x === 'string')) return v as string[];
  throw err('mango_invalid_index_name', v);
}

const FIND_KEYS = [
  'selector', 'use_index', 'bookmark', 'limit', 'skip', 'sort', 'fields', 'partition',
  'r', 'conflicts', 'stale', 'update', 'stable', 'execution_stats', 'allow_fallback',
];

/** The body of `_find` / `_explain`. */
export function validateFind(body: Record<string, unknown>): FindOptions {
  const m = takeKeys(body, FIND_KEYS);
  if (!m.has('selector')) throw new CouchError('mango_missing_required_key', { params: { key: 'selector' } });
  const selector = validateSelector(m.get('selector'));
  const bookmark = m.get('bookmark');
  if (bookmark !== undefined && bookmark !== null && typeof bookmark !== 'string') throw err('mango_invalid_bookmark', bookmark);
  // mango_opts validate_partition/1: `""` (the default) is no partition, anything else must be
  // a valid partition name (couch_partition:validate_partition/1, 400 illegal_partition).
  const partition = m.get('partition');
  if (partition !== undefined && partition !== '') validatePartition(partition);
  const stale = m.get('stale');
  if (stale !== undefined && stale !== 'ok' && stale !== 'false' && stale !== false) {
    throw new CouchError('mango_unknown', { params: { detail: `mango_opts :: {invalid_ok_or_false_value,${show(stale)}}` } });
  }
  return {
    selector,
    useIndex: parseUseIndex(m.get('use_index')),
    allowFallback: bool(m.get('allow_fallback'), true),
    bookmark: typeof bookmark === 'string' && bookmark !== '' ? bookmark : null,
    limit: nonNegInt(m.get('limit'), DEFAULT_LIMIT),
    skip: nonNegInt(m.get('skip'), 0),
    sort: parseSort(m.get('sort')),
    fields: parseFields(m.get('fields')),
    r: posInt(m.get('r'), 1),
    conflicts: bool(m.get('conflicts'), false),
    stale: stale === 'ok' ? 'ok' : false,
    update: bool(m.get('update'), true),
    stable: bool(m.get('stable'), false),
    executionStats: bool(m.get('execution_stats'), false),
    partition: typeof partition === 'string' && partition !== '' ? partition : null,
  };
}

export interface IndexCreateOptions {
  /** The `index` object as given (stored as the view's `options.def`). */
  readonly def: Record<string, unknown>;
  readonly fields: SortSpec;
  /** Normal form; `{}` when none. */
  readonly partialFilterSelector: Record<string, unknown>;
  readonly name: string | null;
  readonly ddoc: string | null;
  /**
   * `partitioned` as asked (mango_opts validate_partitioned/1), or null for the database's default
   * (`db_default`): whether the index's design document is partitioned (mango_idx set_ddoc_partitioned/2).
   */
  readonly partitioned: boolean | null;
}

/** The body of `POST /db/_index` (validate_idx_create/1, then mango_idx_view:validate_new/2). */
export function validateIndexCreate(body: Record<string, unknown>): IndexCreateOptions {
  const m = takeKeys(body, ['index', 'type', 'name', 'ddoc', 'w', 'partitioned']);
  if (!m.has('index')) throw new CouchError('mango_missing_required_key', { params: { key: 'index' } });
  const type = m.has('type') ? m.get('type') : 'json';
  if (typeof type !== 'string') throw err('mango_invalid_string', type);
  if (type === 'text' || type === 'nouveau') throw new CouchError('mango_index_service_unavailable', { params: { type } });
  if (type !== 'json') throw new CouchError('mango_invalid_index_type', { params: { value: type } });
  // mango_opts validate_idx_name: a given name or ddoc is a non-empty string.
  for (const k of ['name', 'ddoc'] as const) {
    const v = m.get(k);
    if (m.has(k) && (typeof v !== 'string' || v === '')) throw err('mango_invalid_string', v);
  }
  // `_design/` alone names no design document (mango_httpd convert_to_design_id/1 would keep it).
  if (m.get('ddoc') === '_design/') throw err('mango_invalid_string', m.get('ddoc'));
  posInt(m.get('w'), 2);
  const partitioned = m.get('partitioned');
  if (partitioned !== undefined && typeof partitioned !== 'boolean') throw new CouchError('mango_unknown', { params: { detail: `mango_opts :: {invalid_partitioned_value,${show(partitioned)}}` } });
  const def = m.get('index');
  if (!isObject(def)) throw err('mango_invalid_index_json', def);
  const d = takeKeys(def, ['fields', 'partial_filter_selector']);
  if (!d.has('fields')) throw new CouchError('mango_missing_required_key', { params: { key: 'fields' } });
  const fields = parseSort(d.get('fields'));
  const pfs = d.get('partial_filter_selector');
  const name = m.get('name') as string | undefined;
  const ddoc = m.get('ddoc') as string | undefined;
  return {
    def,
    fields,
    partialFilterSelector: pfs === undefined ? {} : validateSelector(pfs),
    name: name ?? null,
    ddoc: ddoc ?? null,
    partitioned: typeof partitioned === 'boolean' ? partitioned : null,
  };
}

/** The body of `POST /db/_index/_bulk_delete`: the design document ids. */
export function validateBulkDelete(body: Record<string, unknown>): string[] {
  const m = takeKeys(body, ['docids', 'w']);
  if (!m.has('docids')) throw new CouchError('mango_missing_required_key', { params: { key: 'docids' } });
  const ids = m.get('docids');
  if (!Array.isArray(ids)) throw err('mango_invalid_bulk_docs', ids);
  for (const id of ids) parseUseIndex(id);
  if (ids.some((id) => typeof id !== 'string')) throw err('mango_invalid_bulk_docs', ids);
  posInt(m.get('w'), 2);
  return ids as string[];
}
