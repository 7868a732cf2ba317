/**
 * The map function of a Mango `json` index (mango_native_proc.erl get_index_entries/2): what the
 * view engine runs, natively, for a view of a `language: "query"` design document.
 *
 * A document is indexed when it is no design document, matches the index's
 * `partial_filter_selector` (if any), and has every indexed field; its one row has the array of
 * the field values as key and null as value. A document missing any field is not in the index,
 * which is why an index is only usable for a query whose selector requires all its fields
 * (planner.ts hasRequiredFields).
 */
import { compileSelector, fieldValue, parseField } from '../couch/selector.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One emitted row: `[key, value]`. */
export type MangoRow = [unknown[], null];

/** The field names of a stored `map.fields` (`{"f": "asc"}` or the list form), in order. */
function fieldNames(fields: unknown): string[] {
  if (isObject(fields)) return Object.keys(fields);
  if (Array.isArray(fields)) return fields.flatMap((f) => (typeof f === 'string' ? [f] : isObject(f) ? Object.keys(f) : []));
  return [];
}

/**
 * Compile the `map` member of a Mango view into a function from a document (JSON with `_id`) to
 * its rows. A malformed definition indexes nothing, as CouchDB skips an invalid index.
 */
export function mangoMapFunction(map: unknown): (doc: Record<string, unknown>) => MangoRow[] {
  if (!isObject(map)) return () => [];
  const paths = fieldNames(map.fields).map(parseField);
  if (paths.length === 0) return () => [];
  const pfs = map.partial_filter_selector ?? map.selector;
  const matches = isObject(pfs) && Object.keys(pfs).length > 0 ? compileSelector(pfs) : () => true;
  return (doc) => {
    const id = doc._id;
    if (typeof id === 'string' && id.startsWith('_design/')) return [];
    if (!matches(doc)) return [];
    const key: unknown[] = [];
    for (const path of paths) {
      const v = fieldValue(doc, path);
      if (v === undefined) return [];
      key.push(v);
    }
    return [[key, null]];
  };
}
