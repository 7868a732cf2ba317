/**
 * What one engine change shows in a `_changes` row (couch-replication.md §2.3, §2.7): the document
 * id, its leaves (winner first), the winner, and with `include_docs` or a `_selector` the winner's
 * body. Null when the row is dropped: a key that is no UTF-8 document id, the filter, or
 * `active_only` with a deleted winner, or a purged document. A `_selector` or JavaScript filter
 * tests the winner with its `_conflicts`, or with `style=all_docs` each leaf, the row listing the
 * leaves that pass (filterDocs; couch_changes filter/3). A winner with no JSON document form (an opaque KV value, doc-store.ts)
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
import { docJson, winnerJson } from './doc-json.js';
import { toCouchError } from './errors.js';
import { stateFromItem, type DocState } from './doc-store.js';
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
  /** `style=all_docs`: a filter tests every leaf and the row lists those that pass. */
  allDocs?: boolean;
}

export interface ChangeSummary {
  id: string;
  leaves: RevInfo[];
  winner: RevInfo;
  doc?: Record<string, unknown>;
  /** Why `doc` is missing although it was asked for. */
  docError?: CouchError;
  /**
   * With a JavaScript filter: the revisions it tests (filterLeaves) as it sees them, as JSON text.
   * The row still waits on the filter's verdicts, which FilteredPage asks for a page at a time.
   */
  filterJson?: string[];
  filterLeaves?: RevInfo[];
}

/**
 * The revisions a filter tests, as couch_changes filter/3 opens them (open_revs/3): the winner,
 * opened with its `_conflicts` (couch_db:open_doc with [deleted, conflicts] on the whole
 * doc_info), or with `style=all_docs` every leaf, each opened alone and so without `_conflicts`.
 * Each is the JSON couch_doc:to_json_obj gives, `_revisions` included for a JavaScript filter
 * (couch_query_servers filter_docs: `[revs]`) and not for a selector (`[]`).
 */
function filterDocs(db: Db, state: DocState, o: SummaryOptions, revs: boolean): Array<{ leaf: RevInfo; doc: Record<string, unknown> }> {
  const leaves = o.allDocs ? state.leaves : [state.winner];
  return leaves.map((leaf) => ({
    leaf,
    doc: docJson(db, state, leaf.rev, state.revData(leaf.rev) ?? { body: {}, atts: [] }, leaf.deleted, { revs, conflicts: !o.allDocs }),
  }));
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
  let shown = leaves;
  let filterJson: string[] | undefined;
  let filterLeaves: RevInfo[] | undefined;
  if (filter?.kind === 'custom' || filter?.kind === 'selector') {
    try {
      const tested = filterDocs(db, state, o, filter.kind === 'custom');
      if (filter.kind === 'selector') {
        // With style=all_docs only the leaves that match are listed, and a row with none goes
        // (couch_changes filter_revs/2); the included document stays the winner's.
        shown = tested.filter((t) => filter.match(t.doc)).map((t) => t.leaf);
        if (shown.length === 0) return null;
      } else {
        filterJson = tested.map((t) => JSON.stringify(t.doc));
        filterLeaves = tested.map((t) => t.leaf);
      }
    } catch {
      // A filter cannot test a document it cannot read: the row goes.
      db.stats.rowDocErrors++;
      return null;
    }
    if (!o.includeDocs) return { id, leaves: shown, winner, filterJson, filterLeaves };
  }
  try {
    const doc = winnerJson(db, state, { conflicts: o.conflicts ?? false, attachments: o.attachments ?? false, encodingInfo: o.encodingInfo ?? false });
    return { id, leaves: shown, winner, doc, filterJson, filterLeaves };
  } catch (err) {
    db.stats.rowDocErrors++;
    return { id, leaves: shown, winner, docError: toCouchError(err), filterJson, filterLeaves };
  }
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
    // One document per tested revision (a row's leaves with style=all_docs), in order.
    const v = this.o.filter.matchMany(this.items.flatMap((it) => it.summary.filterJson ?? []));
    let at = 0;
    for (const it of this.items) {
      const json = it.summary.filterJson ?? [];
      if (at + json.length > v.pass.length) {
        if (v.error) throw v.error;
        return;
      }
      const tested = it.summary.filterLeaves ?? [];
      const passed = tested.filter((_, k) => v.pass[at + k] === true);
      at += json.length;
      if (passed.length === 0) continue;
      // couch_changes filter_revs/2: the row lists the revisions that passed.
      if (this.o.allDocs) it.summary.leaves = passed;
      delete it.summary.filterJson;
      delete it.summary.filterLeaves;
      yield it;
    }
  }
}
