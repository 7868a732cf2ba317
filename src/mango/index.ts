// Mango (CouchDB's declarative queries, issue #15): `_find`, `_index`, `_explain` over a CouchDB
// database (src/couchdb). A domain layer like src/couchdb: the HTTP face (src/http/mango-routes.ts)
// parses requests and writes replies, everything else is here.
//
//   opts.ts        request bodies, validated as mango_opts.erl does, with mango_error.erl's errors
//   indexes.ts     json indexes as `language: "query"` design documents; the `_all_docs` index
//   native-map.ts  the map function of a json index (mango_native_proc.erl), run by the view engine
//   planner.ts     usable indexes, the chosen one, and the key range to read (mango_idx_view.erl)
//   cursor.ts      running a plan: rows, documents examined, skip/limit/bookmark, fields, warnings
//   covering.ts    json indexes that answer a query from their keys alone
//   explain.ts     `_explain`
//   candidates.ts  `_explain`'s index_candidates and selector_hints
//   manage.ts      creating and deleting indexes (design document edits)
//   view-source.ts json indexes as view indexes of the view engine (src/views)
//
// Selectors are src/couch/selector.ts's (one matcher for `_find`, json index partial filters and
// `_changes?filter=_selector`).
import type { Db } from '../couchdb/db.js';
import { execute, type FindResult, type JsonIndexSource } from './cursor.js';
import { explain } from './explain.js';
import { listIndexes } from './indexes.js';
import type { FindOptions } from './opts.js';
import { plan, planWithTrace, type PlanScope } from './planner.js';
import { viewIndexSource } from './view-source.js';

export { validateFind, validateIndexCreate, validateBulkDelete, type FindOptions } from './opts.js';
export { listIndexes, indexToJson, indexesOfDdoc, type JsonIndex, type MangoIndex } from './indexes.js';
export { createIndex, deleteIndex, bulkDelete } from './manage.js';
export { mangoMapFunction } from './native-map.js';
export { mangoSignatures, openJsonIndex } from './view-source.js';
export type { FindResult, JsonIndexSource, IndexRow, ExecutionStats } from './cursor.js';

/** Where the query runs: its partition, in a partitioned database or not (planner.ts). */
function scopeOf(db: Db, opts: FindOptions): PlanScope {
  return { partition: opts.partition, dbPartitioned: db.partitioned };
}

/** Run a `_find` (mango_crud:find/5). */
export function find(db: Db, opts: FindOptions, source: JsonIndexSource = viewIndexSource): Promise<FindResult> {
  return execute(db, plan(listIndexes(db), opts.selector, opts.sort, opts.useIndex, opts.allowFallback, scopeOf(db, opts)), opts, source);
}

/** The `_explain` of a `_find` (mango_crud:explain/3). */
export function explainFind(db: Db, opts: FindOptions): Record<string, unknown> {
  const { plan: p, trace } = planWithTrace(listIndexes(db), opts.selector, opts.sort, opts.useIndex, opts.allowFallback, 'explain', scopeOf(db, opts));
  return explain(db, p, trace, opts);
}
