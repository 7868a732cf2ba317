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
import { accessUser, requireBucketAccess } from './auth.js';
import { dbRights, guardDocWrite, guardUserDocRead, requireDbAdmin, requireRead } from './db-access.js';
import { isUsersDb } from '../couchdb/users-db.js';
import type { ParsedDoc } from '../couch/doc.js';
import type { Db } from '../couchdb/db.js';
import type { RequestCtx } from './request.js';

export interface ResolveOptions {
  /**
   * A `/{db}/{docid}` document request: in `_users`, user documents are open to their own user
   * and to anonymous sign-up without membership (db-access.ts guards them per document).
   */
  userDoc?: boolean;
}

/**
 * The database of the request, after the read access check (the database's security object and
 * the user's Couchbase roles, db-access.ts); 404 when it does not exist. Writes are checked again
 * where they happen (db-access.ts guardDocWrite).
 */
export function resolveDb(rc: RequestCtx, segment = rc.params.db ?? '', opts: ResolveOptions = {}): Db {
  const found = lookupKeyspace(rc.face.ctx.engine, segment);
  if (found.kind === 'ok') {
    const db = rc.face.db(found.bucket, found.collectionId);
    const user = accessUser(rc.user);
    const users = isUsersDb(db);
    const userDoc = opts.userDoc === true && users && rc.params.ddoc === undefined;
    if (userDoc) return db;
    const rights = dbRights(rc.face.access, user, db);
    // The users database lists its documents (and runs its design functions) for admins only,
    // whatever its security object says: only a user's own document is theirs to read (the
    // password hashes are in the others). CouchDB's answers: its design documents are forbidden
    // to non-admins (couch_users_db after_doc_read), its listings need an admin (401).
    if (users && !rights.admin) {
      if (rc.params.ddoc !== undefined) throw new CouchError('forbidden', { params: { detail: 'Only administrators can view design docs in the users database.' } });
      throw new CouchError('unauthorized_admin');
    }
    requireRead(rights, user);
    return db;
  }
  // A database that does not exist is 404 for everyone, as chttpd answers before any member
  // check; a missing keyspace of an existing bucket is only told to those who may use the bucket.
  if (found.kind === 'no_bucket') throw new CouchError('db_not_found');
  if (!rc.user?.admin) requireBucketAccess(rc, found.bucket.name);
  throw new CouchError('not_found_detail', { params: { detail: found.reason } });
}

/**
 * Before a document write of this request: design documents need a db admin, others write
 * access; `_users` documents are hashed and validated (db-access.ts). Resolves when allowed.
 */
export async function guardWrite(rc: RequestCtx, db: Db, id: string, doc: ParsedDoc): Promise<void> {
  await guardDocWrite(rc.face.access, accessUser(rc.user), db, id, doc);
}

/** Db-admin actions of this request (`_security`, `_revs_limit`, Mango `_index` writes). */
export function requireDbAdminOf(rc: RequestCtx, db: Db): void {
  const user = accessUser(rc.user);
  requireDbAdmin(dbRights(rc.face.access, user, db), user);
}

/** `_users` documents are readable by their own user and admins only. */
export function guardRead(rc: RequestCtx, db: Db, id: string): void {
  guardUserDocRead(rc.face.access, accessUser(rc.user), db, id);
}
