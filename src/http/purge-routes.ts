/**
 * `POST /{db}/_purge` and `GET|PUT /{db}/_purged_infos_limit` (CouchDB 3.x chttpd_db db_req/2;
 * api/database/misc.rst). What a purge does: src/couchdb/purge.ts.
 *
 * Both are for server admins only, whatever the database's security object says: CouchDB 2.3.1
 * restricted them so (apache/couchdb#1877, "restrict _purge to server admin"), with
 * `couch_httpd:verify_is_server_admin`, whose refusal is 401 `unauthorized` "You are not a server
 * admin." for anyone else, db admins and members included (chttpd_security_tests). The check
 * comes first, as chttpd's authorization runs before the handler opens the database.
 *
 * The body maps document ids to lists of revisions; a rev that does not parse is 400 "Invalid
 * rev format", a value that is no list 400 "Invalid list of revisions" (couch_doc:parse_revs).
 * `[purge] max_document_id_number` (default 100) and `max_revisions_number` (default 1000, the
 * revs of all ids together) bound a request: 400 "Exceeded maximum number of documents." /
 * "...revisions.". The answer is 201 `{"purge_seq": null, "purged": {id: [revs purged]}}`, every
 * id of the request present (`[]` when nothing of it was purged); clustered CouchDB answers
 * `purge_seq` null since it became an opaque per-shard value.
 */
import { validatePartitionedDocId } from '../couchdb/partition.js';
import { forgetPartitions } from '../couchdb/partition-size.js';
import { CouchError } from '../couch/errors.js';
import { parseRevs } from '../couch/rev.js';
import { purgeDocs, purgedInfosLimit, setPurgedInfosLimit } from '../couchdb/purge.js';
import { requireAdmin } from './auth.js';
import { resolveDb } from './keyspace.js';
import { jsonDepthLimit, parseJson, readJsonBytes, readJsonObject, type Handler } from './request.js';
import { sendJson } from './response.js';

const purge: Handler = async (rc) => {
  requireAdmin(rc);
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  const reqs = Object.entries(body).map(([id, revs]) => ({ id, revs: parseRevs(revs) }));
  // A partitioned database purges `partition:id` documents only (couch_db:validate_docid/2).
  if (db.partitioned) for (const { id } of reqs) validatePartitionedDocId(id);
  const config = rc.face.access.config;
  if (reqs.length > config.int('purge', 'max_document_id_number', 100)) {
    throw new CouchError('bad_request', { reason: 'Exceeded maximum number of documents.' });
  }
  const revCount = reqs.reduce((n, r) => n + r.revs.length, 0);
  if (revCount > config.int('purge', 'max_revisions_number', 1000)) {
    throw new CouchError('bad_request', { reason: 'Exceeded maximum number of revisions.' });
  }
  const results = await purgeDocs(db, reqs);
  if (db.partitioned) forgetPartitions(db); // the sizes kept for max_partition_size are counted again
  const purged = Object.fromEntries(reqs.map((r, i) => [r.id, results[i]!]));
  sendJson(rc.res, 201, { purge_seq: null, purged });
};

const getPurgedInfosLimit: Handler = async (rc) => {
  requireAdmin(rc);
  sendJson(rc.res, 200, purgedInfosLimit(resolveDb(rc)));
};

const putPurgedInfosLimit: Handler = async (rc) => {
  requireAdmin(rc);
  const db = resolveDb(rc);
  const value = parseJson(await readJsonBytes(rc, 1024), jsonDepthLimit(rc));
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    // CouchDB 3.3's text (later releases say `purged_infos_limit`).
    throw new CouchError('bad_request', { reason: '`purge_infos_limit` must be positive integer' });
  }
  await setPurgedInfosLimit(db, value);
  sendJson(rc.res, 200, { ok: true });
};

export const purgeHandlers = { POST: purge };
export const purgedInfosLimitHandlers = { GET: getPurgedInfosLimit, PUT: putPurgedInfosLimit };
