/**
 * Opening stored revisions of a document: one revision, or `open_revs=[…]|all` with
 * `latest=true` (couch_db:open_doc_revs/4; couch-replication.md §1.2 step 8). Used by
 * `GET /{db}/{doc}`, `_bulk_get` and attachment routes (src/http) and by the replicator's local
 * peer.
 */
import { findRev, latest } from '../couch/rev-tree-query.js';
import type { DocState } from './doc-store.js';
import type { RevData } from './doc-sync.js';

export interface OpenRev {
  rev: string;
  data: RevData;
  deleted: boolean;
}
export type OpenRevResult = { ok: OpenRev } | { missing: string };

/**
 * One stored revision of the document, or null when it is unknown or its body is gone: a leaf,
 * or an interior revision of the tree whose body the revision history still holds
 * (rev-history.ts; gone after compaction, as in CouchDB).
 */
export function openRev(state: DocState, rev: string): OpenRev | null {
  const data = state.revData(rev);
  if (data) {
    const leaf = state.leaves.find((l) => l.rev === rev);
    return { rev, data, deleted: leaf?.deleted ?? false };
  }
  const node = findRev(state.tree, rev);
  if (!node || node.leaf) return null;
  const old = state.historyData(rev);
  return old ? { rev, data: old, deleted: node.deleted } : null;
}

/**
 * `open_revs`: every leaf for 'all'; otherwise each requested revision (with `latest`, the leaves
 * descending from it), each at most once, in request order; unknown ones as `{missing}`.
 */
export function openRevs(state: DocState | null, revs: 'all' | string[], withLatest: boolean): OpenRevResult[] {
  if (revs === 'all') {
    if (!state) return [];
    return state.leaves.map((l) => ({ ok: { rev: l.rev, data: state.revData(l.rev) ?? { body: {}, atts: [] }, deleted: l.deleted } }));
  }
  const out: OpenRevResult[] = [];
  const seen = new Set<string>();
  for (const rev of revs) {
    const targets = state && withLatest ? latest(state.tree, rev) : [rev];
    if (!state || targets.length === 0) {
      out.push({ missing: rev });
      continue;
    }
    for (const t of targets) {
      if (seen.has(t)) continue;
      seen.add(t);
      const found = openRev(state, t);
      out.push(found ? { ok: found } : { missing: t });
    }
  }
  return out;
}
