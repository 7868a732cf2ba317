/**
 * The `_changes` feed modes, byte for byte as couch-replication.md §2.4–§2.6 give them:
 *
 *   normal      {"results":[\n<row>,\r\n<row>\n],\n"last_seq":S,"pending":P}\n
 *   longpoll    the same; waits for the first passing change when there is none yet
 *   continuous  one row per line, "\n" heartbeats, a final {"last_seq":S,"pending":P}\n line
 *   eventsource "data: <row>\nid: <seq>\n\n", heartbeats "event: heartbeat\ndata: \n\n", no end line
 *
 * The feed pulls pages of the engine's bucket-wide change order (Bucket.readChanges) and, when
 * caught up, waits for the bucket's next durable change (feed-io.ts waitForChange). That wait,
 * racing a timer and the request's abort signal, is the feed's only resource: a client that
 * disconnects aborts it at once, and nothing stays registered in the bucket.
 *
 * `last_seq` is the position scanned, not the last row's seq, so filtered feeds advance over
 * changes they drop. On a silent filtered feed that is still making progress, the periodic
 * heartbeat reports it too: a longpoll then answers with no rows and the advanced `last_seq`
 * (PouchDB checkpoints it and polls again); an eventsource heartbeat carries an `id:` line, which
 * moves the browser's Last-Event-ID. Continuous feeds report progress on their final line only:
 * a `last_seq` line in the middle of the stream would end the feed for CouchDB's replicator.
 */
import type { ServerResponse } from 'node:http';
import { u64Key } from '../store/keys.js';
import { scanChanges } from './change-scan.js';
import type { ChangesQuery } from './changes-query.js';
import { RowBuilder } from './changes-rows.js';
import type { Db } from './db.js';
import { ChunkWriter, waitForChange } from './feed-io.js';
import { baseHeaders } from './response.js';

/** Changes read from the engine per page. */
const PAGE = 1000;

interface Feed {
  db: Db;
  q: ChangesQuery;
  res: ServerResponse;
  signal: AbortSignal;
  rows: RowBuilder;
  out: ChunkWriter;
  /** The last bucket seq scanned. */
  pos: number;
  /** Rows written so far. */
  sent: number;
}

function limitReached(f: Feed): boolean {
  return f.q.limit !== undefined && f.sent >= f.q.limit;
}

/** Rows in the index after (or, descending, before) `seq`: the `pending` count. */
function pendingAfter(db: Db, seq: number, descending: boolean): number {
  const changes = db.bucket.dbs.changes;
  return descending ? changes.getKeysCount({ end: u64Key(seq) }) : changes.getKeysCount({ start: u64Key(seq + 1) });
}

/**
 * Visit one page of changes from `f.pos` (ascending, or descending from `upper`), building the
 * passing rows; returns the page's rows as text and how many changes the index gave.
 */
function readPage(f: Feed, emit: (row: string, seq: number) => string, descending: boolean, upper: number): { text: string; read: number; last: number } {
  const out: string[] = [];
  let last = descending ? upper : f.pos;
  const read = scanChanges(f.db.bucket, { since: descending ? upper : f.pos, limit: PAGE, descending }, (change) => {
    last = change.seq;
    f.pos = change.seq;
    const row = f.rows.build(change);
    if (row === null) return true;
    f.sent++;
    out.push(emit(row, change.seq));
    return !limitReached(f);
  });
  return { text: out.join(''), read, last };
}

/**
 * Scan forward from `f.pos`, writing each passing row through `emit`, until caught up or the
 * limit is reached. A page's rows are written together, after the page's read snapshot is
 * released; the next page is read only once the socket took them. Returns true when the client
 * went away.
 */
async function scan(f: Feed, emit: (row: string, seq: number) => string): Promise<boolean> {
  const bucket = f.db.bucket;
  for (;;) {
    if (limitReached(f) || bucket.isClosed) return false;
    const page = readPage(f, emit, false, 0);
    if (page.read < PAGE && !limitReached(f)) {
      // Everything durable was seen; seqs in between belong to superseded versions.
      f.pos = Math.max(f.pos, bucket.persistedBucketSeq);
    }
    await sendPage(f, page.text);
    if (f.signal.aborted) return true;
    if (page.read < PAGE || limitReached(f)) return false;
  }
}

/** Descending scans (normal feed only): newest first, from `since` (0 = the newest) down. */
async function scanDescending(f: Feed, emit: (row: string, seq: number) => string): Promise<boolean> {
  let upper = f.pos;
  for (;;) {
    const page = readPage(f, emit, true, upper);
    upper = page.last;
    await sendPage(f, page.text);
    if (f.signal.aborted) return true;
    if (page.read < PAGE || limitReached(f) || upper <= 1) return false;
  }
}

/** Queue a page's text and write it out, waiting for the socket to drain when it is full. */
async function sendPage(f: Feed, text: string): Promise<void> {
  const flushed = text.length > 0 ? f.out.push(text) : undefined;
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
async function jsonFeed(f: Feed): Promise<void> {
  const start = f.pos;
  startResponse(f, 'application/json');
  f.out.push('{"results":[\n');
  const emit = (row: string): string => (f.sent === 1 ? row : ',\r\n' + row);
  if (f.q.descending) {
    if (await scanDescending(f, emit)) return;
  } else if (await scan(f, emit)) {
    return;
  }
  if (f.q.feed === 'longpoll' && !f.q.descending && f.sent === 0 && !limitReached(f)) {
    await f.out.flush();
    for (;;) {
      const waitMs = f.q.heartbeatMs !== null ? f.q.heartbeatMs - (Date.now() - f.out.lastWriteAt) : f.q.timeoutMs;
      const why = await waitForChange(f.db.bucket, waitMs, f.signal);
      if (why === 'closed') return;
      if (why === 'change') {
        if (await scan(f, emit)) return;
        if (f.sent > 0 || f.db.bucket.isClosed) break;
        continue;
      }
      if (f.q.heartbeatMs === null) break; // timeout
      if (f.q.filter !== null && f.pos > start) break; // report filtered progress
      f.out.push('\n');
      await f.out.flush();
      if (f.signal.aborted) return;
    }
  }
  const limited = limitReached(f);
  const pending = limited ? pendingAfter(f.db, f.pos, f.q.descending) : 0;
  f.out.push(`\n],\n"last_seq":${f.pos},"pending":${pending}}\n`);
  await f.out.flush();
  f.res.end();
}

/** `feed=continuous` and `feed=eventsource`: rows as they come, until limit, timeout or disconnect. */
async function streamFeed(f: Feed): Promise<void> {
  const sse = f.q.feed === 'eventsource';
  if (sse) startResponse(f, 'text/event-stream', { 'Cache-Control': 'no-cache' });
  else startResponse(f, 'application/json');
  let idSent = f.pos;
  const emit = (row: string, seq: number): string => {
    if (!sse) return row + '\n';
    if (!f.rows.seqShown()) return `data: ${row}\n\n`;
    idSent = seq;
    return `data: ${row}\nid: ${seq}\n\n`;
  };
  let lastRowAt = Date.now();
  for (;;) {
    const before = f.sent;
    if (await scan(f, emit)) return;
    if (f.sent > before) lastRowAt = Date.now();
    if (limitReached(f) || f.db.bucket.isClosed) break;
    const waitMs = f.q.heartbeatMs !== null
      ? f.q.heartbeatMs - (Date.now() - f.out.lastWriteAt)
      : f.q.timeoutMs - (Date.now() - lastRowAt);
    const why = await waitForChange(f.db.bucket, waitMs, f.signal);
    if (why === 'closed') return;
    if (why === 'change') continue;
    if (f.q.heartbeatMs === null) break; // timeout
    if (sse) {
      const progress = f.pos > idSent ? `id: ${f.pos}\n` : '';
      if (progress) idSent = f.pos;
      f.out.push(`event: heartbeat\n${progress}data: \n\n`);
    } else {
      f.out.push('\n');
    }
    await f.out.flush();
    if (f.signal.aborted) return;
  }
  if (!sse) f.out.push(`{"last_seq":${f.pos},"pending":${pendingAfter(f.db, f.pos, false)}}\n`);
  await f.out.flush();
  f.res.end();
}

/** Serve one `_changes` request whose parameters are already validated. */
export async function runChangesFeed(db: Db, q: ChangesQuery, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const since = q.since === 'now' ? db.updateSeq : q.since;
  const f: Feed = { db, q, res, signal, rows: new RowBuilder(db, q), out: new ChunkWriter(res), pos: since, sent: 0 };
  if (q.feed === 'normal' || q.feed === 'longpoll') await jsonFeed(f);
  else await streamFeed(f);
}
