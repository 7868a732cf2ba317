/**
 * `GET|POST /{db}/_changes` (couch-replication.md §2.1): parameters in the query; the POST body
 * carries `{"doc_ids":[…]}` for `filter=_doc_ids` or `{"selector":{…}}` for `filter=_selector`
 * and must be JSON when present. The feed itself is changes-feed.ts.
 */
import { loadDoc } from '../couchdb/doc-store.js';
import { parseChangesQuery } from './changes-query.js';
import { runChangesFeed } from './changes-feed.js';
import type { Db } from '../couchdb/db.js';
import { resolveDb } from './keyspace.js';
import { isObject, jsonDepthLimit, parseJson, readBody, requireJsonType, type Handler, type RequestCtx } from './request.js';
import { CouchError } from '../couch/errors.js';

/** The winning body of a design document, or undefined (for `filter=ddoc/name` checks). */
function designBody(db: Db, id: string): unknown {
  const state = loadDoc(db, id, db.revsLimit);
  if (!state || state.winner.deleted) return undefined;
  return state.revData(state.winner.rev)?.body;
}

async function changes(rc: RequestCtx, body: Record<string, unknown> | undefined): Promise<void> {
  const db = resolveDb(rc);
  const q = parseChangesQuery(rc, body, (id) => designBody(db, id));
  const release = rc.face.trackFeed(rc.signal, q.feed);
  try {
    await runChangesFeed(db, q, rc.res, rc.signal);
  } finally {
    release();
  }
}

const getChanges: Handler = (rc) => changes(rc, undefined);

const postChanges: Handler = async (rc) => {
  const raw = await readBody(rc.req, rc.face.options.maxBodyBytes);
  let body: Record<string, unknown> | undefined;
  if (raw.length > 0) {
    requireJsonType(rc.req);
    const parsed = parseJson(raw, jsonDepthLimit(rc));
    if (!isObject(parsed)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
    body = parsed;
  }
  await changes(rc, body);
};

export const changesHandlers = { GET: getChanges, POST: postChanges };
