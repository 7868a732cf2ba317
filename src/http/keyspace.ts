/**
 * From the first path segment to a database. A database is a bucket; the keyspace form
 * `bucket.scope.collection` (as Couchbase Edge Server and Sync Gateway address collections,
 * couch-replication.md §2.11) is accepted for the default scope and collection only:
 * `db._default._default` and `db._default` both name `db`. An exact bucket name always wins, so
 * buckets whose names contain dots stay reachable.
 */
import { CouchError } from '../couch/errors.js';
import { requireDbAccess } from './auth.js';
import type { Db } from '../couchdb/db.js';
import type { RequestCtx } from './request.js';

const DEFAULT_KEYSPACE_SUFFIXES = ['._default._default', '._default'];

/** The bucket name a path segment addresses (not checked for existence). */
export function bucketNameOf(segment: string, exists: (name: string) => boolean): string {
  if (exists(segment)) return segment;
  for (const suffix of DEFAULT_KEYSPACE_SUFFIXES) {
    if (segment.endsWith(suffix)) return segment.slice(0, -suffix.length);
  }
  return segment;
}

/**
 * The database of the request, after the access check. Missing databases are a 404 only for
 * users who could access them; others get the access error first, so bucket names do not leak.
 */
export function resolveDb(rc: RequestCtx, segment = rc.params.db ?? ''): Db {
  const engine = rc.face.ctx.engine;
  const name = bucketNameOf(segment, (n) => engine.bucket(n) !== undefined);
  const dot = name.indexOf('.');
  requireDbAccess(rc, name);
  const bucket = engine.bucket(name);
  if (!bucket) {
    if (dot >= 0 && engine.bucket(name.slice(0, dot))) throw new CouchError('not_found_detail', { params: { detail: 'keyspace not found' } });
    throw new CouchError('db_not_found');
  }
  return rc.face.db(bucket);
}
