/**
 * What one engine change shows in a `_changes` row (couch-replication.md §2.3, §2.7): the document
 * id, its leaves (winner first), the winner, and with `include_docs` or a `_selector` the winner's
 * body. Null when the row is dropped: a key that is no UTF-8 document id, the filter, or
 * `active_only` with a deleted winner, or a purged document. A `_selector` is matched against the winner as
 * `include_docs` shows it. A winner with no JSON document form (an opaque KV value, doc-store.ts)
 * is left out, as Sync Gateway leaves out documents it cannot import: a replicator would list it
 * and then fail its batch fetching it. A document that cannot be shown for another reason keeps
 * its row with `docError` in place of `doc`.
 *
 * A named collection's records (format 2, engine/record.ts: the key region starts with the
 * collection id) take the same path: the RecordView accessors used here (id, xattrs prefix, rev
 * seqno, toItem) read both formats; only changes-bytes.ts's offset reader is format 1 only.
 *
 * Shared by the HTTP feed (changes-rows.ts, which serializes it) and the replicator's local feed
 * (src/replicator/local-changes.ts, which hands it over as objects).
 */
import { isListableDocId } from '../couch/doc.js';
import type { RevInfo } from '../couch/rev-tree-query.js';
import type { RawChange } from '../engine/change-scan.js';
import type { DocMatcher } from '../couch/selector.js';
import type { Db } from './db.js';
import type { CouchError } from '../couch/errors.js';
import { winnerJson } from './doc-json.js';
import { toCouchError } from './errors.js';
import { stateFromItem } from './doc-store.js';
import { summarize, summaryFromPrefix } from './doc-sync.js';
import { SUMMARY_PREFIX_CHARS } from './sync-layout.js';

/**
 * A `_changes` filter as parsed from the request, ready to test rows (`filter=_doc_ids`,
 * `_selector`, `_design`; couch-replication.md §2.7). The replicator's `ChangesFilter`
 * (src/replicator/follower.ts) is the one it sends.
 */
export type ParsedChangesFilter =
  | { kind: 'doc_ids'; ids: Set<string> }
  | { kind: 'selector'; match: DocMatcher }
  | { kind: 'design' }
  /**
   * A JavaScript filter (`filter=ddoc/name`, `filter=_view`; src/design/filters.ts), given the
   * winning revisions with `_revisions` (couch_doc:to_json_obj(Doc, [revs])) as JSON text, a page
   * at a time (FilteredPage). Its errors (a throw, a timeout) fail the feed, as in CouchDB,
   * rather than dropping the row.
   */
  | { kind: 'custom'; matchMany: BatchFilter };

/**
 * Verdicts for documents given as JSON text, in order; `pass` stops before a document the filter
 * threw for, and `error` is that error (src/design/filters.ts DocPredicate). A failure of the
 * whole call throws.
 */
export type BatchFilter = (docsJson: readonly string[]) => { pass: boolean[]; error?: Error };

export interface SummaryOptions {
  filter: ParsedChangesFilter | null;
  includeDocs: boolean;
  activeOnly?: boolean;
  /** `include_docs` options. */
  conflicts?: boolean;
  attachments?: boolean;
  /** `att_encoding_info`. */
  encodingInfo?: boolean;
}

export interface ChangeSummary {
  id: string;
  leaves: RevInfo[];
  winner: RevInfo;
  doc?: Record<string, unknown>;
  /** Why `doc` is missing although it was asked for. */
  docError?: CouchError;
  /**
   * With a JavaScript filter: the winner as the filter sees it, as JSON text. The row still waits
   * on the filter's verdict, which FilteredPage asks for a page at a time.
   */
  filterJson?: string;
}

export function changeSummary(db: Db, change: RawChange, o: SummaryOptions): ChangeSummary | null {
  // A purged document's tombstone (purge.ts) is in the change order for view indexes only: a
  // feed never lists it, so no replication brings the document back (couch_db_updater removes
  // it from the by-seq tree).
  if (change.erased) return null;
  const id = change.id();
  if (id === null) return null;
  // A KV key such as `_txn:atr-…` is no CouchDB id: left out, as from `_all_docs`.
  if (!isListableDocId(id)) {
    db.stats.changesNotCouchIds++;
    return null;
  }
  const filter = o.filter;
  if (filter?.kind === 'doc_ids' && !filter.ids.has(id)) return null;
  if (filter?.kind === 'design' && !id.startsWith('_design/')) return null;
  const needDoc = o.includeDocs || filter?.kind === 'selector' || filter?.kind === 'custom';
  // Fast path: an unconflicted document last written through HTTP, no body needed.
  const fast = needDoc ? null : summaryFromPrefix(change.xattrsPrefix(SUMMARY_PREFIX_CHARS), change.revSeqno);
  if (fast) return o.activeOnly && fast.deleted ? null : { id, leaves: [fast], winner: fast };
  const item = change.toItem();
  const { leaves, winner, opaque } = summarize(id, item, db.bucket.maxJsonDepth);
  if (opaque) {
    db.stats.changesOpaqueSkipped++;
    return null;
  }
  if (o.activeOnly && winner.deleted) return null;
  if (!needDoc) return { id, leaves, winner };
  const state = stateFromItem(id, item, db.revsLimit, db.bucket.maxJsonDepth);
  let filterJson: string | undefined;
  if (filter?.kind === 'custom') {
    try {
      filterJson = JSON.stringify(winnerJson(db, state, { revs: true }));
    } catch {
      db.stats.rowDocErrors++;
      return null;
    }
    if (!o.includeDocs) return { id, leaves, winner, filterJson };
  }
  let doc: Record<string, unknown>;
  try {
    doc = winnerJson(db, state, { conflicts: o.conflicts ?? false, attachments: o.attachments ?? false, encodingInfo: o.encodingInfo ?? false });
    if (filter?.kind === 'selector' && !filter.match(doc)) return null;
  } catch (err) {
    // A selector cannot match a document it cannot read: the row goes.
    db.stats.rowDocErrors++;
    if (filter?.kind === 'selector') return null;
    return { id, leaves, winner, docError: toCouchError(err), filterJson };
  }
  return { id, leaves, winner, doc, filterJson };
}

/**
 * The summaries of one page of changes, in order, for a feed with a JavaScript filter: `add`
 * each change inside the scan (its record is only valid there), then `passing()` puts the page's
 * documents through the filter in one call and yields the rows that pass, in change order. A
 * document the filter threw for throws its error when its turn comes, so the rows before it
 * still come out, and a reader that stops earlier (`limit`) never meets it. The filter may see
 * documents past the one where the reader stops (up to a page), as CouchDB's do.
 */
export class FilteredPage {
  private readonly items: Array<{ seq: number; summary: ChangeSummary }> = [];

  constructor(
    private readonly db: Db,
    private readonly o: SummaryOptions & { filter: { kind: 'custom'; matchMany: BatchFilter } },
  ) {}

  add(change: RawChange): void {
    const summary = changeSummary(this.db, change, this.o);
    if (summary !== null) this.items.push({ seq: change.seq, summary });
  }

  *passing(): Generator<{ seq: number; summary: ChangeSummary }> {
    if (this.items.length === 0) return;
    const v = this.o.filter.matchMany(this.items.map((it) => it.summary.filterJson ?? 'null'));
    for (let i = 0; i < this.items.length; i++) {
      if (i >= v.pass.length) {
        if (v.error) throw v.error;
        return;
      }
      if (!v.pass[i]) continue;
      const it = this.items[i]!;
      delete it.summary.filterJson;
      yield it;
    }
  }
}
