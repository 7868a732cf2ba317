/**
 * Database security objects (CouchDB api/database/security.rst): `{admins: {names, roles},
 * members: {names, roles}}`, kept per database in its `couch_meta` side store (one per keyspace,
 * side-store.ts), and CouchDB's membership rules over them (couch_db.erl is_admin/is_member):
 *
 * - a db admin is a server admin (`_admin` role) or a user named in `admins.names` or holding a
 *   role of `admins.roles`;
 * - a member is a db admin, or anyone at all when `members` has neither names nor roles (a public
 *   database), or a user named in `members.names` or holding a role of `members.roles`.
 *
 * A database with no stored object has the `[couchdb] default_security` one: `admin_only` (the
 * CouchDB 3 default: members and admins are the `_admin` role) or `everyone` (the 2.x empty object).
 * `securityObject(db)` is what validate_doc_update functions receive as `secObj`.
 */
import { CouchError } from '../couch/errors.js';
import type { Db } from './db.js';

/** CouchDB's `#user_ctx{}` as functions and rules see it. */
export interface CouchUserCtx {
  readonly name: string | null;
  readonly roles: readonly string[];
}

export interface SecurityGroup {
  names: string[];
  roles: string[];
}

export type SecurityObject = Record<string, unknown> & { admins?: Partial<SecurityGroup>; members?: Partial<SecurityGroup> };

const SECURITY_KEY = 'security';

/** `[couchdb] default_security = admin_only` (CouchDB 3's default). */
export const ADMIN_ONLY_SECURITY: SecurityObject = Object.freeze({
  members: Object.freeze({ roles: ['_admin'] }),
  admins: Object.freeze({ roles: ['_admin'] }),
}) as SecurityObject;

export type DefaultSecurity = 'admin_only' | 'everyone';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(group: Record<string, unknown>, field: 'names' | 'roles'): void {
  const v = group[field];
  if (v === undefined) return;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new CouchError('bad_request', { reason: `${field} must be a JSON list of strings` });
  }
}

/**
 * Check a `PUT /{db}/_security` body as couch_db:validate_security_object/1 does: an object whose
 * `admins` and `members`, when present, are objects with string lists `names` and `roles`.
 */
export function parseSecurityObject(body: unknown): SecurityObject {
  if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Security object must be a JSON object' });
  for (const part of ['admins', 'members', 'readers'] as const) {
    const group = body[part];
    if (group === undefined) continue;
    if (!isObject(group)) throw new CouchError('bad_request', { reason: `${part} must be a JSON object with names and roles lists` });
    stringList(group, 'names');
    stringList(group, 'roles');
  }
  return body as SecurityObject;
}

/** The database's security object: stored, or the default for `default_security`. */
export function securityObject(db: Db, dflt: DefaultSecurity = 'admin_only'): SecurityObject {
  const stored = db.meta.get(SECURITY_KEY);
  if (isObject(stored)) return stored as SecurityObject;
  return dflt === 'everyone' ? {} : ADMIN_ONLY_SECURITY;
}

export async function setSecurityObject(db: Db, sec: SecurityObject): Promise<void> {
  await db.meta.put(SECURITY_KEY, sec);
}

function names(g: Partial<SecurityGroup> | undefined): readonly string[] {
  return Array.isArray(g?.names) ? g.names : [];
}

function roles(g: Partial<SecurityGroup> | undefined): readonly string[] {
  return Array.isArray(g?.roles) ? g.roles : [];
}

function inGroup(user: CouchUserCtx, g: Partial<SecurityGroup> | undefined): boolean {
  if (user.name !== null && names(g).includes(user.name)) return true;
  const wanted = roles(g);
  return user.roles.some((r) => wanted.includes(r));
}

export function isServerAdmin(user: CouchUserCtx): boolean {
  return user.roles.includes('_admin');
}

/** couch_db:is_admin/1. */
export function isDbAdmin(user: CouchUserCtx, sec: SecurityObject): boolean {
  return isServerAdmin(user) || inGroup(user, sec.admins);
}

/**
 * couch_db:get_members/1: `members`, else `readers`, its name before CouchDB 1.2, "for backwards
 * compatibility" (an object written with `readers` must not read as a public database).
 */
function membersOf(sec: SecurityObject): Partial<SecurityGroup> | undefined {
  if (sec.members !== undefined) return sec.members;
  const readers = sec.readers;
  return isObject(readers) ? (readers as Partial<SecurityGroup>) : undefined;
}

/** couch_db:is_member/1: an empty `members` (or `readers`) makes the database public. */
export function isMember(user: CouchUserCtx, sec: SecurityObject): boolean {
  if (isDbAdmin(user, sec)) return true;
  const m = membersOf(sec);
  if (names(m).length === 0 && roles(m).length === 0) return true;
  return inGroup(user, m);
}
