/**
 * Covering json indexes (CouchDB 3.4, apache/couchdb#4512 "keys-only covering indexes";
 * mango_idx_view:covers/2, mango_cursor_view required_fields/1, consider_index_coverage/3,
 * derive_doc_from_index/2, mango_selector:fields/1).
 *
 * A json index covers a query when every field the query needs, its `fields` and the fields its
 * selector names, is `_id` or one of the index's columns. Such a query is answered from the index
 * rows alone: each row's document is rebuilt from its key (one value per column) and its id, then
 * matched and projected as a document would be. The index holds only documents that have every
 * column (native-map.ts), and each column's key is the field's value as stored, so the rebuilt
 * document gives the same matches and the same projected values as the document itself. A query
 * returning whole documents (`fields` absent) is never covered, nor is any `_all_docs` scan.
 */
import { parseField } from '../couch/selector.js';
import type { IndexRow } from './cursor.js';
import type { JsonIndex, MangoIndex } from './indexes.js';
import type { FindOptions } from './opts.js';

type Sel = Record<string, unknown>;

/** mango_selector:fields/1 on the normal form: the fields the selector names, through `$and`/`$or`/`$nor`. */
export function selectorFields(sel: Sel): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(sel)) {
    if (k.startsWith('$') && Array.isArray(v)) out.push(...(v as Sel[]).flatMap(selectorFields));
    else out.push(k);
  }
  return out;
}

/** mango_cursor_view required_fields/1: `fields` and the selector's fields, or every field. */
export function requiredFields(opts: Pick<FindOptions, 'fields' | 'selector'>): readonly string[] | 'all_fields' {
  if (opts.fields === 'all_fields') return 'all_fields';
  return [...new Set([...opts.fields, ...selectorFields(opts.selector)])];
}

/** mango_idx_view:covers/2: every field is `_id` or a column of the json index. */
export function covers(index: MangoIndex, fields: readonly string[] | 'all_fields'): boolean {
  if (index.type !== 'json' || fields === 'all_fields') return false;
  const available = new Set(['_id', ...index.fields.map(([f]) => f)]);
  return fields.every((f) => available.has(f));
}

/** mango_cursor_view derive_doc_from_index/2: `{_id}` with each column set from the row's key. */
export function docFromRow(index: JsonIndex, row: IndexRow): Record<string, unknown> {
  const doc: Record<string, unknown> = { _id: row.id };
  const keys = Array.isArray(row.key) ? row.key : [];
  // foldr: the last column is set first, so an earlier column wins where two paths meet.
  for (let i = Math.min(index.fields.length, keys.length) - 1; i >= 0; i--) {
    const path = parseField(index.fields[i]![0]);
    let node = doc;
    for (const name of path.slice(0, -1)) {
      const next = node[name];
      node = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (node[name] = {});
    }
    node[path.at(-1)!] = keys[i];
  }
  return doc;
}
