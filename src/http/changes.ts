/**
 * `GET|POST /{db}/_changes` (couch-replication.md §2.1): parameters in the query; the POST body
 * carries `{"doc_ids":[…]}` for `filter=_doc_ids` or `{"selector":{…}}` for `filter=_selector`
 * (JSON when present; the request's Content-Type must say JSON in any case); `filter=ddoc/name` and `filter=_view` run JavaScript
 * (src/design/filters.ts) with the request as `req`. The feed itself is changes-feed.ts.
 *
 * A `feed=normal` reply carries an ETag, and a request naming it in `If-None-Match` gets 304
 * without a scan (chttpd_db:handle_changes_req1: `chttpd:make_etag({Info, Suffix})` over the
 * database info, then `chttpd:etag_respond`). As in CouchDB the tag hashes the database's info
 * only, not the request's parameters: it says whether the database changed.
 */
import { createHash } from 'node:crypto';
import { parseChangesQuery } from './changes-query.js';
import { runChangesFeed } from './changes-feed.js';
import { javascriptFilter } from '../design/filters.js';
import { filterRequest } from './design.js';
import { resolveDb } from './keyspace.js';
import { isObject, jsonDepthLimit, parseJson, readJsonBytes, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { CouchError } from '../couch/errors.js';
import { purgeSeq } from '../couchdb/purge.js';
import { notModified } from './response.js';
import type { Db } from '../couchdb/db.js';

/**
 * A normal feed's ETag. chttpd_db hashes the whole database info; what of it can change the feed
 * is the database, its update_seq and its purge_seq, so those are hashed (the document counts
 * behind the info would cost a scan of the bucket per request once it was written to).
 */
export async function normalFeedEtag(db: Db): Promise<string> {
  await db.settled(); // a write acknowledged from memory before the request moves the tag (db.ts)
  return `"${createHash('md5').update(`${db.name}\n${db.updateSeq}\n${purgeSeq(db)}`).digest('hex')}"`;
}

async function changes(rc: RequestCtx, body: Record<string, unknown> | undefined, bodyText?: string): Promise<void> {
  const db = resolveDb(rc);
  // A JavaScript filter is looked up and compiled before the feed starts (400/404 first).
  const name = rc.query.get('filter');
  const js = name ? await javascriptFilter(rc.face.design, db, name, rc.query.get('view'), filterRequest(rc, db, bodyText)) : null;
  const q = parseChangesQuery(rc, body, js);
  const etag = q.feed === 'normal' ? await normalFeedEtag(db) : undefined;
  if (etag !== undefined && notModified(rc.res, etag)) return;
  const release = rc.face.trackFeed(rc.signal, q.feed);
  try {
    await runChangesFeed(db, q, rc.res, rc.signal, etag === undefined ? {} : { headers: { ETag: etag } });
  } finally {
    release();
  }
}

const getChanges: Handler = (rc) => changes(rc, undefined);

const postChanges: Handler = async (rc) => {
  // chttpd_db:handle_changes_req/2 validates the Content-Type before it looks at the body, so an
  // empty POST without `application/json` is 415 too.
  requireJsonType(rc.req);
  const raw = await readJsonBytes(rc);
  let body: Record<string, unknown> | undefined;
  if (raw.length > 0) {
    const parsed = parseJson(raw, jsonDepthLimit(rc));
    if (!isObject(parsed)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
    body = parsed;
  }
  await changes(rc, body, raw.toString('utf8'));
};

export const changesHandlers = { GET: getChanges, POST: postChanges };
