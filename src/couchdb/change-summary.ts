/**
 * What one engine change shows in a `_changes` row (couch-replication.md §2.3, §2.7): the document
 * id, its leaves (winner first), the winner, and with `include_docs` or a `_selector` the winner's
 * body. Null when the row is dropped: a key that is no UTF-8 document id, the filter, or
 * `active_only` with a deleted winner. A `_selector` is matched against the winner as
 * `include_docs` shows it.
 *
 * Shared by the HTTP feed (changes-rows.ts, which serializes it) and the replicator's local feed
 * (src/replicator/local-changes.ts, which hands it over as objects).
 */
import type { RevInfo } from '../couch/rev-tree-query.js';
import type { RawChange } from '../engine/change-scan.js';
import type { DocMatcher } from '../couch/selector.js';
import type { Db } from './db.js';
import { winnerJson } from './doc-json.js';
import { stateFromItem, summarize, summaryFromPrefix } from './doc-store.js';
import { SUMMARY_PREFIX_CHARS } from './sync-layout.js';

/** Which changes make rows (`filter=_doc_ids`, `_selector`, `_design`; couch-replication.md §2.7). */
export type ChangesFilter =
  | { kind: 'doc_ids'; ids: Set<string> }
  | { kind: 'selector'; match: DocMatcher }
  | { kind: 'design' };

export interface SummaryOptions {
  filter: ChangesFilter | null;
  includeDocs: boolean;
  activeOnly?: boolean;
  /** `include_docs` options. */
  conflicts?: boolean;
  attachments?: boolean;
}

export interface ChangeSummary {
  id: string;
  leaves: RevInfo[];
  winner: RevInfo;
  doc?: Record<string, unknown>;
}

export function changeSummary(db: Db, change: RawChange, o: SummaryOptions): ChangeSummary | null {
  if (!change.plain) throw new Error(`unsupported item record format at seq ${change.seq}`);
  const id = change.id();
  if (id === null) return null;
  const filter = o.filter;
  if (filter?.kind === 'doc_ids' && !filter.ids.has(id)) return null;
  if (filter?.kind === 'design' && !id.startsWith('_design/')) return null;
  const needDoc = o.includeDocs || filter?.kind === 'selector';
  // Fast path: an unconflicted document last written through HTTP, no body needed.
  const fast = needDoc ? null : summaryFromPrefix(change.xattrsPrefix(SUMMARY_PREFIX_CHARS), change.revSeqno);
  if (fast) return o.activeOnly && fast.deleted ? null : { id, leaves: [fast], winner: fast };
  const item = change.toItem();
  const { leaves, winner } = summarize(id, item);
  if (o.activeOnly && winner.deleted) return null;
  if (!needDoc) return { id, leaves, winner };
  const doc = winnerJson(db, stateFromItem(id, item, db.revsLimit), { conflicts: o.conflicts ?? false, attachments: o.attachments ?? false });
  if (filter?.kind === 'selector' && !filter.match(doc)) return null;
  return { id, leaves, winner, doc };
}
