/**
 * A changes follower for any CouchDB-compatible `_changes` feed (CouchDB, pouchdb-server, Sync
 * Gateway, Edge Server, Freshet): an AsyncIterable of rows (or of batches), closed with `close()`
 * or an AbortSignal.
 *
 * Feed modes (couch-replication.md §2.4-§2.5, §2.9):
 * - `normal`: pages of `limit` rows from `since`; a one-shot follower ends once caught up (a page
 *   shorter than the limit, or `pending: 0`); a live one then switches to longpoll.
 * - `longpoll`: PouchDB's live mode; each request returns as soon as something changed.
 * - `continuous`: CouchDB's live mode; one long response, one row per line. Lines read from one
 *   network chunk form a batch (at most `batchSize` rows).
 *
 * Liveness: live requests carry `heartbeat`, and the connection is dropped when no byte arrives for
 * twice that long (undici's body timeout), which makes the loop reconnect. Every failure that a
 * retry can fix (network, timeout, 408/429/5xx) reconnects from the last seq handed out, after a
 * backoff that resets on success; other errors end the iteration by throwing.
 *
 * Durable checkpointing: with a `SeqStore`, the seq of each batch the consumer has finished with
 * (it asked for the next one) is saved at most every `everyMs`, and once more at close; a new
 * follower with the same store resumes there. Rows may repeat after a crash (at-least-once).
 */
import { encodeSince, LineSplitter, parseChangesBody, parseContinuousLine, type ChangeRow, type Seq } from './changes-parse.js';
import { DbClient, type DbRequest, type HttpClientOptions, type QueryValue } from './http-client.js';
import { isReplicationError, ReplicationError } from './errors.js';
import { policyDelay, sleep } from '../common/backoff.js';
import { DEFAULT_FEED_BACKOFF, type BackoffPolicy } from './retry.js';
import { compileSelector, type DocMatcher } from '../couch/selector.js';
import type { SeqStore } from './seq-store.js';

export type FeedMode = 'normal' | 'longpoll' | 'continuous';

/** Server-side filters, passed through as CouchDB expects them (spec §2.8). */
export interface ChangesFilter {
  /** `filter=_doc_ids`, ids in a POST body. */
  docIds?: readonly string[];
  /** `filter=_selector`, the Mango selector in a POST body. */
  selector?: Record<string, unknown>;
  /** `ddoc/name`, `_view` (with `view`), `_design`, or a Sync Gateway filter. */
  name?: string;
  view?: string;
  /** Custom parameters for a filter function (`query_params`), sent in the query string. */
  queryParams?: Record<string, QueryValue>;
}

export interface ChangesBatch {
  results: ChangeRow[];
  /** Resume point after this batch. */
  lastSeq: Seq;
  /** Rows the peer says are left, when it says so. */
  pending?: number;
  /** Nothing more was available when this batch was formed. */
  caughtUp: boolean;
}

export interface FollowerOptions {
  feed?: FeedMode;
  /** Keep following after catching up (default: true for longpoll and continuous, false for normal). */
  live?: boolean;
  since?: Seq;
  /** Rows per request (`limit`) and largest batch (default 100, PouchDB's replicator batch). */
  batchSize?: number;
  style?: 'main_only' | 'all_docs';
  includeDocs?: boolean;
  conflicts?: boolean;
  /** Heartbeat asked of the server in live modes, ms (default 10000, as PouchDB). */
  heartbeatMs?: number;
  filter?: ChangesFilter;
  /** Any other query parameters, passed through unchanged. */
  query?: Record<string, QueryValue>;
  backoff?: BackoffPolicy;
  signal?: AbortSignal;
  checkpoint?: { store: SeqStore; everyMs?: number };
  /** Called before each reconnect. */
  onReconnect?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Client options when the follower is given a URL. */
  http?: HttpClientOptions;
}

export class ChangesFollower implements AsyncIterable<ChangeRow> {
  private readonly client: DbClient;
  private readonly ownsClient: boolean;
  private readonly abort = new AbortController();
  private readonly feed: FeedMode;
  private readonly live: boolean;
  private readonly batchSize: number;
  private readonly heartbeatMs: number;
  private current: Seq;
  /** What the consumer has finished with: the resume point a checkpoint records. */
  private resumeSeq: Seq;
  private savedSeq: Seq | undefined;
  private lastSave = 0;
  private iterating = false;
  private closed = false;
  private lastPending: number | undefined;
  private postUnsupported = false;
  /** Set when the server has no `_selector`/`_doc_ids` filter: rows are filtered here instead. */
  private clientFilter: ((row: ChangeRow) => boolean) | undefined;

  constructor(
    db: string | URL | DbClient,
    private readonly opts: FollowerOptions = {},
  ) {
    this.ownsClient = !(db instanceof DbClient);
    this.client = db instanceof DbClient ? db : new DbClient(db, opts.http);
    this.feed = opts.feed ?? 'longpoll';
    this.live = opts.live ?? this.feed !== 'normal';
    this.batchSize = opts.batchSize ?? 100;
    this.heartbeatMs = opts.heartbeatMs ?? 10_000;
    this.current = opts.since ?? 0;
    this.resumeSeq = this.current;
    if (opts.signal) {
      if (opts.signal.aborted) this.abort.abort();
      else opts.signal.addEventListener('abort', () => void this.close().catch(() => undefined), { once: true });
    }
  }

  /** The seq of the last batch handed out (the resume point). */
  get since(): Seq {
    return this.current;
  }

  get pending(): number | undefined {
    return this.lastPending;
  }

  /** Stop: a pending request is aborted and the iteration ends (no error). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    if (this.ownsClient) await this.client.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChangeRow> {
    for await (const batch of this.batches()) {
      for (const row of batch.results) {
        yield row;
        // The consumer asked for the next row: this one is done.
        if (row.seq !== null && row.seq !== undefined) this.resumeSeq = row.seq;
      }
    }
  }

  /** The feed as batches, each with its resume seq. */
  async *batches(): AsyncGenerator<ChangesBatch, void, undefined> {
    if (this.iterating) throw new ReplicationError('BAD_REQUEST', 'a follower can be iterated once at a time');
    this.iterating = true;
    const store = this.opts.checkpoint?.store;
    try {
      if (store) {
        const saved = await store.load();
        if (saved !== undefined) this.current = this.resumeSeq = saved;
        this.savedSeq = saved;
      }
      const policy = this.opts.backoff ?? DEFAULT_FEED_BACKOFF;
      let attempt = 0;
      let mode: FeedMode = this.feed === 'continuous' ? 'continuous' : this.feed === 'longpoll' && this.live ? 'longpoll' : 'normal';
      let prefetched: Promise<ChangesBatch> | undefined;
      while (!this.closed) {
        try {
          if (mode === 'continuous') {
            let delivered = false;
            for await (const batch of this.readContinuous()) {
              attempt = 0;
              delivered = true;
              this.current = batch.lastSeq;
              yield batch;
              this.resumeSeq = batch.lastSeq;
              await this.maybeSave(false);
            }
            if (!this.live) return; // the server ended the feed (limit or timeout)
            // An empty response that ends at once would make a busy loop: back off instead.
            if (!delivered) throw new ReplicationError('BAD_RESPONSE', 'continuous feed ended without data');
          } else {
            const pending = prefetched ?? this.readPage(mode);
            prefetched = undefined;
            const page = await pending;
            attempt = 0;
            this.current = page.lastSeq;
            // Paging through a backlog: ask for the next page now, so the peer builds it while
            // the consumer works on this one (one page ahead at most, so memory stays bounded).
            if (mode === 'normal' && !page.caughtUp && !this.closed) {
              prefetched = this.readPage('normal');
              prefetched.catch(() => undefined); // awaited (and its error handled) on the next turn
            }
            yield page;
            this.resumeSeq = page.lastSeq;
            await this.maybeSave(false);
            if (page.caughtUp) {
              if (!this.live) return;
              mode = 'longpoll';
            }
          }
        } catch (err) {
          if (this.closed) return;
          if (!isReplicationError(err) || !err.retriable) throw err;
          attempt++;
          if (attempt > policy.retries) throw err;
          const delay = policyDelay(policy, attempt);
          this.opts.onReconnect?.(err, attempt, delay);
          if (!(await sleep(delay, this.abort.signal))) return;
        }
      }
    } finally {
      this.iterating = false;
      await this.maybeSave(true).catch(() => undefined);
    }
  }

  private async maybeSave(force: boolean): Promise<void> {
    const cp = this.opts.checkpoint;
    const seq = this.resumeSeq;
    if (!cp || seq === this.savedSeq) return;
    const now = Date.now();
    if (!force && now - this.lastSave < (cp.everyMs ?? 1000)) return;
    await cp.store.save(seq);
    this.savedSeq = seq;
    this.lastSave = now;
  }

  /** The request for the current position; POST carries `doc_ids`/`selector` (spec §2.1). */
  private request(feed: FeedMode, limit: boolean): DbRequest {
    const f = this.opts.filter;
    const query: Record<string, QueryValue> = {
      ...this.opts.query,
      feed,
      since: encodeSince(this.current),
      style: this.opts.style,
      include_docs: this.opts.includeDocs ? true : undefined,
      conflicts: this.opts.conflicts ? true : undefined,
      limit: limit ? this.batchSize : undefined,
      heartbeat: feed === 'normal' ? undefined : this.heartbeatMs,
    };
    const live = feed !== 'normal';
    const req: DbRequest = {
      method: 'GET',
      path: '_changes',
      query,
      signal: this.abort.signal,
      retry: false,
      // No byte for two heartbeats: the peer or the path is dead, reconnect.
      ...(live ? { bodyTimeoutMs: this.heartbeatMs * 2 + 5000, headersTimeoutMs: this.heartbeatMs * 2 + 5000 } : {}),
    };
    if (this.clientFilter) {
      // Client-side filtering needs the winning body for a selector (spec §2.8).
      if (f?.selector) query.include_docs = true;
    } else if (f?.docIds) {
      query.filter = '_doc_ids';
      if (this.postUnsupported) query.doc_ids = JSON.stringify(f.docIds);
      else Object.assign(req, { method: 'POST', json: { doc_ids: f.docIds } });
    } else if (f?.selector) {
      query.filter = '_selector';
      Object.assign(req, { method: 'POST', json: { selector: f.selector } });
    } else if (f?.name) {
      query.filter = f.name;
      if (f.view) query.view = f.view;
      Object.assign(query, f.queryParams);
    }
    return req;
  }

  /**
   * A server that refuses the filtered request: CouchDB's replicator retries a refused POST as a
   * GET (405), and filters on the client when the server lacks the filter altogether
   * (pouchdb-server 4.2 answers 404 to `filter=_selector`). Returns true to try again.
   */
  private fallBack(err: unknown): boolean {
    const f = this.opts.filter;
    if (!isReplicationError(err) || this.clientFilter || (!f?.docIds && !f?.selector)) return false;
    if (err.status === 405 && f.docIds && !this.postUnsupported) {
      this.postUnsupported = true;
      return true;
    }
    if (err.status !== 400 && err.status !== 404 && err.status !== 405) return false;
    const keepDocs = this.opts.includeDocs === true;
    const strip = (row: ChangeRow): void => {
      if (!keepDocs) delete row.doc;
    };
    if (f.docIds) {
      const ids = new Set(f.docIds);
      this.clientFilter = (row) => ids.has(row.id);
    } else {
      const match: DocMatcher = compileSelector(f.selector);
      this.clientFilter = (row) => {
        const pass = row.doc !== undefined && match(row.doc);
        strip(row);
        return pass;
      };
    }
    return true;
  }

  private async readPage(mode: FeedMode): Promise<ChangesBatch> {
    let res;
    for (;;) {
      try {
        res = await this.client.request(this.request(mode, true));
        break;
      } catch (err) {
        if (!this.fallBack(err)) throw err;
      }
    }
    const page = parseChangesBody(res.body);
    const received = page.results.length;
    if (this.clientFilter) page.results = page.results.filter(this.clientFilter);
    if (page.pending !== undefined) this.lastPending = page.pending;
    const caughtUp = page.pending === 0 || received < this.batchSize;
    if (caughtUp && page.pending === undefined) this.lastPending = 0;
    return { ...page, lastSeq: page.lastSeq === undefined ? this.current : page.lastSeq, caughtUp };
  }

  private async *readContinuous(): AsyncGenerator<ChangesBatch, void, undefined> {
    let res;
    for (;;) {
      try {
        res = await this.client.stream(this.request('continuous', !this.live));
        break;
      } catch (err) {
        if (!this.fallBack(err)) throw err;
      }
    }
    const splitter = new LineSplitter();
    let rows: ChangeRow[] = [];
    let seq = this.current;
    const take = (caughtUp: boolean): ChangesBatch => {
      const batch: ChangesBatch = { results: rows, lastSeq: seq, caughtUp };
      rows = [];
      return batch;
    };
    try {
      for await (const chunk of res.body) {
        for (const text of splitter.push(chunk)) {
          const line = parseContinuousLine(text);
          if (line.kind === 'row') {
            if (line.row.seq !== null && line.row.seq !== undefined) seq = line.row.seq;
            if (this.clientFilter && !this.clientFilter(line.row)) continue;
            rows.push(line.row);
            if (rows.length >= this.batchSize) yield take(false);
          } else if (line.kind === 'heartbeat') {
            // A heartbeat means the server has nothing more right now.
            this.lastPending = 0;
            yield take(true);
          } else {
            if (line.lastSeq !== undefined) seq = line.lastSeq;
            if (line.pending !== undefined) this.lastPending = line.pending;
            yield take(true);
            return;
          }
        }
        if (rows.length > 0) yield take(false);
      }
      const rest = splitter.flush();
      if (rest !== null) {
        const line = parseContinuousLine(rest);
        if (line.kind === 'row') {
          rows.push(line.row);
          if (line.row.seq !== null && line.row.seq !== undefined) seq = line.row.seq;
        } else if (line.kind === 'end' && line.lastSeq !== undefined) {
          seq = line.lastSeq;
        }
      }
      yield take(true);
    } catch (err) {
      if (this.closed) return;
      if (isReplicationError(err)) throw err;
      throw new ReplicationError('NETWORK', `continuous feed: ${(err as Error).message}`, {}, err);
    } finally {
      res.destroy();
    }
  }
}

/** Follow a database's changes: `for await (const row of followChanges(url, { since }))`. */
export function followChanges(db: string | URL | DbClient, opts: FollowerOptions = {}): ChangesFollower {
  return new ChangesFollower(db, opts);
}
