/**
 * What couch_mrview:validate/2 checks of a design document before it is saved (400
 * `invalid_design_doc`), short of compiling its functions:
 *
 * - validate_ddoc_fields/1: each path of `FIELD_PATHS` must hold a value of its type where
 *   present ("`views.v.map` field must have string type"; `any` steps over every member of an
 *   object; a list of types accepts any of them, "object or string"). A view's `map` is an object
 *   in a `language: "query"` (Mango) design document (map_function_type/1), a string otherwise.
 * - require_map_function_for_views/1: every view but `lib` has a `map` ("View `v` must contain
 *   map function").
 * - ValidateView: a `reduce` naming a built-in (`_…`) must be one it knows, matched by prefix
 *   ("`_foo` is not a supported reduce function."); only views with a map take part
 *   (couch_mrview_util ddoc_to_mrst), and only for a language with a query server (a design
 *   document in another language is saved unchecked).
 */

type FieldType = 'object' | 'string' | 'array' | 'boolean';
/** One step of a path: a member (or `any` member) and the type(s) its value must have. */
type Step = readonly [key: string, types: readonly FieldType[]];

const MAP = 'map-function';
/** couch_mrview validate_ddoc_fields/1's paths, in its order. */
const FIELD_PATHS: ReadonlyArray<ReadonlyArray<Step | readonly [string, typeof MAP]>> = [
  [['filters', ['object']], ['any', ['object', 'string']]],
  [['language', ['string']]],
  [['lists', ['object']], ['any', ['object', 'string']]],
  [['options', ['object']]],
  [['options', ['object']], ['include_design', ['boolean']]],
  [['options', ['object']], ['local_seq', ['boolean']]],
  [['options', ['object']], ['partitioned', ['boolean']]],
  [['rewrites', ['string', 'array']]],
  [['shows', ['object']], ['any', ['object', 'string']]],
  [['updates', ['object']], ['any', ['object', 'string']]],
  [['validate_doc_update', ['string']]],
  [['views', ['object']], ['lib', ['object']]],
  [['views', ['object']], ['any', ['object']], ['map', MAP]],
  [['views', ['object']], ['any', ['object']], ['reduce', ['string']]],
];

/** The built-in reducers couch_mrview:validate/2 accepts. */
const BUILTIN_REDUCERS = ['_sum', '_count', '_stats', '_approx_count_distinct'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasType(v: unknown, t: FieldType): boolean {
  if (t === 'object') return isObject(v);
  if (t === 'array') return Array.isArray(v);
  return typeof v === t;
}

/** The first failing path (its dotted name and expected types) under `value`, or null. */
function checkPath(value: unknown, path: ReadonlyArray<readonly [string, readonly FieldType[]]>, at: string[]): { path: string[]; types: readonly FieldType[] } | null {
  if (path.length === 0 || !isObject(value)) return null;
  const [[key, types], ...rest] = path as [readonly [string, readonly FieldType[]], ...Array<readonly [string, readonly FieldType[]]>];
  const keys = key === 'any' ? Object.keys(value) : [key];
  for (const k of keys) {
    const v = value[k];
    if (v === undefined) continue;
    if (!types.some((t) => hasType(v, t))) return { path: [...at, k], types };
    const deeper = checkPath(v, rest, [...at, k]);
    if (deeper !== null) return deeper;
  }
  return null;
}

/** The reason for validate_ddoc_fields/1 and require_map_function_for_views/1, or null. */
export function designFieldsError(body: Record<string, unknown>): string | null {
  const mapType: FieldType = body.language === 'query' ? 'object' : 'string';
  for (const path of FIELD_PATHS) {
    const steps = path.map(([k, t]) => [k, t === MAP ? [mapType] : t] as const);
    const failed = checkPath(body, steps, []);
    if (failed !== null) return `\`${failed.path.join('.')}\` field must have ${failed.types.join(' or ')} type`;
  }
  if (isObject(body.views)) {
    for (const [name, view] of Object.entries(body.views)) {
      if (name !== 'lib' && isObject(view) && view.map === undefined) return `View \`${name}\` must contain map function`;
    }
  }
  return null;
}

/** ValidateView's check of built-in reducer names (after the fields and the partition check), or null. */
export function designReduceError(body: Record<string, unknown>): string | null {
  const language = body.language ?? 'javascript';
  if ((language !== 'javascript' && language !== 'query') || !isObject(body.views)) return null;
  for (const view of Object.values(body.views)) {
    if (!isObject(view) || view.map === undefined) continue;
    const { reduce } = view;
    if (typeof reduce === 'string' && reduce.startsWith('_') && !BUILTIN_REDUCERS.some((b) => reduce.startsWith(b))) {
      return `\`${reduce}\` is not a supported reduce function.`;
    }
  }
  return null;
}
