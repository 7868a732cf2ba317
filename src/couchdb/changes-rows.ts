/**
 * One `_changes` row from one engine change (couch-replication.md §2.3, §2.7):
 * `{"seq","id","changes":[{"rev"}…],"deleted"?,"doc"?}`, serialized directly to a string since
 * this is the hot loop of the feed.
 *
 * `changes` lists the winner only, or with `style=all_docs` every leaf, winner first. `deleted`
 * describes the winner. `doc` is the winner as `include_docs` shows it (`conflicts`,
 * `attachments` apply), or `error`/`reason` when that document cannot be shown. Which changes make a row, and what they show: change-summary.ts.
 *
 * `append` is what the feed calls: it writes the common row straight from the record's bytes
 * (changes-bytes.ts) and falls back to `build` for everything else.
 */
import type { RawChange } from '../engine/change-scan.js';
import { changeSummary, type ChangeSummary, type SummaryOptions } from './change-summary.js';
import { fastRowId, isDesignRow, putFastRow, readFastRow, type ByteSink } from './changes-bytes.js';
import type { Db } from './db.js';
import { docText } from './doc-json.js';

/** What shapes the rows (the `_changes` parameters, src/http/changes-query.ts ChangesQuery). */
export interface RowQuery extends SummaryOptions {
  /** `style=all_docs`: every leaf, winner first. */
  allDocs: boolean;
  /** `seq_interval`: only every Nth row shows its seq. */
  seqInterval: number | null;
  /** `limit` (which rows show their seq under `seq_interval` counts down from it). */
  limit: number | undefined;
}

/** CouchDB's default `_changes` limit (couch_db.hrl `#changes_args.limit`). */
const COUCH_DEFAULT_LIMIT = 1_000_000_000_000_000;

/** How a feed mode wraps each row (changes-feed.ts). */
export interface RowFraming {
  /** Before a row; `sent` rows came before it. */
  open(sink: ByteSink, sent: number): void;
  /** After a row: its seq, and whether the row showed it (seq_interval). */
  close(sink: ByteSink, seq: number, shown: boolean): void;
}

/**
 * What a feed (src/http/changes-feed.ts) asks of the rows it frames: RowBuilder's `_changes` rows,
 * or `_db_updates`' (global-changes.ts DbUpdateRows, the same feed over `_global_changes`).
 */
export interface ChangeRows {
  /** Append the change's framed row to `sink`; false when the change shows no row. */
  append(change: RawChange, sink: ByteSink, framing: RowFraming, sent: number): boolean;
  /** Whether the latest row showed its seq (`seq_interval`). */
  seqShown(): boolean;
}

export class RowBuilder implements ChangeRows {
  /** Rows produced so far (for `seq_interval`). */
  count = 0;
  /** Whether the byte-level row can serve this query (no body needed). */
  private readonly bytesOk: boolean;

  constructor(
    private readonly db: Db,
    private readonly q: RowQuery,
  ) {
    this.bytesOk = !q.includeDocs && q.filter?.kind !== 'selector' && q.filter?.kind !== 'custom';
  }

  /** Append the change's framed row to `sink`; false when the change is filtered out. */
  append(change: RawChange, sink: ByteSink, framing: RowFraming, sent: number): boolean {
    const fast = this.bytesOk ? readFastRow(change.raw) : null;
    if (fast) {
      const filter = this.q.filter;
      if (filter?.kind === 'design' && !isDesignRow(fast)) return false;
      if (filter?.kind === 'doc_ids' && !filter.ids.has(fastRowId(fast))) return false;
      if (this.q.activeOnly && fast.deleted) return false;
      this.count++;
      const shown = this.seqShown();
      framing.open(sink, sent);
      putFastRow(sink, fast, shown ? change.seq : -1);
      framing.close(sink, change.seq, shown);
      return true;
    }
    // A JavaScript filter tests a page at a time: its feed goes through FilteredPage instead.
    if (this.q.filter?.kind === 'custom') throw new Error('RowBuilder.append: a JavaScript filter needs FilteredPage');
    const c = changeSummary(this.db, change, this.q);
    if (c === null) return false;
    this.appendSummary(c, change.seq, sink, framing, sent);
    return true;
  }

  /** Append the framed row of a change already summarized (and filtered: FilteredPage). */
  appendSummary(c: ChangeSummary, seq: number, sink: ByteSink, framing: RowFraming, sent: number): void {
    const row = this.build(c, seq);
    framing.open(sink, sent);
    sink.text(row);
    framing.close(sink, seq, this.seqShown());
  }

  /** The row's JSON text. */
  private build(c: ChangeSummary, changeSeq: number): string {
    const q = this.q;
    this.count++;
    const seq = this.seqShown() ? String(changeSeq) : 'null';
    let out = `{"seq":${seq},"id":${JSON.stringify(c.id)},"changes":[`;
    // Revs from peers may be any string: always escape them.
    if (q.allDocs) out += c.leaves.map((l) => `{"rev":${JSON.stringify(l.rev)}}`).join(',');
    else out += `{"rev":${JSON.stringify(c.winner.rev)}}`;
    out += ']';
    if (c.winner.deleted) out += ',"deleted":true';
    if (!q.includeDocs) return out + '}';
    // Serialized per row: a document that cannot be (too deep for the recursive JSON.stringify)
    // fails this row only, which carries `error`/`reason` in place of `doc`.
    const doc = c.doc ? docText(this.db, () => c.doc) : c.docError ? { error: c.docError } : null;
    if (doc && 'text' in doc) out += `,"doc":${doc.text}`;
    else if (doc) out += `,"error":${JSON.stringify(doc.error.error)},"reason":${JSON.stringify(doc.error.reason)}`;
    return out + '}';
  }

  /**
   * Whether the latest row shows its seq (else `"seq": null`), as CouchDB decides it
   * (fabric_view_changes handle_message/3: `Limit rem Interval == 0`, Limit counting down from the
   * query's limit, by default 10^15, one per row): with `seq_interval=N` and no limit that is the
   * first row and every Nth after it when N divides 10^15 (PouchDB's test expects the first),
   * and with `limit=N&seq_interval=N` the first row only. `last_seq` always carries the position.
   */
  seqShown(): boolean {
    const interval = this.q.seqInterval;
    if (interval === null) return true;
    const remaining = (this.q.limit ?? COUCH_DEFAULT_LIMIT) - (this.count - 1);
    return remaining % interval === 0;
  }
}
