/**
 * From the first path segment to a database: a bucket's default collection, or any
 * `bucket.scope.collection` keyspace (the forms and how bucket names with dots are told apart:
 * couchdb/keyspace.ts). Access is checked on the bucket before anything about it is answered, so a
 * user without access learns nothing of its existence or its collections; a bucket without the
 * named scope or collection answers 404 `not_found` with the keyspace in the reason, as Sync
 * Gateway's "keyspace ... not found".
 */
import { CouchError } from '../couch/errors.js';
import { lookupKeyspace } from '../couchdb/keyspace.js';
import { requireDbAccess } from './auth.js';
import type { Db } from '../couchdb/db.js';
import type { RequestCtx } from './request.js';

/** The database of the request, after the access check; 404 when it does not exist. */
export function resolveDb(rc: RequestCtx, segment = rc.params.db ?? ''): Db {
  const found = lookupKeyspace(rc.face.ctx.engine, segment);
  requireDbAccess(rc, found.kind === 'no_bucket' ? found.bucketName : found.bucket.name);
  if (found.kind === 'no_bucket') throw new CouchError('db_not_found');
  if (found.kind === 'no_keyspace') throw new CouchError('not_found_detail', { params: { detail: found.reason } });
  return rc.face.db(found.bucket, found.collectionId);
}
