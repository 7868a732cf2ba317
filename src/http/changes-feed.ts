/**
 * The `_changes` feed modes, byte for byte as couch-replication.md §2.4–§2.6 give them:
 *
 *   normal      {"results":[\n<row>,\r\n<row>\n],\n"last_seq":S,"pending":P}\n
 *   longpoll    the same; waits for the first passing change when there is none yet, and
 *               starts its body with "\n" then ({"results":[\n\n, see firstWait)
 *   continuous  one row per line, "\n" heartbeats, a final {"last_seq":S,"pending":P}\n line;
 *               "\n" first when it waits before any row (firstWait), as eventsource does
 *   eventsource "data: <row>\nid: <seq>\n\n", heartbeats "event: heartbeat\ndata: \n\n", no end line
 *
 * The feed pulls pages of the engine's bucket-wide change order (engine/change-scan.ts) restricted to
 * the database's collection (a keyspace lists only its own; seqs stay bucket-wide), frames each
 * page's rows into one buffer (changes-bytes.ts, changes-rows.ts) and, when
 * caught up, waits for the bucket's next durable change (engine/change-wait.ts). That wait,
 * racing a timer and the request's abort signal, is the feed's only resource: a client that
 * disconnects aborts it at once, and nothing stays registered in the bucket.
 *
 * `last_seq` is the position scanned, not the last row's seq, so filtered feeds advance over
 * changes they drop: a normal feed with no passing row still answers with the position it reached,
 * and so does a longpoll on its timeout. While a live filtered feed is silent (changes-pace.ts):
 *   - longpoll: when a heartbeat falls due and the scan moved, the reply ends with no rows and the
 *     advanced `last_seq` (PouchDB's HTTP adapter polls again from it; a one-shot PouchDB
 *     replication checkpoints an empty reply's `last_seq`, pouchdb-replication onChangesComplete);
 *   - continuous: by default exactly CouchDB's bytes (blank-line heartbeats, `last_seq` only on the
 *     final line), because CouchDB's replicator takes *any* line without `changes` as the end of the
 *     feed and reconnects (couch_replicator_api_wrap:json_to_doc_info/1). Progress reaches it through
 *     `timeout`, counted from the last row: the feed ends with the advanced `last_seq`, which the
 *     replicator checkpoints. With `heartbeat_seq` the heartbeat becomes
 *     `{"seq":S,"id":null,"changes":[]}` when the position moved (the shape proposed in
 *     apache/couchdb#6120): opt-in, since row parsers would otherwise see a change without an id;
 *   - eventsource: a heartbeat event carries `id: S` when the position moved, which moves the
 *     browser's Last-Event-ID (the SSE parser applies `id:` even to events without data).
 * Long catch-up scans that a filter keeps silent yield to the event loop between pages, and live
 * feeds send their heartbeats and progress reports between those pages too.
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { scanChanges } from '../engine/change-scan.js';
import { ByteSink } from '../couchdb/changes-bytes.js';
import { FilteredPage } from '../couchdb/change-summary.js';
import { FeedPace } from './changes-pace.js';
import { pendingAfter } from '../engine/changes-pending.js';
import type { ChangesQuery } from './changes-query.js';
import { RowBuilder, type ChangeRows, type RowFraming } from '../couchdb/changes-rows.js';
import type { Db } from '../couchdb/db.js';
import { waitForChange } from '../engine/change-wait.js';
import { ChunkWriter } from './feed-io.js';
import { baseHeaders, jsonFraming } from './response.js';

/** Changes read from the engine per page. */
const PAGE = 1000;

interface Feed {
  db: Db;
  q: ChangesQuery;
  res: ServerResponse;
  signal: AbortSignal;
  rows: ChangeRows;
  framing: RowFraming;
  /** Whether the end of the feed reports `pending` (`_changes`) or `last_seq` only (`_db_updates`). */
  pending: boolean;
  /** The page being assembled. */
  sink: ByteSink;
  out: ChunkWriter;
  pace: FeedPace;
  /** The last bucket seq scanned. */
  pos: number;
  /** The position the client was last told (by a row or a progress report). */
  reported: number;
  /** Rows written so far. */
  sent: number;
  /**
   * Whether the body said anything yet (a row, a heartbeat): chttpd_db's `chunks_sent`. A
   * `_changes` feed that first waits for updates with nothing said writes one "\n", which sends
   * the headers and, for a longpoll, the opening `{"results":[` (see firstWait).
   */
  spoke: boolean;
  /** Whether the first wait writes that "\n" (`_changes`; `_db_updates` does not). */
  firstWaitNewline: boolean;
  /**
   * Writes the status line, headers and the feed's opening bytes; called before the first page
   * goes out, so that a filter failing on the first page (a JavaScript filter that throws or runs
   * past its time limit) is still answered with an error status rather than a cut-off 200.
   */
  begin: (() => void) | null;
}

function limitReached(f: Feed): boolean {
  return f.q.limit !== undefined && f.sent >= f.q.limit;
}

/**
 * Visit one page of changes from `f.pos` (ascending, or descending from `upper`), framing the
 * passing rows into one buffer; returns it (null when no row passed) and how many changes the
 * index gave.
 */
function readPage(f: Feed, descending: boolean, upper: number): { bytes: Buffer | null; read: number; last: number } {
  if (f.q.filter?.kind === 'custom' && f.rows instanceof RowBuilder) return readFilteredPage(f, f.rows, { ...f.q, filter: f.q.filter }, descending, upper);
  const { rows, sink, framing } = f;
  // Every index entry read moves the position, other collections' included: a keyspace feed
  // reading a page full of them must still advance (engine/change-scan.ts `progress`).
  const progress = { last: descending ? upper : f.pos };
  const read = scanChanges(f.db.bucket, { since: descending ? upper : f.pos, limit: PAGE, descending, collection: f.db.collectionId, progress }, (change) => {
    f.pos = change.seq;
    if (!rows.append(change, sink, framing, f.sent)) return true;
    f.sent++;
    // Under seq_interval most rows carry "seq": null and tell the client nothing.
    if (rows.seqShown()) f.reported = change.seq;
    return !limitReached(f);
  });
  if (!descending) f.pos = Math.max(f.pos, progress.last);
  return { bytes: sink.len > 0 ? sink.take() : null, read, last: progress.last };
}

/**
 * readPage for a JavaScript filter: the page's changes are summarized during the scan, then
 * filtered in one sandbox call (FilteredPage), and the passing rows framed in change order. The
 * position ends where the row-by-row read would have stopped: at the row that reached `limit`,
 * else past every change read.
 */
function readFilteredPage(f: Feed, rows: RowBuilder, o: ConstructorParameters<typeof FilteredPage>[1], descending: boolean, upper: number): { bytes: Buffer | null; read: number; last: number } {
  const page = new FilteredPage(f.db, o);
  const progress = { last: descending ? upper : f.pos };
  let pos = f.pos;
  const read = scanChanges(f.db.bucket, { since: descending ? upper : f.pos, limit: PAGE, descending, collection: f.db.collectionId, progress }, (change) => {
    pos = change.seq;
    page.add(change);
    return true;
  });
  let limited = false;
  for (const { seq, summary } of page.passing()) {
    rows.appendSummary(summary, seq, f.sink, f.framing, f.sent);
    f.sent++;
    if (rows.seqShown()) f.reported = seq;
    if (limitReached(f)) {
      pos = seq;
      limited = true;
      break;
    }
  }
  f.pos = pos;
  if (!descending && !limited) f.pos = Math.max(f.pos, progress.last);
  return { bytes: f.sink.len > 0 ? f.sink.take() : null, read, last: limited ? pos : progress.last };
}

/**
 * Scan forward from `f.pos`, writing each passing row, until caught up or the
 * limit is reached. A page's rows are written together, after the page's read snapshot is
 * released; the next page is read only once the socket took them. Between pages that produced
 * nothing the loop yields to the event loop (a filter may drop millions of changes in a row) and
 * lets `between` write a heartbeat or progress report. Returns true when the client went away.
 */
async function scan(f: Feed, between?: () => Promise<unknown>): Promise<boolean> {
  const bucket = f.db.bucket;
  for (;;) {
    if (limitReached(f) || !f.db.exists) return false;
    const page = readPage(f, false, 0);
    if (page.read < PAGE && !limitReached(f)) {
      // Everything durable was seen; seqs in between belong to superseded versions.
      f.pos = Math.max(f.pos, bucket.persistedBucketSeq);
    }
    if (page.bytes) {
      f.pace.rowsSent(Date.now());
      f.spoke = true;
    }
    await sendPage(f, page.bytes);
    if (f.signal.aborted) return true;
    if (page.read < PAGE || limitReached(f)) return false;
    if (!page.bytes) {
      await yieldToLoop();
      await between?.();
      if (f.signal.aborted) return true;
    }
  }
}

/**
 * Descending scans (normal feed only): newest first, from the newest change down. `since` plays no
 * part, as in CouchDB: fabric_view_changes get_start_seq/2 and couch_changes handle_db_changes/3
 * start a `dir=rev` feed at the database's update_seq whatever `since` says.
 */
async function scanDescending(f: Feed): Promise<boolean> {
  let upper = f.pos;
  for (;;) {
    const page = readPage(f, true, upper);
    upper = page.last;
    await sendPage(f, page.bytes);
    if (f.signal.aborted) return true;
    if (page.read < PAGE || limitReached(f) || upper <= 1) return false;
    if (!page.bytes) await yieldToLoop();
  }
}

/** Queue a page's rows and write them out, waiting for the socket to drain when it is full. */
function begin(f: Feed): void {
  if (f.begin) {
    const start = f.begin;
    f.begin = null;
    start();
  }
}

async function sendPage(f: Feed, bytes: Buffer | null): Promise<void> {
  begin(f);
  const flushed = bytes ? f.out.push(bytes) : undefined;
  // A longpoll keeps its `{"results":[` until it has a row or ends (see jsonFeed).
  if (flushed === undefined && f.q.feed === 'longpoll') return;
  await (flushed ?? f.out.flush());
}

function startResponse(f: Feed, contentType: string, extra: Record<string, string> = {}): void {
  f.res.writeHead(200, baseHeaders({ 'Content-Type': contentType, ...extra }));
  // Headers go out now (a waiting feed may write nothing for a long time), and rows of a live
  // feed should leave at once, not wait for Nagle's algorithm.
  f.res.flushHeaders();
  f.res.socket?.setNoDelay(true);
}

/** `feed=normal` and `feed=longpoll`: one JSON object. */
async function jsonFeed(f: Feed, headers: Record<string, string>): Promise<void> {
  const jsonp = jsonFraming(f.res);
  f.begin = () => {
    startResponse(f, jsonp.type, headers);
    f.out.push(jsonp.open + '{"results":[\n');
  };
  if (f.q.descending) {
    if (await scanDescending(f)) return;
  } else if (await scan(f)) {
    return;
  }
  begin(f);
  // A longpoll with no row yet waits; its `{"results":[` goes out with the first wait's "\n"
  // (firstWait), not before: chttpd's delayed JSON response holds it until then.
  if (f.q.feed === 'longpoll' && !f.q.descending && f.sent === 0 && !limitReached(f)) {
    if (await longpollWait(f)) return;
  }
  const limited = limitReached(f);
  if (f.pending) {
    const pending = limited ? pendingAfter(f.db.bucket, f.pos, f.q.descending, f.db.collectionId) : 0;
    f.out.push(`\n],\n"last_seq":${f.pos},"pending":${pending}}\n`);
  } else {
    f.out.push(`\n],\n"last_seq":${f.pos}}\n`);
  }
  // couch_httpd end_json_response: the JSONP close and its newline follow the object's own.
  if (jsonp.close !== '') f.out.push(jsonp.close + '\n');
  await f.out.flush();
  f.res.end();
}

/**
 * The first time a `_changes` feed waits for updates having said nothing yet, it writes "\n":
 * chttpd_db changes_callback(waiting_for_updates, …) with `chunks_sent = 0` (apache/couchdb#2240,
 * CouchDB 3.0), so that the client gets the headers (and, for a longpoll, `{"results":[\n`) at
 * once rather than at the first change or heartbeat. The "\n" is JSON whitespace in a longpoll's
 * body, a blank line in a continuous feed, and an empty line (no event) in an event stream.
 * `_db_updates` writes nothing there (global_changes_httpd changes_callback(waiting_for_updates)).
 */
async function firstWait(f: Feed): Promise<void> {
  if (f.spoke) return;
  f.spoke = true;
  if (!f.firstWaitNewline) return;
  begin(f);
  f.out.push('\n');
  await f.out.flush();
}

/**
 * A longpoll with nothing to say yet: wait for a passing change, the timeout (counted from the
 * request), or a heartbeat. A heartbeat is JSON whitespace inside `results`, unless the scan moved
 * past changes the filter dropped: then the reply ends now, carrying the advanced `last_seq`.
 * Returns true when the client went away or the database closed.
 */
async function longpollWait(f: Feed): Promise<boolean> {
  await firstWait(f);
  if (f.signal.aborted) return true;
  for (;;) {
    const now = Date.now();
    const moved = f.pos > f.reported;
    const action = f.pace.due(now, f.out.lastWriteAt, moved);
    if (action === 'timeout' || action === 'progress' || (action === 'heartbeat' && moved)) return false;
    if (action === 'heartbeat') {
      f.spoke = true;
      f.out.push('\n');
      await f.out.flush();
      if (f.signal.aborted) return true;
      continue;
    }
    const why = await waitForChange(f.db.bucket, f.pace.waitMs(now, f.out.lastWriteAt, moved), f.signal);
    if (why === 'closed') return true;
    if (why === 'change') {
      if (await scan(f)) return true;
      if (f.sent > 0 || !f.db.exists) return false;
    }
  }
}

/**
 * Between scans of a continuous or eventsource feed: write the heartbeat or progress report that
 * is due (see the header for the shapes). Returns 'timeout' when the feed should end.
 */
async function tend(f: Feed, sse: boolean, now = Date.now()): Promise<'timeout' | null> {
  const moved = f.pos > f.reported;
  const action = f.pace.due(now, f.out.lastWriteAt, moved);
  if (action === null || action === 'timeout') return action;
  f.spoke = true;
  if (moved && (action === 'progress' || sse)) {
    f.out.push(sse ? `event: heartbeat\nid: ${f.pos}\ndata: \n\n` : `{"seq":${f.pos},"id":null,"changes":[]}\n`);
    f.reported = f.pos;
    f.pace.progressSent(now);
  } else {
    f.out.push(sse ? 'event: heartbeat\ndata: \n\n' : '\n');
  }
  await f.out.flush();
  return null;
}

/** `feed=continuous` and `feed=eventsource`: rows as they come, until limit, timeout or disconnect. */
async function streamFeed(f: Feed): Promise<void> {
  const sse = f.q.feed === 'eventsource';
  f.begin = sse ? () => startResponse(f, 'text/event-stream', { 'Cache-Control': 'no-cache' }) : () => startResponse(f, 'application/json');
  const between = (): Promise<unknown> => tend(f, sse);
  for (;;) {
    if (await scan(f, between)) return;
    begin(f);
    if (limitReached(f) || !f.db.exists) break;
    await firstWait(f);
    if ((await tend(f, sse)) === 'timeout') break;
    if (f.signal.aborted) return;
    const now = Date.now();
    const why = await waitForChange(f.db.bucket, f.pace.waitMs(now, f.out.lastWriteAt, f.pos > f.reported), f.signal);
    if (why === 'closed') return;
  }
  if (!sse) f.out.push(f.pending ? `{"last_seq":${f.pos},"pending":${pendingAfter(f.db.bucket, f.pos, false, f.db.collectionId)}}\n` : `{"last_seq":${f.pos}}\n`);
  await f.out.flush();
  f.res.end();
}

const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const COMMA = bytes(',\r\n');
const NL = bytes('\n');
const DATA = bytes('data: ');
const ID = bytes('\nid: ');
const END_EVENT = bytes('\n\n');

/** How each feed mode wraps a row (see the header). */
const FRAMING: Record<ChangesQuery['feed'], RowFraming> = {
  normal: { open: (sink, sent) => sent > 0 && sink.put(COMMA), close: () => undefined },
  longpoll: { open: (sink, sent) => sent > 0 && sink.put(COMMA), close: () => undefined },
  continuous: { open: () => undefined, close: (sink) => sink.put(NL) },
  eventsource: {
    open: (sink) => sink.put(DATA),
    close: (sink, seq, shown) => {
      if (shown) {
        sink.put(ID);
        sink.int(seq);
      }
      sink.put(END_EVENT);
    },
  },
};

/** How a feed other than `_changes` itself differs (`_db_updates`, db-updates.ts). */
export interface FeedOptions {
  /** On a normal or longpoll reply (a normal feed's ETag). */
  headers?: Record<string, string>;
  /** The rows, by default `_changes` rows (RowBuilder). */
  rows?: ChangeRows;
  /** Whether the closing object or line carries `pending` (default true, `_changes`). */
  pending?: boolean;
  /** Whether the first wait for updates writes "\n" (default true, `_changes`; see firstWait). */
  firstWaitNewline?: boolean;
}

/** Serve one `_changes` request whose parameters are already validated. */
export async function runChangesFeed(db: Db, q: ChangesQuery, res: ServerResponse, signal: AbortSignal, opts: FeedOptions = {}): Promise<void> {
  // The feed lists persisted changes only (its seqs must never be reused after a crash); the
  // writes acknowledged before this request are waited for, briefly, so a client reads its writes.
  await db.settled(signal);
  // A descending feed starts from the newest change whatever `since` says (scanDescending).
  const descending = q.descending && (q.feed === 'normal' || q.feed === 'longpoll');
  const since = descending ? 0 : q.since === 'now' ? db.updateSeq : q.since;
  const pace = new FeedPace({ heartbeatMs: q.heartbeatMs, timeoutMs: q.timeoutMs, progressMs: q.progressMs }, Date.now());
  const f: Feed = {
    db, q, res, signal, rows: opts.rows ?? new RowBuilder(db, q), framing: FRAMING[q.feed], pending: opts.pending ?? true, firstWaitNewline: opts.firstWaitNewline ?? true, sink: new ByteSink(), out: new ChunkWriter(res), pace, pos: since, reported: since, sent: 0, spoke: false, begin: null,
  };
  if (q.feed === 'normal' || q.feed === 'longpoll') await jsonFeed(f, opts.headers ?? {});
  else await streamFeed(f);
}
