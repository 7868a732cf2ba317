/**
 * The changes of a local Freshet database (a bucket's collection) as replication batches, read from
 * the engine's bucket-wide change order restricted to that collection, without HTTP (the same order and seqs `GET /{db}/_changes` serves,
 * src/http/changes-feed.ts): `style=all_docs` rows (every leaf, winner first), optional winning
 * bodies (`include_docs`), the `_doc_ids`, `_selector` and `_design` filters
 * (couch-replication.md §2.2, §2.8) and JavaScript filters (`ddoc/name`, `_view`).
 *
 * A one-shot feed ends once it has seen everything durable. A live feed then waits for the
 * bucket's next durable change (engine/change-wait.ts: an engine callback, not a poll) and goes
 * on; `close()` or the signal ends it at once. A filtered feed still advances `lastSeq` over the
 * changes it drops, so checkpoints move on a quiet filter.
 */
import type { Bucket } from '../engine/bucket.js';
import { compileSelector } from '../couch/selector.js';
import { scanChanges, type RawChange } from '../engine/change-scan.js';
import { changeSummary, FilteredPage, type ChangeSummary } from '../couchdb/change-summary.js';
import type { ParsedChangesFilter } from '../couchdb/change-summary.js';
import type { Db } from '../couchdb/db.js';
import { waitForChange } from '../engine/change-wait.js';
import type { ChangeRow, Seq } from './changes-parse.js';
import { ReplicationError } from './errors.js';
import type { ChangesBatch, ChangesFilter } from './follower.js';
import type { ChangesSource, PeerChangesOptions } from './peer.js';
import { CouchError } from '../couch/errors.js';
import { toCouchError } from '../couchdb/errors.js';
import { sharedDesignFunctions, type DesignFunctions } from '../design/design-docs.js';
import { javascriptFilter, requestObject } from '../design/filters.js';
import type { UserCtx } from '../design/sandbox.js';
import { securityObject, userCtxOf } from '../design/validate.js';

/** Engine changes visited per scan (one LMDB read snapshot each). */
const SCAN_PAGE = 1000;
/** How long a live feed waits before re-checking that its database still exists. */
const IDLE_CHECK_MS = 30_000;

/** The HTTP face's filter form: both feeds filter alike (change-summary.ts). */
type LocalFilter = ParsedChangesFilter;

/** The bucket seq a checkpointed seq names: numbers, `"N"` and CouchDB 2-style `"N-…"` strings. */
export function bucketSeqOf(seq: Seq): number {
  if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return seq;
  if (typeof seq === 'string') {
    const m = /^(\d+)(?:-.*)?$/.exec(seq.trim());
    if (m && Number.isSafeInteger(Number(m[1]))) return Number(m[1]);
  }
  return 0;
}

/** What a local feed needs to run JavaScript filters (src/design/filters.ts). */
export interface LocalDesign {
  design: DesignFunctions;
  /** The replication's user, as `req.userCtx`. */
  userCtx: UserCtx;
}

/**
 * The replicator's filter as the local feed applies it. A `ddoc/name` or `_view` filter runs in
 * the sandbox with a `req` whose `query` holds the `query_params` (and `view`), as CouchDB's
 * replicator sends them in the query string; its 400/404 errors become the replication's.
 */
export async function localFilter(db: Db, filter: ChangesFilter | undefined, js?: LocalDesign): Promise<LocalFilter | null> {
  if (!filter) return null;
  if (filter.docIds) return { kind: 'doc_ids', ids: new Set(filter.docIds) };
  if (filter.selector) return { kind: 'selector', match: compileSelector(filter.selector) };
  if (filter.name === '_design') return { kind: 'design' };
  if (filter.name === undefined) return null;
  const d = js ?? { design: sharedDesignFunctions(), userCtx: userCtxOf(db, { name: null, roles: ['_admin'] }) };
  const query: Record<string, unknown> = { ...filter.queryParams, filter: filter.name, ...(filter.view ? { view: filter.view } : {}) };
  const view = filter.view ?? (typeof filter.queryParams?.view === 'string' ? filter.queryParams.view : null);
  const req = requestObject(db, {
    method: 'GET', path: [db.name, '_changes'], rawPath: `/${encodeURIComponent(db.name)}/_changes`, query, headers: {}, body: 'undefined',
    peer: '127.0.0.1', cookie: {}, userCtx: d.userCtx, secObj: securityObject(db),
  });
  try {
    const match = await javascriptFilter(d.design, db, filter.name, view, req);
    if (match === null) throw new CouchError('bad_request', { reason: '`filter` must be of the form `designname/filtername`' });
    return { kind: 'custom', matchMany: match };
  } catch (err) {
    const e = toCouchError(err);
    throw new ReplicationError('BAD_REQUEST', `filter ${filter.name}: ${e.reason}`, { status: e.status, error: e.error, reason: e.reason, url: db.name });
  }
}

/** One change as a row, or null when the filter drops it (or its key is no document id). */
function rowOf(db: Db, change: RawChange, filter: LocalFilter | null, includeDocs: boolean, allDocs: boolean): ChangeRow | null {
  const c = changeSummary(db, change, { filter, includeDocs, allDocs });
  return c === null ? null : summaryRow(c, change.seq, includeDocs, allDocs);
}

function summaryRow(c: ChangeSummary, seq: number, includeDocs: boolean, allDocs: boolean): ChangeRow {
  const row: ChangeRow = { seq, id: c.id, changes: allDocs ? c.leaves.map((l) => ({ rev: l.rev })) : [{ rev: c.winner.rev }] };
  if (c.winner.deleted) row.deleted = true;
  if (includeDocs && c.doc) row.doc = c.doc;
  return row;
}

export class LocalChanges implements ChangesSource {
  private readonly abort = new AbortController();
  private filter: LocalFilter | null = null;
  private pos: number;

  constructor(
    private readonly db: Db,
    private readonly opts: PeerChangesOptions,
    private readonly js?: LocalDesign,
  ) {
    this.pos = bucketSeqOf(opts.since);
    if (opts.signal?.aborted) this.abort.abort();
    else opts.signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
  }

  async close(): Promise<void> {
    this.abort.abort();
  }

  /**
   * Up to `batchSize` rows after `pos`, reading at most a few pages of the index (a filter that
   * drops everything still ends the batch, with `lastSeq` advanced).
   */
  private read(): ChangesBatch {
    const bucket: Bucket = this.db.bucket;
    const limit = Math.max(1, this.opts.batchSize);
    const includeDocs = this.opts.includeDocs === true;
    const allDocs = this.opts.style === 'all_docs';
    const results: ChangeRow[] = [];
    let caughtUp = false;
    for (let pages = 0; pages < 4 && results.length < limit; pages++) {
      const want = Math.min(SCAN_PAGE, limit - results.length);
      let full = false;
      // Other collections' entries move the position too (a keyspace feed must not loop on them).
      const progress = { last: this.pos };
      const filter = this.filter;
      let read: number;
      if (filter?.kind === 'custom') {
        // A JavaScript filter tests the page in one sandbox call; the position stops at the row
        // that filled the batch, as the row-by-row read below does.
        const page = new FilteredPage(this.db, { filter, includeDocs, allDocs });
        read = scanChanges(bucket, { since: this.pos, limit: want, collection: this.db.collectionId, progress }, (change) => {
          page.add(change);
          return true;
        });
        for (const { seq, summary } of page.passing()) {
          results.push(summaryRow(summary, seq, includeDocs, allDocs));
          full = results.length >= limit;
          if (full) {
            progress.last = seq;
            break;
          }
        }
      } else {
        read = scanChanges(bucket, { since: this.pos, limit: want, collection: this.db.collectionId, progress }, (change) => {
          const row = rowOf(this.db, change, filter, includeDocs, allDocs);
          if (row) results.push(row);
          full = results.length >= limit;
          return !full;
        });
      }
      this.pos = Math.max(this.pos, progress.last);
      if (!full && read < want) {
        // Everything durable was seen; seqs in between belong to superseded versions.
        caughtUp = true;
        this.pos = Math.max(this.pos, bucket.persistedBucketSeq);
        break;
      }
    }
    return { results, lastSeq: this.pos, caughtUp };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChangesBatch> {
    const bucket = this.db.bucket;
    const signal = this.abort.signal;
    // A live feed yields an empty batch only to say it caught up (once per catch-up).
    let announced = false;
    this.filter = await localFilter(this.db, this.opts.filter, this.js);
    // The feed lists persisted changes; writes acknowledged before it started are waited for.
    await this.db.settled(signal);
    while (!signal.aborted) {
      if (!this.db.exists) throw new ReplicationError('DB_NOT_FOUND', `${this.db.name} was deleted`, { url: this.db.name });
      const batch = this.read();
      if (batch.results.length > 0 || !this.opts.live || (batch.caughtUp && !announced)) {
        announced = batch.caughtUp;
        yield batch;
      }
      if (!batch.caughtUp) continue;
      if (!this.opts.live) return;
      // Register for the next durable change, then re-check: a commit between the scan and the
      // registration must not be slept through.
      if (bucket.persistedBucketSeq > this.pos) continue;
      const why = await waitForChange(bucket, IDLE_CHECK_MS, signal);
      if (why === 'closed') return;
    }
  }
}
