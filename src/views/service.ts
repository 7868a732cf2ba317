/**
 * What the faces call: a view query by design document and view name, a design document's
 * `_info`, and `_view_cleanup` (CouchDB api/ddoc/views.rst, api/ddoc/common.rst,
 * api/database/compact.rst).
 */
import type { Db } from '../couchdb/db.js';
import { openDesignIndex, readDesign, allDesigns, viewReducer } from './design.js';
import { dropUnused, ViewIndex } from './index.js';
import { validateForView, validatePartitionUse, type ViewQuery } from './query.js';
import { isPartitionedDesign } from '../couchdb/partition.js';
import { mapQuery, mapRowStream, reduceQuery, viewNumber, type RowStream } from './run.js';
import type { ReduceLimitOptions } from './reduce-limit.js';
import { indexTooFull } from '../couchdb/disk-monitor.js';

/** A view opened for query `q`: its design, number, index (refreshed per `q.update`) and whether it reduces. */
async function openView(db: Db, ddoc: string, view: string, query: ViewQuery) {
  const d = readDesign(db, ddoc);
  const n = viewNumber(d.views.map((v) => v.name), view);
  const def = d.views[n]!;
  const partitioned = isPartitionedDesign(d.doc, db.partitioned);
  const q = validatePartitionUse(query, partitioned);
  const reducing = validateForView(q, def.reduce !== undefined);
  const idx = await openDesignIndex(db, d, partitioned);
  // couch_mrview_util:get_view_index_state/5: while `[disk_monitor]` blocks interactive indexing,
  // an index already up to date still answers; a stale one is an error until there is room.
  // (CouchDB's reduce views then fall through to a 500 `unknown_error`; both are this 507 here.)
  if (q.update === 'true' && q.indexingBlocked === true && idx.seq < db.bucket.bucketSeq) throw indexTooFull();
  await idx.refresh(q.update);
  return { d, n, def, reducing, idx, q };
}

/** The response text of `/{db}/_design/{ddoc}/_view/{view}` (`limit`: `[query_server_config] reduce_limit`). */
export async function queryView(db: Db, ddoc: string, view: string, q: ViewQuery, limit: ReduceLimitOptions): Promise<string> {
  const { d, n, def, reducing, idx, q: query } = await openView(db, ddoc, view, q);
  if (!reducing) return mapQuery(idx, n, query);
  return reduceQuery(idx, n, query, await viewReducer(db, d, def, limit));
}

/**
 * A view query as a row stream, for list functions: a map view's rows are read from the index as
 * they are pulled; a reduce view's rows (reductions, computed at query time) are reduced first.
 */
export async function viewRowStream(db: Db, ddoc: string, view: string, q: ViewQuery, limit: ReduceLimitOptions): Promise<RowStream> {
  const { d, n, def, reducing, idx, q: query } = await openView(db, ddoc, view, q);
  if (!reducing) return mapRowStream(idx, n, query);
  const { rows, ...head } = JSON.parse(await reduceQuery(idx, n, query, await viewReducer(db, d, def, limit))) as { rows: unknown[] };
  return { head, rows: rows.map((r) => JSON.stringify(r))[Symbol.iterator](), close: () => undefined };
}

/** `GET /{db}/_design/{ddoc}/_info`. */
export async function designInfo(db: Db, ddoc: string): Promise<Record<string, unknown>> {
  const d = readDesign(db, ddoc);
  const idx: ViewIndex = await openDesignIndex(db, d, isPartitionedDesign(d.doc, db.partitioned));
  return { name: ddoc, view_index: idx.info(d.language) };
}

/** `POST /{db}/_view_cleanup`: remove the indexes no live design document uses. */
export function cleanupViews(db: Db, alsoKeep: Iterable<string> = []): Promise<number> {
  return dropUnused(db, new Set([...allDesigns(db).map((d) => d.signature), ...alsoKeep]));
}
