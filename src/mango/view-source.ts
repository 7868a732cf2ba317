/**
 * Json indexes on the view engine (src/views): each Mango view is one persistent view index of
 * the keyspace, mapped natively (native-map.ts) rather than through the JavaScript sandbox, and
 * kept up to date from the change history like any view. `_find` brings it up to date first
 * (`update: true`, the default) or reads it as it is (`update: false`, `stale: "ok"`).
 *
 * The index's signature is `mango:` + the SHA-1 of its `map` definition, so two identical
 * definitions share one index and a changed one builds anew; a partitioned index (indexes.ts)
 * keeps its rows per partition (views/index-store.ts), so its signature ends in `:p` and it never
 * shares an index with a global one of the same definition (CouchDB's partitioned option is part
 * of the design document's signature, couch_mrview_util:ddoc_to_mrst/2). `_view_cleanup` must
 * keep these signatures (`mangoSignatures`). A query within a partition reads that partition's
 * rows only (`range.partition`).
 *
 * Range reads: an ascending scan starts at the plan's start key and the cursor stops past its
 * end key. A descending scan starts at the high end; when that bound is "every key with prefix
 * P" (P not empty) no encoded key expresses it, so the read starts from the top of the index and
 * the cursor passes over the rows above the range.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../couchdb/db.js';
import { ViewIndex, type Emits, type ViewMapper } from '../views/index.js';
import { rangeRows, type ViewRange } from '../views/query-rows.js';
import type { IndexRow, JsonIndexSource } from './cursor.js';
import { canonical, designDocs, indexesOfDdoc, type JsonIndex } from './indexes.js';
import { mangoMapFunction } from './native-map.js';
import { MAX } from './planner.js';

export function mangoSignature(index: JsonIndex): string {
  const sig = 'mango:' + createHash('sha1').update(canonical(index.view.map)).digest('hex');
  return index.partitioned === true ? `${sig}:p` : sig;
}

/** The signatures of every json index of the database (what `_view_cleanup` keeps). */
export function mangoSignatures(db: Db): Set<string> {
  return new Set(designDocs(db).flatMap(({ id, doc }) => indexesOfDdoc(id, doc, db.partitioned)).map(mangoSignature));
}

/** The native mapper of one json index: its one view (number 0) gets `[fields...] → null`. */
function mapperOf(index: JsonIndex): ViewMapper {
  const fn = mangoMapFunction(index.view.map);
  return {
    map: (docs) => docs.map((d): Emits => fn(JSON.parse(d.json) as Record<string, unknown>).map(([k, v]) => [0, k, v])),
  };
}

/** Mango's opening of a json index (mapper + signature), for `_find` and tests. */
export function openJsonIndex(db: Db, index: JsonIndex): Promise<ViewIndex> {
  return ViewIndex.open(db, mangoSignature(index), mapperOf(index), 1, index.partitioned === true);
}

export const viewIndexSource: JsonIndexSource = {
  async *rows(db, index, q): AsyncIterable<IndexRow> {
    const idx = await openJsonIndex(db, index);
    await idx.refresh(q.update ? 'true' : 'false');
    const range: ViewRange = { hasStart: false, hasEnd: false, inclusiveEnd: true, descending: q.descending };
    if (q.partition !== undefined) range.partition = q.partition;
    if (!q.start.includes(MAX) && q.start.length > 0) {
      range.hasStart = true;
      range.startKey = q.start;
      if (q.startDocId !== undefined) range.startDocId = q.startDocId;
    }
    for (const row of rangeRows(idx, 0, range)) yield { key: row.key, id: row.id };
  },
};
