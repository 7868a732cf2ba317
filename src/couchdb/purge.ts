/**
 * Purge (CouchDB 3.x api/database/misc.rst `/{db}/_purge`): removing leaf revisions from
 * documents as if they had never been written, as couch_db:purge_docs/3 and couch_db_updater
 * purge_docs/2 (apply_purge_reqs/4) do.
 *
 * Per document: the named revisions that are leaves of its tree go, with every ancestor no other
 * leaf descends from (couch_key_tree:remove_leafs, src/couch/rev-tree.ts `removeLeaves`); other
 * revisions, unknown ones and unknown documents are left alone and reported as not purged
 * (`[]`). The answer lists the revisions removed, deduplicated and in `{Pos, RevId}` order, as
 * fabric_doc_purge's `lists:usort` leaves them.
 *
 * - Some leaves left: the document is stored again with the smaller tree and the remaining
 *   winner's body (doc-store.ts `storeDoc`), so it takes a new change sequence, as CouchDB
 *   re-labels the remaining leaves with new update seqs; views and feeds see it changed. The
 *   purged bodies are not kept in the revision history (rev-history.ts).
 * - No leaf left: the document is erased (doc-store.ts `storeDoc` with an empty tree): a
 *   tombstone marked erased, with no body, tree or xattrs. KV reads find no document and DCP
 *   streams send a deletion (Couchbase has no purge; a deletion is what its consumers, replicas
 *   and XDCR understand), and compaction purges the tombstone after the purge age as any other.
 *   The CouchDB face treats it as nothing: no `_changes` row (so no replication brings it back),
 *   not in `doc_count` nor `doc_del_count`, `missing` when read, and a new write of the id starts
 *   a new document. View indexes read it in the change order as a deletion and drop its rows.
 *
 * `purge_seq` counts purge requests (one per document id of each `POST`, even when nothing was
 * removed, as couch_db_updater assigns every request a purge seq) and survives compaction.
 * Left out: CouchDB's purge infos (the `{UUID, DocId, Revs}` history, `_purged_infos`) and the
 * `_local/purge-*` checkpoints through which its indexes and internal replication catch up with
 * purges. Here indexes follow the change order, where an erased document's tombstone is a
 * deletion, and there is no internal replication, so nothing needs them; `_purged_infos_limit`
 * (how many infos CouchDB keeps) is stored and reported, without effect.
 */
import { removeLeaves } from '../couch/rev-tree.js';
import { compareRevs, formatRev, type Rev } from '../couch/rev.js';
import { MAX_KEY_BYTES } from '../engine/limits.js';
import type { Db } from './db.js';
import { updateDoc } from './doc-store.js';

/** CouchDB's default `_purged_infos_limit` (couch_bt_header's `purge_infos_limit = 1000`). */
export const DEFAULT_PURGED_INFOS_LIMIT = 1000;

export interface PurgeRequest {
  id: string;
  revs: readonly Rev[];
}

const NO_DATA = { body: {}, atts: [] };

/** Purge one document's leaves; resolves to the revisions removed (`N-hash`, sorted). */
function purgeDoc(db: Db, id: string, revs: readonly Rev[]): Promise<string[]> {
  // An id that cannot be a key names no document: nothing to purge.
  if (id.length === 0 || Buffer.byteLength(id) > MAX_KEY_BYTES) return Promise.resolve([]);
  return updateDoc(db, id, db.revsLimit, (state) => {
    if (state === null) return { next: null, result: [] };
    const { tree, removed } = removeLeaves(state.tree, revs);
    if (removed.length === 0) return { next: null, result: [] };
    const result = removed.sort(compareRevs).map((r) => formatRev(r.pos, r.hash));
    // No revision is written: every remaining leaf keeps its stored body (an empty tree erases).
    return { next: { tree, rev: '', data: NO_DATA, keepHistory: false }, result };
  });
}

/**
 * Apply purge requests; resolves to the revisions purged per request, in order, once they and
 * the database's new `purge_seq` are on disk.
 */
export async function purgeDocs(db: Db, reqs: readonly PurgeRequest[]): Promise<string[][]> {
  // Every request runs to its end before a failure is reported, so `purge_seq` counts the ones
  // that were applied even when another failed.
  const settled = await Promise.allSettled(reqs.map((r) => purgeDoc(db, r.id, r.revs)));
  const applied = settled.filter((r) => r.status === 'fulfilled').length;
  if (applied > 0) {
    await db.meta.transaction(() => db.meta.putSync('purge_seq', purgeSeq(db) + applied));
  }
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((r) => (r.status === 'fulfilled' ? r.value : []));
}

/** The database's purge sequence: purge requests applied so far (`purge_seq` of `GET /{db}`). */
export function purgeSeq(db: Db): number {
  const v = db.meta.get('purge_seq');
  return typeof v === 'number' ? v : 0;
}

export function purgedInfosLimit(db: Db): number {
  const v = db.meta.get('purged_infos_limit');
  return typeof v === 'number' ? v : DEFAULT_PURGED_INFOS_LIMIT;
}

export function setPurgedInfosLimit(db: Db, limit: number): Promise<void> {
  return db.meta.put('purged_infos_limit', limit);
}
