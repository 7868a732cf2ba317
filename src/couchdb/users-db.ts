/**
 * The `_users` database (CouchDB intro/security.rst "Authentication Database"): user documents
 * `org.couchdb.user:NAME` with `type: "user"`, `name`, `roles` and a password kept only as a
 * PBKDF2 derived key. It is an ordinary database (an engine bucket named `_users`, as
 * `_replicator` is, created with `PUT /_users`) with CouchDB's special rules:
 *
 * - on write (couch_users_db:before_doc_update/3, save_doc/1): a plaintext `password` is replaced
 *   by `password_scheme: "pbkdf2"`, `pbkdf2_prf`, `iterations`, `derived_key` (hex) and `salt`
 *   (32 hex digits, couch_uuids:random/0), once it meets `[chttpd_auth] password_regexp`
 *   (password-rules.ts); the plaintext is never stored. A non-admin may write
 *   only their own document, or create one anonymously (sign-up); anything else is 404;
 * - the `_design/_auth` validate_doc_update function CouchDB installs (couch_js_functions.hrl
 *   `AUTH_DB_DOC_VALIDATE_FUNCTION`), ported here natively: `validateUserDoc` (the design
 *   document itself is written too, and not run: users-auth-ddoc.ts);
 * - on read (after_doc_read/2): a non-admin sees only their own document; others' are 404
 *   (CouchDB's `[chttpd_auth] public_fields` is not supported: no field of another user shows).
 *
 * Passwords are checked with `verifyUserPassword` (couch_passwords:pbkdf2/4 with the stored prf,
 * `sha` for documents written before CouchDB 3.4 added `pbkdf2_prf`).
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { CouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import { checkPasswordRules } from './password-rules.js';
import { loadDoc } from './doc-store.js';
import type { CouchUserCtx } from './security.js';

export const USERS_DB = '_users';
export const USER_DOC_PREFIX = 'org.couchdb.user:';

const pbkdf2Async = promisify(pbkdf2);

/** `pbkdf2_prf` values and their node digest names and key lengths (crypto:hash_info/1 size). */
const PRFS: Readonly<Record<string, { digest: string; bytes: number }>> = {
  sha: { digest: 'sha1', bytes: 20 },
  sha224: { digest: 'sha224', bytes: 28 },
  sha256: { digest: 'sha256', bytes: 32 },
  sha384: { digest: 'sha384', bytes: 48 },
  sha512: { digest: 'sha512', bytes: 64 },
};

export interface HashSettings {
  iterations: number;
  prf: string;
  /** `[chttpd_auth] password_regexp`, the requirements of a new password (password-rules.ts). */
  passwordRegexp?: string | undefined;
  /** Called as the PBKDF2 runs (`couchdb.password_hashing_slow`, couchdb/passwords-cache.ts). */
  onHash?: () => void;
}

/** Whether `db` is the authentication database (`_users`, its default collection). */
export function isUsersDb(db: Db): boolean {
  return db.collectionId === 0 && db.bucket.name === USERS_DB;
}

/** The name a user document is for (`org.couchdb.user:NAME`), else null. */
export function userDocName(id: string): string | null {
  return id.startsWith(USER_DOC_PREFIX) ? id.slice(USER_DOC_PREFIX.length) : null;
}

function forbidden(detail: string): CouchError {
  return new CouchError('forbidden', { params: { detail } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const AVAILABLE_SCHEMES: readonly unknown[] = ['simple', 'pbkdf2', 'simple+pbkdf2'];

/** A JSON value as JavaScript's `'' + v` prints it (objects `[object Object]`, arrays joined by commas). */
function jsString(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => (x === null || x === undefined ? '' : jsString(x))).join(',');
  if (typeof v === 'object' && v !== null) return '[object Object]';
  return String(v);
}

/**
 * The `_users` validate_doc_update rules. `newDoc` carries `_id` and `_deleted`; `oldDoc` is the
 * current winner (null when new or deleted); `admin`: a server or `_users` db admin (the VDU's
 * is_server_or_database_admin). Throws 403 forbidden with CouchDB's messages.
 */
export function validateUserDoc(newDoc: Record<string, unknown>, oldDoc: Record<string, unknown> | null, user: CouchUserCtx, admin: boolean): void {
  if (newDoc._deleted === true) {
    if (admin || (oldDoc !== null && user.name !== null && user.name === oldDoc.name)) return;
    throw forbidden('Only admins may delete other user docs.');
  }
  if (newDoc.type !== 'user') throw forbidden('doc.type must be user');
  if (typeof newDoc.name !== 'string' || newDoc.name === '') throw forbidden('doc.name is required');
  const name = newDoc.name;
  if (newDoc.roles === undefined || newDoc.roles === null) throw forbidden('doc.roles must exist');
  if (!Array.isArray(newDoc.roles)) throw forbidden('doc.roles must be an array');
  const roles = newDoc.roles as unknown[];
  if (!roles.every((r): r is string => typeof r === 'string')) throw forbidden('doc.roles can only contain strings');
  if (newDoc._id !== USER_DOC_PREFIX + name) throw forbidden('Doc ID must be of the form org.couchdb.user:name');
  if (oldDoc !== null && oldDoc.name !== name) throw forbidden('Usernames can not be changed.');
  if (newDoc.password_sha !== undefined && newDoc.salt === undefined) {
    throw forbidden('Users with password_sha must have a salt.See /_utils/script/couch.js for example code.');
  }
  // The schemes CouchDB's users-db function names (couch_js_functions.hrl `available_schemes`);
  // any other truthy value is refused, printed as JavaScript's string concatenation prints it.
  const scheme = newDoc.password_scheme;
  if (scheme !== undefined && scheme !== null && scheme !== false && scheme !== 0 && scheme !== '' && !AVAILABLE_SCHEMES.includes(scheme as string)) {
    throw forbidden(`Password scheme \`${jsString(scheme)}\` not supported.`);
  }
  if (newDoc.password_scheme === 'pbkdf2') {
    if (typeof newDoc.iterations !== 'number') throw forbidden('iterations must be a number.');
    if (typeof newDoc.derived_key !== 'string') throw forbidden('derived_key must be a string.');
  }
  if (!admin) {
    if (oldDoc !== null) {
      if (user.name !== name) throw forbidden('You may only update your own user document.');
      const oldRoles = (Array.isArray(oldDoc.roles) ? (oldDoc.roles as unknown[]) : []).map(String).sort();
      const newRoles = [...roles].sort();
      if (oldRoles.length !== newRoles.length || oldRoles.some((r, i) => r !== newRoles[i])) throw forbidden('Only _admin may edit roles');
    } else if (roles.length > 0) {
      throw forbidden('Only _admin may set roles');
    }
  }
  if (roles.some((r) => r !== '_metrics' && r.startsWith('_'))) throw forbidden('No system roles (starting with underscore) in users db.');
  if (name.startsWith('_')) throw forbidden('Username may not start with underscore.');
  if (name.includes(':')) throw forbidden('Character `:` is not allowed in usernames.');
}

/**
 * couch_users_db:before_doc_update/3's access rule: admins write anything, a user their own
 * document, an anonymous user may create one (an existing id is then the usual conflict);
 * anything else is 404, so that other users' names are not revealed.
 */
export function checkUserDocWriter(id: string, user: CouchUserCtx, admin: boolean): void {
  if (admin) return;
  if (user.name === null || user.name === userDocName(id)) return;
  throw new CouchError('not_found');
}

/**
 * Replace a plaintext `password` by its PBKDF2 hash, in place (couch_users_db:save_doc/1). A
 * `password: null` is left as is (CouchDB keeps it); any other non-string is refused.
 */
export async function hashUserPassword(body: Record<string, unknown>, settings: HashSettings): Promise<void> {
  const password = body.password;
  if (password === undefined || password === null) return;
  if (typeof password !== 'string') throw forbidden(`Password value of '${JSON.stringify(password)}' is invalid.`);
  checkPasswordRules(password, settings.passwordRegexp);
  const prf = PRFS[settings.prf];
  if (prf === undefined || !Number.isSafeInteger(settings.iterations) || settings.iterations < 1) {
    throw forbidden('Server cannot hash passwords at this time.');
  }
  const salt = randomBytes(16).toString('hex');
  settings.onHash?.();
  const key = await pbkdf2Async(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), settings.iterations, prf.bytes, prf.digest);
  delete body.password;
  body.password_scheme = 'pbkdf2';
  body.pbkdf2_prf = settings.prf;
  body.iterations = settings.iterations;
  body.derived_key = key.toString('hex');
  body.salt = salt;
}

/**
 * Does `password` match a user document's stored hash? Only the pbkdf2 scheme is accepted.
 * `onHash` is called when the PBKDF2 runs (not for a document it refuses unhashed).
 */
export async function verifyUserPassword(body: Record<string, unknown>, password: string, onHash?: () => void): Promise<boolean> {
  if (body.password_scheme !== 'pbkdf2') return false;
  const { derived_key: dk, salt, iterations } = body;
  const prf = PRFS[typeof body.pbkdf2_prf === 'string' ? body.pbkdf2_prf : 'sha'];
  if (prf === undefined || typeof dk !== 'string' || typeof salt !== 'string') return false;
  // A bound on the work a stored document can ask of the server (CouchDB 3.4 uses 600000).
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) return false;
  const expected = Buffer.from(dk, 'hex');
  if (expected.length === 0 || expected.toString('hex') !== dk.toLowerCase()) return false;
  onHash?.();
  const actual = await pbkdf2Async(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, expected.length, prf.digest);
  return timingSafeEqual(actual, expected);
}

/**
 * A live user document's body (type user, named as its id), else null; `conflicted` when it has
 * live conflicting revisions, which chttpd_auth_cache refuses to log in with.
 */
export function loadUserDoc(db: Db, name: string): { body: Record<string, unknown>; rev: string; conflicted: boolean } | null {
  const state = loadDoc(db, USER_DOC_PREFIX + name, db.revsLimit);
  if (!state || state.winner.deleted) return null;
  const body = state.revData(state.winner.rev)?.body;
  if (!isObject(body) || body.type !== 'user' || body.name !== name) return null;
  return { body, rev: state.winner.rev, conflicted: state.leaves.filter((l) => !l.deleted).length > 1 };
}

/**
 * The roles a user document gives at login. System roles (`_admin`, ...) are dropped whatever the
 * document says: the validation refuses them, but a document written over KV is not validated,
 * and `_users` must never make a server admin.
 */
export function userDocRoles(body: Record<string, unknown>): string[] {
  const roles = Array.isArray(body.roles) ? (body.roles as unknown[]) : [];
  return roles.filter((r): r is string => typeof r === 'string' && !r.startsWith('_'));
}
