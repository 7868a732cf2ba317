/**
 * `GET /_db_updates` (CouchDB docs api/server/common.rst; global_changes_httpd
 * handle_global_changes_req/1): the `_changes` feed of `_global_changes` (couchdb/global-changes.ts
 * records the events there), served by the `_changes` machinery (changes-feed.ts) with rows
 * `{"db_name","type","seq"}` and a closing `last_seq` without `pending`:
 *
 *   normal, longpoll  {"results":[\n<row>,\r\n<row>\n],\n"last_seq":S}\n   (normal: with an ETag)
 *   continuous        <row>\n ... {"last_seq":S}\n
 *   eventsource       "data: <change>\nid: <seq>\n\n", no end line: as global_changes_httpd's
 *                     eventsource clause sends the change untransformed, the `_changes` row of
 *                     `_global_changes` (`{"seq","id":"created:db","changes":[…]}`) as it is.
 *
 * In CouchDB's order: the query is parsed first (`limit`, `heartbeat`, `timeout` must be
 * non-negative integers, else 400 `invalid_integer`; unknown parameters are ignored), then the
 * caller must be a server admin (401, chttpd:verify_is_server_admin), then `feed` is checked
 * (400), then `_global_changes` must exist (404 "Database does not exist."), then `since`.
 * `timeout` and `heartbeat` are capped at the default changes timeout, as fabric_view_changes
 * get_changes_timeout/2 caps them; `heartbeat=true` is that default.
 */
import { CouchError } from '../couch/errors.js';
import { DbUpdateRows, GLOBAL_CHANGES_DB } from '../couchdb/global-changes.js';
import { requireAdmin } from './auth.js';
import { normalFeedEtag } from './changes.js';
import { runChangesFeed, type FeedOptions } from './changes-feed.js';
import { changesTimeoutMs, parseSeq, type ChangesQuery, type FeedMode } from './changes-query.js';
import { resolveDb } from './keyspace.js';
import { notModified } from './response.js';
import type { Handler, RequestCtx } from './request.js';

const FEEDS: ReadonlySet<string> = new Set(['normal', 'longpoll', 'continuous', 'eventsource']);

interface DbUpdatesParams {
  since: string;
  limit: number | undefined;
  descending: boolean;
  /** `true`, a number of ms, or undefined for none. */
  heartbeat: true | number | undefined;
  timeout: number | undefined;
}

/** global_changes_httpd to_non_neg_int/1 (list_to_integer: an optional sign, then digits). */
function toNonNegInt(raw: string): number {
  const n = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 0)) throw new CouchError('bad_request', { reason: 'invalid_integer' });
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** global_changes_httpd parse_global_changes_query/1: every pair in order, the last of a name winning. */
function parseParams(rc: RequestCtx): DbUpdatesParams {
  const p: DbUpdatesParams = { since: '0', limit: undefined, descending: false, heartbeat: undefined, timeout: undefined };
  for (const [key, value] of rc.query) {
    if (key === 'descending' && value === 'true') p.descending = true;
    else if (key === 'since') p.since = value;
    else if (key === 'limit') p.limit = toNonNegInt(value);
    else if (key === 'heartbeat') p.heartbeat = value === 'true' ? true : value === 'false' ? p.heartbeat : toNonNegInt(value);
    else if (key === 'timeout') p.timeout = toNonNegInt(value);
  }
  return p;
}

function changesQuery(rc: RequestCtx, feed: FeedMode, p: DbUpdatesParams): ChangesQuery {
  const cap = changesTimeoutMs(rc);
  // A heartbeat of 0 would spin: the feed writes one at most every millisecond.
  const heartbeatMs = p.heartbeat === undefined ? null : p.heartbeat === true ? cap : Math.max(1, Math.min(cap, p.heartbeat));
  return {
    feed,
    since: parseSeq(p.since),
    limit: p.limit,
    descending: p.descending,
    heartbeatMs,
    timeoutMs: Math.min(cap, p.timeout ?? cap),
    progressMs: null,
    includeDocs: false,
    conflicts: false,
    attachments: false,
    encodingInfo: false,
    allDocs: false,
    activeOnly: false,
    seqInterval: null,
    filter: null,
  };
}

const dbUpdates: Handler = async (rc) => {
  const feed = rc.query.get('feed') ?? 'normal';
  const params = parseParams(rc);
  requireAdmin(rc);
  if (!FEEDS.has(feed)) throw new CouchError('bad_request', { reason: 'Supported `feed` types: normal, continuous, longpoll, eventsource' });
  const db = resolveDb(rc, GLOBAL_CHANGES_DB);
  const q = changesQuery(rc, feed as FeedMode, params);
  // global_changes_httpd changes_callback(waiting_for_updates) writes nothing (no first "\n").
  const opts: FeedOptions = { pending: false, firstWaitNewline: false };
  if (feed !== 'eventsource') opts.rows = new DbUpdateRows(db);
  if (feed === 'normal') {
    const etag = await normalFeedEtag(db);
    if (notModified(rc.res, etag)) return;
    opts.headers = { ETag: etag };
  }
  const release = rc.face.trackFeed(rc.signal, feed);
  try {
    await runChangesFeed(db, q, rc.res, rc.signal, opts);
  } finally {
    release();
  }
};

export const dbUpdatesHandlers = { GET: dbUpdates };
