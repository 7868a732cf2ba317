/**
 * The `_changes` parameters (couch-replication.md §2.2; chttpd_db:parse_changes_query/1), parsed
 * and validated up front so that a bad value is a 400 before any byte of the feed is sent.
 *
 * Seqs are the engine's bucket sequence numbers. `since` takes a number, `now`, a JSON string of a
 * number, or a CouchDB 2-style `"N-opaque"` (whose N is used), so checkpoints written by clients
 * that quote seqs still resume. `Last-Event-ID` (header, `feed=eventsource` only) and the
 * `last-event-id` parameter override `since`. `heartbeat` keeps a feed open indefinitely and
 * overrides `timeout`; without either, the default timeout applies. That default, `[chttpd]
 * changes_timeout` (else the face's `changesTimeoutMs`, 60 s), also caps both: a longer `timeout`
 * or `heartbeat` is cut to it, as couch_changes:get_changes_timeout/2 takes
 * `lists:min([DefaultTimeout, Timeout])` (and the same of `Heartbeat`), so a longpoll asked for
 * `timeout=300000` answers after 60 s on CouchDB too.
 *
 * `heartbeat_seq` is a Freshet extension (CouchDB ignores unknown parameters, so clients may send
 * it to either server): `true` (every heartbeat, or 60 s without one) or a number of ms asks a
 * live feed to report the position it scanned through while a filter drops every change; see
 * changes-pace.ts and changes-feed.ts for the wire shapes.
 */
import { CouchError } from '../couch/errors.js';
import { compileSelector } from '../couch/selector.js';
import type { ParsedChangesFilter } from '../couchdb/change-summary.js';
import type { DocPredicate } from '../design/filters.js';
import { qBool, qInt, qJson, type RequestCtx } from './request.js';

export type FeedMode = 'normal' | 'longpoll' | 'continuous' | 'eventsource';

export type { ParsedChangesFilter };

export interface ChangesQuery {
  feed: FeedMode;
  since: number | 'now';
  limit: number | undefined;
  descending: boolean;
  /** Heartbeat interval, or null for none. */
  heartbeatMs: number | null;
  /** Close a live feed after this long without a row (ignored when heartbeatMs is set). */
  timeoutMs: number;
  /** `heartbeat_seq`: report scan progress at most this often, or null for never. */
  progressMs: number | null;
  includeDocs: boolean;
  conflicts: boolean;
  attachments: boolean;
  encodingInfo: boolean;
  allDocs: boolean;
  activeOnly: boolean;
  seqInterval: number | null;
  filter: ParsedChangesFilter | null;
}

const FEEDS: Record<string, FeedMode> = {
  normal: 'normal',
  longpoll: 'longpoll',
  continuous: 'continuous',
  live: 'continuous',
  eventsource: 'eventsource',
};

export const DEFAULT_HEARTBEAT_MS = 60_000;

function badRequest(reason: string): CouchError {
  return new CouchError('bad_request', { reason });
}

/** Parse a seq as clients send it back (see header). */
export function parseSeq(raw: string): number | 'now' {
  let text = raw.trim();
  if (text === 'now') return 'now';
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
  const m = /^(\d+)(?:-.*)?$/.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw badRequest("Malformed sequence supplied in 'since' parameter.");
  return Number(m[1]);
}

function parseHeartbeat(raw: string | null, maxMs: number): number | null {
  if (raw === null) return null;
  if (raw === 'true') return maxMs;
  // chttpd_db parse_changes_query: an integer that is not positive, or no integer at all
  // ("false" included: only "true" is a word it takes).
  if (!/^[+-]?\d+$/.test(raw)) throw badRequest('Invalid heartbeat value. Expecting a positive integer value (in milliseconds).');
  const n = Number(raw);
  if (n <= 0 || !Number.isSafeInteger(n)) throw badRequest('The heartbeat value should be a positive integer (in milliseconds).');
  return Math.min(n, maxMs);
}

function parseHeartbeatSeq(raw: string | null, heartbeatMs: number | null): number | null {
  if (raw === null || raw === 'false') return null;
  if (raw === 'true') return heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n <= 0 || !Number.isSafeInteger(n)) {
    throw badRequest('Invalid heartbeat_seq value. Expecting `true`, `false` or a positive integer (ms).');
  }
  return n;
}

function parseTimeout(raw: string | null, dflt: number): number {
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw badRequest('Invalid timeout value. Expecting a non-negative integer.');
  return Math.min(n, dflt);
}

/**
 * CouchDB's DefaultTimeout: chttpd_util:get_chttpd_config_integer("changes_timeout", 60000), a
 * `[chttpd]` key read from `[httpd]` when unset; a value that is no integer counts as unset.
 */
export function changesTimeoutMs(rc: RequestCtx): number {
  const raw = rc.face.access.config.chttpd('changes_timeout')?.trim();
  const n = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : rc.face.options.changesTimeoutMs;
}

function docIdsFilter(value: unknown): ParsedChangesFilter {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new CouchError('doc_ids_not_list');
  return { kind: 'doc_ids', ids: new Set(value as string[]) };
}

/**
 * The query string as chttpd_db:parse_changes_query/1 reads it: names lower-cased
 * (`string:to_lower(Key)`, so `?Feed=longpoll` is a longpoll) and, of a name given twice, the last
 * value (a fold over the pairs in order). A filter's own parameters are read from the request's.
 */
function changesParams(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [name, value] of query) out.set(name.toLowerCase(), value);
  return out;
}

/**
 * The filter named by `filter=`: `_doc_ids` (ids from the POST body or the `doc_ids` parameter),
 * `_selector` (POST body), `_design`, or a JavaScript filter (`ddoc/name`, `_view`) that the
 * caller compiled already (src/design/filters.ts, which gives CouchDB's 400/404 errors).
 */
function parseFilter(name: string | null, body: Record<string, unknown> | undefined, q: URLSearchParams, js: DocPredicate | null): ParsedChangesFilter | null {
  if (name === null || name === '') return null;
  if (js) return { kind: 'custom', matchMany: js };
  if (name === '_doc_ids') return docIdsFilter(body?.doc_ids ?? qJson(q, 'doc_ids'));
  if (name === '_selector') {
    // couch_changes get_selector_and_fields/1: a GET, or a POST without a body, is "must be
    // specified"; a JSON body without `selector` fails check_selector(undefined) as not an object.
    if (!body) throw new CouchError('selector_missing');
    if (!('selector' in body)) throw new CouchError('selector_not_object');
    return { kind: 'selector', match: compileSelector(body.selector) };
  }
  if (name === '_design') return { kind: 'design' };
  // couch_changes configure_filter/4: any other name starting with `_` is no built-in.
  if (name.startsWith('_')) throw badRequest('unknown builtin filter name');
  // A name of slashes only is no filter at all there (string:tokens gives [], `{default, Style}`).
  if (/^\/+$/.test(name)) return null;
  throw badRequest('`filter` must be of the form `designname/filtername`');
}

/** `seq_interval`: a positive integer, else chttpd_db parse_changes_query's `invalid_seq_interval`. */
function parseSeqInterval(raw: string | null): number | null {
  if (raw === null) return null;
  const n = Number(raw);
  if (!/^[+-]?\d+$/.test(raw) || n <= 0 || !Number.isSafeInteger(n)) throw badRequest('invalid_seq_interval');
  return n;
}

export function parseChangesQuery(
  rc: RequestCtx,
  body: Record<string, unknown> | undefined,
  js: DocPredicate | null,
): ChangesQuery {
  const q = changesParams(rc.query);
  const feedRaw = q.get('feed') ?? 'normal';
  const feed = FEEDS[feedRaw];
  if (!feed) throw badRequest('Supported `feed` types: normal, continuous, live, longpoll, eventsource');
  let sinceRaw = q.get('since') ?? '0';
  const lastEventId = (feed === 'eventsource' ? rc.req.headers['last-event-id'] : undefined) ?? q.get('last-event-id');
  if (typeof lastEventId === 'string' && lastEventId.length > 0) sinceRaw = lastEventId;
  const style = q.get('style') ?? 'main_only';
  if (style !== 'main_only' && style !== 'all_docs') throw badRequest('Invalid `style` parameter: use main_only or all_docs');
  const seqInterval = parseSeqInterval(q.get('seq_interval'));
  const maxMs = changesTimeoutMs(rc);
  const heartbeatMs = parseHeartbeat(q.get('heartbeat'), maxMs);
  return {
    feed,
    since: parseSeq(sinceRaw),
    limit: qInt(q, 'limit'),
    descending: qBool(q, 'descending'),
    heartbeatMs,
    timeoutMs: parseTimeout(q.get('timeout'), maxMs),
    progressMs: parseHeartbeatSeq(q.get('heartbeat_seq'), heartbeatMs),
    includeDocs: qBool(q, 'include_docs'),
    conflicts: qBool(q, 'conflicts'),
    attachments: qBool(q, 'attachments'),
    encodingInfo: qBool(q, 'att_encoding_info'),
    allDocs: style === 'all_docs',
    activeOnly: qBool(q, 'active_only'),
    seqInterval,
    filter: parseFilter(q.get('filter'), body, rc.query, js),
  };
}
