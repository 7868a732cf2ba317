/**
 * Who may do what to a CouchDB database: the Couchbase RBAC grants of the user registry and the
 * database's CouchDB security object (couchdb/security.ts), joined.
 *
 * The two user sets (README "Credentials"):
 * - the Couchbase administrator is a CouchDB server admin (role `_admin`);
 * - a Couchbase bucket user's CouchDB roles are its grants as ns_server writes them
 *   (`bucket_full_access[b]`, `data_reader[b:s:c]`); `bucket_full_access` makes it a db admin of
 *   every keyspace of the bucket, `data_reader` and `data_writer` together on a collection a
 *   member of it, `data_reader` alone a reader (no writes), `data_writer` alone nothing (CouchDB
 *   writes need reads: revisions, conflicts);
 * - a `_users` user (couchdb/users-db.ts) has only what security objects give its name and roles,
 *   and nothing on the KV, DCP or management ports, which authenticate against the registry only.
 * Security objects add to RBAC for everyone: a Couchbase user named in `members` is a member.
 *
 * Failures as CouchDB's couch_db check_is_member/check_is_admin: anonymous 401 "You are not
 * authorized to access this db.", authenticated 403 "You are not allowed to access this db.", a
 * db-admin action by a non-admin "You are not a db or server admin." (401 anonymous, 403 named).
 */
import { CouchError } from '../couch/errors.js';
import type { ParsedDoc } from '../couch/doc.js';
import { Privilege } from '../auth/roles.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { CouchConfig } from '../couchdb/config.js';
import type { PasswordsCache } from '../couchdb/passwords-cache.js';
import type { Db } from '../couchdb/db.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { isDbAdmin, isMember, securityObject, type CouchUserCtx, type SecurityObject } from '../couchdb/security.js';
import { isReplicatorDb, validateReplicatorDoc } from '../couchdb/replicator-vdu.js';
import { checkUserDocWriter, hashUserPassword, isUsersDb, userDocName, validateUserDoc } from '../couchdb/users-db.js';

/** A user as access rules see it; `couchbase` when the name is the user registry's. */
export interface AccessUser extends CouchUserCtx {
  readonly couchbase: boolean;
}

export interface DbRights {
  read: boolean;
  write: boolean;
  admin: boolean;
}

const READ = Privilege.Read;
const WRITE = Privilege.Insert | Privilege.Upsert | Privilege.Delete;

/** What access checks read: the registry and the config (`default_security`). */
export interface AccessHost {
  readonly users: UserRegistry;
  readonly config: CouchConfig;
  /** Counts the PBKDF2 of a `_users` password saved (`couchdb.password_hashing_slow`). */
  readonly passwords?: PasswordsCache;
}

export function dbSecurity(host: AccessHost, db: Db): SecurityObject {
  return securityObject(db, host.config.get('couchdb', 'default_security') === 'everyone' ? 'everyone' : 'admin_only');
}

/** The rights of `user` (null: anonymous) on `db`. */
export function dbRights(host: AccessHost, user: AccessUser | null, db: Db, sec = dbSecurity(host, db)): DbRights {
  const ctx: CouchUserCtx = user ?? { name: null, roles: [] };
  const out: DbRights = { read: false, write: false, admin: false };
  if (user?.couchbase && user.name !== null) {
    const access = host.users.bucketAccess(user.name, db.bucket.name);
    if (access.full) return { read: true, write: true, admin: true };
    const scopeId = db.bucket.manifest.collection(db.collectionId)?.scopeId ?? 0;
    const mask = access.mask(scopeId, db.collectionId);
    out.read = (mask & READ) === READ;
    out.write = out.read && (mask & WRITE) === WRITE;
  }
  if (isDbAdmin(ctx, sec)) return { read: true, write: true, admin: true };
  if (isMember(ctx, sec)) return { read: true, write: true, admin: false };
  return out;
}

function denied(user: AccessUser | null): CouchError {
  return new CouchError(user === null ? 'unauthorized_db' : 'forbidden_db');
}

/** Reading the database at all (every endpoint of it needs this). */
export function requireRead(rights: DbRights, user: AccessUser | null): void {
  if (!rights.read) throw denied(user);
}

/** Db-admin actions: `_security`, `_revs_limit`, design documents. */
export function requireDbAdmin(rights: DbRights, user: AccessUser | null): void {
  requireRead(rights, user);
  // couch_db check_is_admin/throw_security_error: anonymous 401, a named user 403, one text.
  if (!rights.admin) throw user === null ? new CouchError('unauthorized_db_admin') : new CouchError('forbidden', { params: { detail: 'You are not a db or server admin.' } });
}

export function requireWrite(rights: DbRights, user: AccessUser | null): void {
  requireRead(rights, user);
  if (!rights.write) throw new CouchError('forbidden', { params: { detail: 'You are not allowed to write to this db.' } });
}

/**
 * Check one document write before it is stored, and apply the `_users` rules (hash the password,
 * validate): design documents need a db admin, other documents write access, `_users` user
 * documents the users-db rules instead. Synchronous except when a password is hashed.
 */
export function guardDocWrite(host: AccessHost, user: AccessUser | null, db: Db, id: string, doc: ParsedDoc): Promise<void> | undefined {
  const sec = dbSecurity(host, db);
  const rights = dbRights(host, user, db, sec);
  if (id.startsWith('_design/')) {
    requireDbAdmin(rights, user);
    return undefined;
  }
  if (isReplicatorDb(db)) {
    // couch_replicator_js_functions.hrl's validate_doc_update, natively (couchdb/replicator-vdu.ts).
    requireWrite(rights, user);
    const state = doc.deleted ? loadDoc(db, id, db.revsLimit) : null;
    const old = state && !state.winner.deleted ? (state.revData(state.winner.rev)?.body ?? null) : null;
    validateReplicatorDoc({ ...doc.body, ...(doc.deleted ? { _deleted: true } : {}) }, old, user ?? { name: null, roles: [] }, rights.admin);
    return undefined;
  }
  if (!isUsersDb(db)) {
    requireWrite(rights, user);
    return undefined;
  }
  if (userDocName(id) === null) {
    // The users database's validate_doc_update refuses every other document, admins' included
    // ("doc.type must be user", "Doc ID must be of the form org.couchdb.user:name"), so no other
    // id can hold a password in the clear.
    requireWrite(rights, user);
    validateUserDoc({ ...doc.body, _id: id, ...(doc.deleted ? { _deleted: true } : {}) }, null, user ?? { name: null, roles: [] }, rights.admin);
    return undefined;
  }
  const ctx: CouchUserCtx = user ?? { name: null, roles: [] };
  checkUserDocWriter(id, ctx, rights.admin);
  const state = loadDoc(db, id, db.revsLimit);
  const old = state && !state.winner.deleted ? (state.revData(state.winner.rev)?.body ?? null) : null;
  const check = (): void => validateUserDoc({ ...doc.body, _id: id, ...(doc.deleted ? { _deleted: true } : {}) }, old, ctx, rights.admin);
  if (doc.deleted || doc.body.password === undefined) {
    check();
    return undefined;
  }
  const cfg = host.config;
  const settings = { iterations: cfg.int('chttpd_auth', 'iterations', 50000), prf: cfg.get('chttpd_auth', 'pbkdf2_prf') ?? 'sha256', passwordRegexp: cfg.chttpdAuth('password_regexp'), onHash: () => host.passwords?.countSlow() };
  return hashUserPassword(doc.body, settings).then(check);
}

/**
 * `_users` reads (couch_users_db:after_doc_read/2): an admin reads any user document, a user
 * their own; anyone else gets 404, as if it did not exist.
 */
export function guardUserDocRead(host: AccessHost, user: AccessUser | null, db: Db, id: string): void {
  if (!isUsersDb(db) || userDocName(id) === null) return;
  const sec = dbSecurity(host, db);
  if (dbRights(host, user, db, sec).admin) return;
  if (user === null || user.name !== userDocName(id)) throw new CouchError('not_found');
}
