/**
 * Query planning: which index serves a `_find`, and which part of it to read. A port of
 * mango_cursor.erl create/3, mango_idx.erl get_usable_indexes/3, mango_idx_view.erl is_usable/3,
 * indexable_fields/1, field_ranges/1, range/5, start_key/1, end_key/1, can_use_sort/3,
 * mango_selector.erl has_required_fields/2 and is_constant_field/2, and mango_cursor_view.erl
 * composite_indexes/2 and choose_best_index/2, over the normal form of src/couch/selector.ts.
 *
 * A json index holds only documents that have all of its fields (native-map.ts), so it is usable
 * only when the selector requires every field it indexes (sort fields excepted: sorting on a field
 * requires it), and when it can produce the sort. Indexes with a `partial_filter_selector` are
 * used only when named by `use_index`. Within a partition only partitioned json indexes serve,
 * outside one only global ones; `_all_docs` serves both (mango_idx filter_partition_indexes/2).
 * A `use_index` naming no usable index is ignored (with a
 * warning, cursor.ts). With no usable json index the query scans `_all_docs`, which can only be
 * sorted by `_id` when the selector narrows `_id`; with a sort nothing serves, 400
 * `no_usable_index`. `planWithTrace` also keeps the stages of the choice for `_explain`
 * (candidates.ts).
 *
 * Ranges are a superset: every document read is matched against the whole selector again.
 */
import { collate } from '../couch/collate.js';
import { CouchError } from '../couch/errors.js';
import { designId, type JsonIndex, type MangoIndex } from './indexes.js';
import type { SortSpec } from './opts.js';

type Sel = Record<string, unknown>;

/** Below / above every JSON value (mango_json:min/0, max/0). */
export const MIN = Symbol('min');
export const MAX = Symbol('max');
type Bound = unknown;

export interface Range {
  readonly lcmp: '$gt' | '$gte' | '$eq';
  readonly low: Bound;
  readonly hcmp: '$lt' | '$lte' | '$eq';
  readonly high: Bound;
}
export type FieldRange = Range | 'empty';

function pair(sel: Sel): [string, unknown] {
  const k = Object.keys(sel)[0]!;
  return [k, sel[k]];
}

function cmp(a: Bound, b: Bound): number {
  if (a === b) return 0;
  if (a === MIN || b === MAX) return -1;
  if (a === MAX || b === MIN) return 1;
  return collate(a, b);
}

/**
 * mango_idx_view indexable/1. `$exists` counts since CouchDB 3.4's covering indexes (its range is
 * every key): an index whose leading column the selector only requires to exist then overlaps the
 * selector as much as one it narrows, so a covering `[company, manager]` index is chosen over
 * `[manager]` for `{"company": {"$exists": true}, "manager": true}` (the mango suite's
 * 22-covering-index "2 field index extract field" test).
 */
const INDEXABLE = new Set(['$lt', '$lte', '$eq', '$gt', '$gte', '$beginsWith', '$exists']);

/**
 * U+FFFF: `$beginsWith` narrows to [prefix, prefix + U+FFFF], the end key CouchDB's
 * mango_selector range/5 uses (its 25-beginswith tests assert `<<Prefix/binary, 16#FFFF/utf8>>`).
 */
const AFTER_PREFIX = '\uffff';

/** Fields with a condition an index scan can narrow, seen through `$and` only. */
export function indexableFields(sel: Sel): string[] {
  if (Object.keys(sel).length === 0) return [];
  const [k, v] = pair(sel);
  if (k === '$and') return [...new Set((v as Sel[]).flatMap(indexableFields))].sort();
  if (k.startsWith('$')) return [];
  const [op] = pair(v as Sel);
  return INDEXABLE.has(op) ? [k] : [];
}

function narrow(cond: Sel, r: Range): FieldRange {
  const [op, arg] = pair(cond);
  const pos = cmp(arg, r.low) < 0 ? 'min' : cmp(arg, r.low) === 0 ? 'low' : cmp(arg, r.high) < 0 ? 'mid' : cmp(arg, r.high) === 0 ? 'high' : 'max';
  const lowInclusive = r.lcmp === '$gte' || r.lcmp === '$eq';
  const highInclusive = r.hcmp === '$lte' || r.hcmp === '$eq';
  const eq: Range = { lcmp: '$eq', low: arg, hcmp: '$eq', high: arg };
  switch (op) {
    case '$lt':
      return pos === 'min' || pos === 'low' ? 'empty' : pos === 'max' ? r : { ...r, hcmp: '$lt', high: arg };
    case '$lte':
      if (pos === 'min') return 'empty';
      if (pos === 'low') return lowInclusive ? eq : 'empty';
      return pos === 'mid' ? { ...r, hcmp: '$lte', high: arg } : r;
    case '$eq':
      if (pos === 'min' || pos === 'max') return 'empty';
      if (pos === 'low') return lowInclusive ? eq : 'empty';
      if (pos === 'high') return highInclusive ? eq : 'empty';
      return eq;
    case '$gte':
      if (pos === 'min' || pos === 'low') return r;
      if (pos === 'mid') return { ...r, lcmp: '$gte', low: arg };
      return pos === 'high' && highInclusive ? eq : 'empty';
    case '$gt':
      if (pos === 'min') return r;
      return pos === 'low' || pos === 'mid' ? { ...r, lcmp: '$gt', low: arg } : 'empty';
    case '$beginsWith': {
      if (typeof arg !== 'string') return r;
      const low = narrow({ $gte: arg }, r);
      return low === 'empty' ? low : narrow({ $lte: arg + AFTER_PREFIX }, low);
    }
    default:
      return r;
  }
}

function range(sel: Sel, field: string, r: FieldRange): FieldRange {
  if (r === 'empty' || Object.keys(sel).length === 0) return r;
  const [k, v] = pair(sel);
  if (k === '$and') return (v as Sel[]).reduce<FieldRange>((acc, s) => range(s, field, acc), r);
  if (k !== field) return r;
  return narrow(v as Sel, r);
}

/** The range of each indexable field; a field whose range is empty makes the whole query empty. */
export function fieldRanges(sel: Sel): Map<string, FieldRange> {
  const out = new Map<string, FieldRange>();
  for (const f of indexableFields(sel)) {
    const r = range(sel, f, { lcmp: '$gt', low: MIN, hcmp: '$lt', high: MAX });
    if (r === 'empty') return new Map([[f, 'empty']]);
    out.set(f, r);
  }
  return out;
}

/** Fields of `required` the selector does not require to exist. */
function missingRequired(sels: readonly Sel[], required: string[]): string[] {
  let rest = required;
  for (const s of sels) {
    if (Object.keys(s).length === 0) continue;
    const [k, v] = pair(s);
    if (k === '$and') rest = missingRequired(v as Sel[], rest);
    else if (k === '$or') rest = [...new Set((v as Sel[]).flatMap((a) => missingRequired([a], rest)))];
    else if (!k.startsWith('$')) {
      const cond = v as Sel;
      const existsFalse = Object.keys(cond).length === 1 && cond.$exists === false;
      if (!existsFalse) rest = rest.filter((f) => f !== k);
    }
  }
  return rest;
}

/** mango_selector:has_required_fields/2. */
export function hasRequiredFields(sel: Sel, required: string[]): boolean {
  return missingRequired([sel], required).length === 0;
}

/** mango_selector:is_constant_field/2: `field` is fixed by an `$eq` at the top level. */
function isConstantField(sel: Sel, field: string): boolean {
  if (Object.keys(sel).length === 0) return false;
  const [k, v] = pair(sel);
  if (k === '$and') return (v as Sel[]).some((s) => isConstantField(s, field));
  return k === field && pair(v as Sel)[0] === '$eq';
}

function canUseSort(cols: readonly string[], sortFields: readonly string[], sel: Sel): boolean {
  if (sortFields.length === 0) return true;
  if (cols.length === 0) return false;
  if (cols[0] === sortFields[0]) return sortFields.every((f, i) => cols[i] === f);
  return isConstantField(sel, cols[0]!) && canUseSort(cols.slice(1), sortFields, sel);
}

export function columns(idx: MangoIndex): string[] {
  return idx.fields.map(([f]) => f);
}

/** Why an index was passed over (mango.hrl reason(); the text-index ones never arise here). */
export type Reason =
  | 'field_mismatch'
  | 'sort_order_mismatch'
  | 'less_overlap'
  | 'too_many_fields'
  | 'alphabetically_comes_after'
  | 'is_partial'
  | 'scope_mismatch'
  | 'excluded_by_user'
  | 'unfavored_type';

export interface Usability {
  readonly usable: boolean;
  readonly reasons: Reason[];
}

/**
 * mango_idx_view:is_usable/3 and mango_idx_special:is_usable/3 (3.4, with their reasons). A json
 * index needs every column required by the selector (sort fields, `_id` and `_rev` excepted) and
 * must produce the sort; `_all_docs` serves a sort only on `_id`, and only when the selector
 * narrows `_id`.
 */
export function usability(idx: MangoIndex, sel: Sel, sortFields: readonly string[]): Usability {
  if (idx.type === 'special') {
    if (sortFields.length === 0) return { usable: true, reasons: [] };
    const hasId = indexableFields(sel).includes('_id');
    const canSort = sortFields.length === 1 && sortFields[0] === '_id';
    return { usable: hasId && canSort, reasons: [...(hasId ? [] : ['field_mismatch' as const]), ...(canSort ? [] : ['sort_order_mismatch' as const])] };
  }
  const cols = columns(idx);
  const required = [...new Set(cols)].filter((c) => !sortFields.includes(c) && c !== '_id' && c !== '_rev');
  const hasRequired = hasRequiredFields(sel, required);
  const canSort = canUseSort(cols, sortFields, sel);
  return { usable: hasRequired && canSort, reasons: [...(hasRequired ? [] : ['field_mismatch' as const]), ...(canSort ? [] : ['sort_order_mismatch' as const])] };
}

/** Indexes named by `use_index` (mango_cursor:maybe_filter_indexes_by_ddoc/2). */
export function filterByUseIndex<T extends MangoIndex>(indexes: readonly T[], useIndex: readonly string[]): T[] {
  if (useIndex.length === 0) return [];
  const ddoc = designId(useIndex[0]!);
  return indexes.filter((i) => i.ddoc === ddoc && (useIndex.length === 1 || i.name === useIndex[1]));
}

export interface Plan {
  readonly index: MangoIndex;
  /** Ranges of the index's leading columns that the selector narrows (in column order). */
  readonly ranges: FieldRange[];
  /** Every indexable field's range (the `_all_docs` scan narrows on `_id`). */
  readonly fieldRanges: Map<string, FieldRange>;
}

/** One index of the chosen type as choose_best_index/1 ranks them. */
export interface Ranked {
  readonly index: MangoIndex;
  readonly prefix: FieldRange[];
  /** Indexable fields of the selector the prefix leaves out. */
  readonly difference: number;
}

/**
 * The stages of index selection as CouchDB 3.4 traces them for `_explain`'s `index_candidates`
 * (mango_idx:get_usable_indexes/4, mango_cursor:create_cursor/4, mango.hrl trace()).
 */
export interface PlanTrace {
  readonly all: readonly MangoIndex[];
  /** Indexes without a partial filter, and those `use_index` names. */
  readonly global: readonly MangoIndex[];
  /** The global ones of the query's scope: partitioned within a partition, else not (`_all_docs` always). */
  readonly inScope: readonly MangoIndex[];
  readonly usability: ReadonlyArray<readonly [MangoIndex, Usability]>;
  readonly usable: readonly MangoIndex[];
  /** The usable ones `use_index` names, else every usable one. */
  readonly filtered: readonly MangoIndex[];
  /** The filtered ones of the favoured type (json before special). */
  readonly ofType: readonly MangoIndex[];
  /** `ofType` best first. */
  readonly sorted: readonly Ranked[];
}

/** mango_cursor_view composite_prefix/2. */
function prefixOf(idx: MangoIndex, ranges: Map<string, FieldRange>): FieldRange[] {
  const out: FieldRange[] = [];
  for (const c of columns(idx)) {
    const r = ranges.get(c);
    if (r === undefined) break;
    out.push(r);
  }
  return out;
}

/** Binary (byte) order of design document ids and names, as Erlang compares them. */
function byteOrder(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** `(ddoc, name)` order of indexes (the `#idx{}` record's order; `_all_docs`, with no ddoc, first). */
export function indexOrder(a: MangoIndex, b: MangoIndex): number {
  return byteOrder(a.ddoc, b.ddoc) || byteOrder(a.name, b.name);
}

/**
 * mango_cursor_view:choose_best_index/1: least difference between the selector's indexable
 * fields and the index's narrowed prefix, then fewest columns, then (ddoc, name).
 */
function rank(indexes: readonly MangoIndex[], ranges: Map<string, FieldRange>): Ranked[] {
  return indexes
    .map((index) => {
      const prefix = prefixOf(index, ranges);
      return { index, prefix, difference: ranges.size - prefix.length };
    })
    .sort((a, b) => a.difference - b.difference || a.index.fields.length - b.index.fields.length || indexOrder(a.index, b.index));
}

/** Where a query runs: its partition (or null) and whether the database is partitioned. */
export interface PlanScope {
  readonly partition: string | null;
  readonly dbPartitioned: boolean;
}

const GLOBAL_SCOPE: PlanScope = { partition: null, dbPartitioned: false };

/** mango_idx filter_partition_indexes/2: the special index, and json indexes of the query's scope. */
function inScopeOf(idx: MangoIndex, scope: PlanScope): boolean {
  return idx.type === 'special' || (idx.partitioned === true) === (scope.partition !== null);
}

/** mango_idx mango_sort_error/2: `no_usable_index`, its reason telling which indexes were looked at. */
function noSortIndex(scope: PlanScope): CouchError {
  if (!scope.dbPartitioned) return new CouchError('mango_no_sort_index');
  // mango_error info(mango_idx, {no_usable_index, missing_sort_index_partitioned | _global}).
  const kind = scope.partition !== null ? 'partitioned' : 'global';
  return new CouchError('mango_no_sort_index', { reason: `No ${kind} index exists for this sort, try indexing by the sort fields.` });
}

/**
 * mango_cursor:create/4, mango_idx:get_usable_indexes/4 and mango_cursor_view:create/4: the
 * index named by `use_index` if usable, else the json index whose leading columns the selector
 * narrows most, else `_all_docs`. With no usable index at all a `_find` is 400 `no_usable_index`
 * and an `_explain` has no plan (CouchDB 3.4 explains it with `"index": null`).
 */
export function planWithTrace(
  all: readonly MangoIndex[],
  sel: Sel,
  sort: SortSpec,
  useIndex: readonly string[],
  allowFallback: boolean,
  kind: 'find' | 'explain',
  scope: PlanScope = GLOBAL_SCOPE,
): { plan: Plan | null; trace: PlanTrace } {
  const global = [...new Set([...all.filter((i) => i.partialFilterSelector === null), ...filterByUseIndex(all, useIndex)])];
  const inScope = global.filter((i) => inScopeOf(i, scope));
  const sortFields = sort.map(([f]) => f);
  const usabilityMap = inScope.map((i) => [i, usability(i, sel, sortFields)] as const);
  const usable = usabilityMap.filter(([, u]) => u.usable).map(([i]) => i);
  const ranges = fieldRanges(sel);
  const base = { all, global, inScope, usability: usabilityMap, usable };
  if (usable.length === 0) {
    if (kind === 'find') throw noSortIndex(scope);
    return { plan: null, trace: { ...base, filtered: [], ofType: [], sorted: [] } };
  }
  const named = filterByUseIndex(usable, useIndex);
  // CouchDB 3.4 mango_cursor:create/4 (apache/couchdb#4792): without fallback, an unusable
  // `use_index` is refused, and so is a query only `_all_docs` could serve.
  if (!allowFallback && named.length === 0 && (useIndex.length > 0 || !usable.some((i) => i.type === 'json'))) {
    if (useIndex.length === 0) throw new CouchError('mango_no_fallback');
    const ddoc = designId(useIndex[0]!);
    throw new CouchError('mango_no_fallback_named', { params: { detail: useIndex.length === 1 ? ddoc : `${ddoc}, ${useIndex[1]}` } });
  }
  const filtered = named.length > 0 ? named : usable;
  const json = filtered.filter((i): i is JsonIndex => i.type === 'json');
  const ofType = json.length > 0 ? json : filtered;
  const sorted = rank(ofType, ranges);
  const best = sorted[0]!;
  return { plan: { index: best.index, ranges: best.prefix, fieldRanges: ranges }, trace: { ...base, filtered, ofType, sorted } };
}

/** The plan of a `_find`. */
export function plan(all: readonly MangoIndex[], sel: Sel, sort: SortSpec, useIndex: readonly string[], allowFallback = true, scope: PlanScope = GLOBAL_SCOPE): Plan {
  return planWithTrace(all, sel, sort, useIndex, allowFallback, 'find', scope).plan!;
}

/**
 * mango_idx_view:start_key/1: the key an ascending scan starts at (`[]` = the start). A strict
 * bound (`$gt`) is included: the rows equal to it fail the selector, which every row meets again.
 */
export function startKey(ranges: readonly FieldRange[]): unknown[] {
  const out: unknown[] = [];
  for (const r of ranges) {
    if (r === 'empty' || r.low === MIN) break;
    out.push(r.low);
  }
  return out;
}

/** mango_idx_view:end_key/1: the last key of an ascending scan, inclusive; MAX is "anything". */
export function endKey(ranges: readonly FieldRange[]): unknown[] {
  const out: unknown[] = [];
  for (const r of ranges) {
    if (r === 'empty' || r.high === MAX) break;
    out.push(r.high);
  }
  return [...out, MAX];
}

/** Compare an index key with a bound that may hold MIN/MAX elements (array prefix order). */
export function compareToBound(key: unknown, bound: readonly unknown[]): number {
  const k = Array.isArray(key) ? key : [key];
  for (let i = 0; i < bound.length; i++) {
    if (i >= k.length) return -1;
    const c = cmp(k[i], bound[i]);
    if (c !== 0) return c;
  }
  return k.length > bound.length ? 1 : 0;
}

/** The bound as `_explain` shows it: MAX as "<MAX>" (mango_cursor_view maybe_replace_max_json/1). */
export function boundJson(bound: readonly unknown[]): unknown[] {
  return bound.map((b) => (b === MAX ? '<MAX>' : b));
}
