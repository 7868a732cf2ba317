/**
 * Database endpoints (CouchDB api/database/common.rst, misc.rst; couch-replication.md §3.11):
 * `PUT|GET|HEAD|DELETE /{db}` (and `POST /{db}`, a new document, doc-routes.ts), `_ensure_full_commit`, `_revs_limit`, `_compact`, `_security` (db-access.ts: who may set it).
 * `{db}` may be a `bucket.scope.collection` keyspace (keyspace.ts): its info counts that
 * collection only; `update_seq` is the bucket-wide sequence its `_changes` feed uses.
 *
 * `PUT /{db}?q=N` creates a bucket of N vbuckets (CouchDB's shard count parameter, reused: the
 * vbuckets are our shards); without `q` the face's `defaultQ` (1024) applies. `?partitioned=true`
 * makes a partitioned database (couchdb/partition.ts). `GET /{db}` always
 * carries `update_seq` and `instance_start_time: "0"`, which the CouchDB replicator requires.
 */
import { CouchError } from '../couch/errors.js';
import { isEngineError } from '../engine/errors.js';
import { requireAdmin } from './auth.js';
import { dbSecurity } from './db-access.js';
import { isUsersDb, USERS_DB } from '../couchdb/users-db.js';
import { ensureAuthDesignDoc } from '../couchdb/users-auth-ddoc.js';
import { parseSecurityObject, setSecurityObject } from '../couchdb/security.js';
import { AUX_NAMESPACES } from '../couchdb/db.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { purgeSeq } from '../couchdb/purge.js';
import { postDoc } from './doc-routes.js';
import { requireDbAdminOf, resolveDb } from './keyspace.js';
import { bucketNameOf, defaultKeyspaceBucket, keyspaceName, lookupKeyspace } from '../couchdb/keyspace.js';
import { validateNewDbName } from '../couchdb/db-names.js';
import { parsePartitionedOpt } from '../couchdb/partition.js';
import { jsonDepthLimit, parseJson, readJsonBytes, qInt, readJson, requireJsonType, type Handler } from './request.js';
import { sendJson } from './response.js';
import { compactHistory, compactionRunning, trackCompaction } from '../couchdb/rev-history.js';
import type { RouteTable } from '../web/route-table.js';
import type { Db, DbCounts } from '../couchdb/db.js';
import type { HttpFace } from './face.js';

/**
 * `PUT /{db}` creates a bucket. A keyspace that exists answers 412 `file_exists`, as an existing
 * database does; a missing collection of an existing bucket is 404 (collections are created with
 * the management API, as Sync Gateway never creates them either). `b._default._default` and
 * `b._default` of a missing bucket create `b`.
 */
const createDb: Handler = async (rc) => {
  requireAdmin(rc);
  const q = qInt(rc.query, 'q', { min: 1 }) ?? rc.face.options.defaultQ;
  const name = await createDatabase(rc.face, rc.params.db!, { q, partitioned: rc.query.get('partitioned') });
  sendJson(rc.res, 201, { ok: true }, { Location: `/${encodeURIComponent(name)}` });
};

/**
 * Create database `segment` (a name, or `b._default[._default]` of a missing bucket): `q`
 * vbuckets, partitioned when `partitioned` is "true" (couchdb/partition.ts). Also what
 * `/_cluster_setup` creates the system databases with. The database's name, or 412 `file_exists`.
 */
export async function createDatabase(face: HttpFace, segment: string, opts: { q: number; partitioned: string | null }): Promise<string> {
  const engine = face.ctx.engine;
  const found = lookupKeyspace(engine, segment);
  if (found.kind === 'ok') throw new CouchError('file_exists');
  if (found.kind === 'no_keyspace') throw new CouchError('not_found_detail', { params: { detail: `${found.reason}; create collections with the management API` } });
  const name = defaultKeyspaceBucket(segment) ?? segment;
  if (engine.bucket(bucketNameOf(name))) throw new CouchError('file_exists');
  validateNewDbName(name);
  const partitioned = parsePartitionedOpt(opts.partitioned, name);
  if (opts.q > 1024) throw new CouchError('bad_request', { reason: 'q must be at most 1024' });
  let bucket;
  try {
    bucket = await engine.createBucket(bucketNameOf(name), { numVBuckets: opts.q });
  } catch (err) {
    if (isEngineError(err, 'KEY_EEXISTS')) throw new CouchError('file_exists');
    throw err;
  }
  if (partitioned) await face.db(bucket).markPartitioned();
  // The authentication database gets CouchDB's `_design/_auth` (chttpd_auth_cache).
  // The database exists now whatever happens to it: a failure is logged (the next start retries).
  if (name === USERS_DB) {
    await ensureAuthDesignDoc(face.db(bucket)).catch((err: unknown) => face.ctx.logger.warn({ err }, 'could not write _users/_design/_auth'));
  }
  return name;
}

const dbInfo: Handler = async (rc) => {
  sendJson(rc.res, 200, await dbInfoOf(resolveDb(rc)));
};

/**
 * couch_db:get_size_info: `file` is the LMDB pages of the bucket's document indexes plus the
 * database's revision history (LMDB reuses freed pages, so there is no garbage to compact away);
 * `active` the bytes of the database's current records, tombstones included, plus its history
 * (interior revisions' bodies, live data until compaction drops them, as in CouchDB); and
 * `external` its live documents' bodies.
 */
function sizesOf(db: Db, counts: DbCounts): { file: number; external: number; active: number } {
  const history = db.history.bytes();
  const active = counts.activeBytes + history;
  return { file: Math.max(db.bucket.diskBytes() + history, active), external: counts.externalBytes, active };
}

/** `GET /{db}`'s body; also each row of `/_dbs_info` (server-routes.ts). */
export async function dbInfoOf(db: Db): Promise<Record<string, unknown>> {
  await db.settled();
  const counts = db.counts();
  return {
    db_name: db.name,
    // A number, as `update_seq` is here; clustered CouchDB packs both per shard (fabric_db_info).
    purge_seq: purgeSeq(db),
    update_seq: db.updateSeq,
    sizes: sizesOf(db, counts),
    props: db.partitioned ? { partitioned: true } : {},
    doc_del_count: counts.delCount,
    doc_count: counts.docCount,
    disk_format_version: 8,
    compact_running: compactionRunning(db.bucket),
    cluster: { q: db.bucket.numVBuckets, n: 1, w: 1, r: 1 },
    instance_start_time: '0',
  };
}

const deleteDb: Handler = async (rc) => {
  if (rc.query.has('rev')) {
    throw new CouchError('bad_request', {
      // chttpd_db's text, its "?=rev" included: clients and CouchDB's own tests match it.
      reason: 'You tried to DELETE a database with a ?=rev parameter. Did you mean to DELETE a document instead?',
    });
  }
  requireAdmin(rc);
  const db = resolveDb(rc);
  // Deleting a keyspace would drop a collection: that is the management API's (as in Sync Gateway).
  if (db.collectionId !== 0 || (rc.params.db !== db.name && rc.params.db !== db.bucket.name)) {
    throw new CouchError('bad_request', { reason: `${rc.params.db} is a keyspace of bucket ${db.bucket.name}: drop collections with the management API, delete the bucket as /${encodeURIComponent(keyspaceName(db.bucket, 0))}` });
  }
  await rc.face.ctx.engine.deleteBucket(db.bucket.name, AUX_NAMESPACES);
  rc.face.forgetDb(db.bucket.name);
  sendJson(rc.res, 200, { ok: true });
};

/** Writes are durable when acknowledged (the engine syncs each batch), so this only reports. */
const ensureFullCommit: Handler = async (rc) => {
  resolveDb(rc);
  sendJson(rc.res, 201, { ok: true, instance_start_time: '0' });
};

const getRevsLimit: Handler = async (rc) => {
  sendJson(rc.res, 200, resolveDb(rc).revsLimit);
};

const putRevsLimit: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireDbAdminOf(rc, db);
  const value = parseJson(await readJsonBytes(rc, 1024), jsonDepthLimit(rc));
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CouchError('bad_request', { reason: 'Invalid value for _revs_limit' });
  }
  await db.setRevsLimit(value);
  sendJson(rc.res, 200, { ok: true });
};

/**
 * Compaction runs in the background; CouchDB answers 202 at once and `GET /{db}` shows
 * `compact_running` until it ends (PouchDB's `compact()` polls it). It purges old tombstones and
 * drops the bodies of interior revisions (couchdb/rev-history.ts) of the whole bucket: the engine
 * compacts buckets, not collections.
 */
const compact: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireAdmin(rc);
  requireJsonType(rc.req);
  const { engine, logger } = rc.face.ctx;
  trackCompaction(db.bucket, engine.compact(db.bucket.name).then(() => compactHistory(db.bucket)))
    .catch((err: unknown) => logger.warn({ err }, 'compaction failed'));
  sendJson(rc.res, 202, { ok: true });
};

/**
 * `POST /{db}/_compact/{ddoc}`: a design document's view indexes live in LMDB, whose pages are
 * reused as rows change, so there is nothing to rewrite; answered 202 as CouchDB answers once the
 * design document is known (404 when it is not).
 */
const compactViews: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireAdmin(rc);
  requireJsonType(rc.req);
  const state = loadDoc(db, `_design/${rc.params.ddoc ?? ''}`, db.revsLimit);
  if (!state || state.winner.deleted) throw new CouchError('not_found');
  sendJson(rc.res, 202, { ok: true });
};

/** The database's security object (couchdb/security.ts): the stored one, or the default. */
const getSecurity: Handler = async (rc) => {
  sendJson(rc.res, 200, dbSecurity(rc.face.access, resolveDb(rc)));
};

/** Db admins set the security object (couch_db:set_security/2 checks is_admin). */
const putSecurity: Handler = async (rc) => {
  const db = resolveDb(rc);
  requireDbAdminOf(rc, db);
  // chttpd_db validate_security_can_be_edited: the users database keeps its security object
  // unless `[couchdb] users_db_security_editable` says otherwise.
  if (isUsersDb(db) && rc.face.access.config.get('couchdb', 'users_db_security_editable') !== 'true') {
    throw new CouchError('forbidden', { params: { detail: "You can't edit the security object of the user database." } });
  }
  const sec = parseSecurityObject(await readJson(rc, { requireType: false }));
  await setSecurityObject(db, sec);
  sendJson(rc.res, 200, { ok: true });
};

export function dbRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/:db', { PUT: createDb, GET: dbInfo, DELETE: deleteDb, POST: postDoc })
    .add('/:db/_ensure_full_commit', { POST: ensureFullCommit })
    .add('/:db/_revs_limit', { GET: getRevsLimit, PUT: putRevsLimit })
    .add('/:db/_compact', { POST: compact })
    .add('/:db/_compact/:ddoc', { POST: compactViews })
    .add('/:db/_security', { GET: getSecurity, PUT: putSecurity });
}
