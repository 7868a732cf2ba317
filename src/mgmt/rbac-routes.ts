/**
 * Local users, the subset of ns_server's RBAC REST API (menelaus_web_rbac.erl) needed to create
 * per-bucket users as Couchbase does:
 *
 * - `PUT /settings/rbac/users/local/NAME`, form `password`, `roles` (comma-separated), optional
 *   `name` (full name, ignored); 200 with the JSON body `""` (`reply_put_delete_users`).
 * - `DELETE /settings/rbac/users/local/NAME`: 200 `""`; 404 `"User was not found."`.
 * - `GET /settings/rbac/users[/local]` and `GET /settings/rbac/users/local/NAME`: users as
 *   `{id, domain, roles:[{role, bucket_name?, origins}]}` (`user_to_json`).
 *
 * Freshet's registry has two kinds of user (src/auth/credentials.ts), so two roles are accepted:
 * `bucket_full_access[BUCKET]` (the bucket must exist) and `admin`, the latter only for the
 * existing administrator (to change its password: Freshet has a single administrator, set by
 * `freshet serve -u/-p`, which also resets it at the next start). Any other role is refused with
 * ns_server's "unknown, malformed or role parameters are undefined" error, rather than granting
 * more (or less) than the role means in Couchbase. Like Couchbase's built-in administrator, the
 * administrator is not listed.
 *
 * When a bucket is deleted, ns_server drops the roles on it (`menelaus_users:cleanup_bucket_roles`).
 * Here `DELETE /pools/default/buckets/NAME` drops the bucket from each user's list and a user left with none is removed, since the
 * registry cannot hold a bucket user without buckets: a later bucket of the same name must not
 * silently regain old users.
 */
import { isAuthError } from '../auth/errors.js';
import type { UserRegistry, UserSummary } from '../auth/credentials.js';
import type { Engine } from '../engine/engine.js';
import { RestError, fieldErrors, jsonMessage, readForm, sendJson } from './rest-io.js';
import { adminAccess, type RestContext, type RestRoute } from './rest-route.js';

/** Roles Freshet can represent; `bucket` roles take one parameter, the bucket name. */
export const RBAC_ROLES = {
  admin: { grants: 'admin' },
  bucket_full_access: { grants: 'bucket' },
} as const;

type RoleName = keyof typeof RBAC_ROLES;

export type ParsedRoles = { readonly kind: 'admin' } | { readonly kind: 'bucket'; readonly buckets: readonly string[] };

/** ns_server's default password policy: at least 6 characters (`password_policy` min_length). */
export const MIN_PASSWORD_LENGTH = 6;
const ALLOWED_FIELDS = new Set(['password', 'roles', 'name', 'groups']);

function badRoles(raw: readonly string[]): RestError {
  return fieldErrors({
    roles:
      'Cannot assign roles to user because the following roles are unknown, malformed or role parameters are undefined: ' +
      `[${raw.join(',')}]`,
  });
}

/** ns_server `validate_id`: no spaces, controls or separators, at most 128 characters, no leading '@'. */
export function validateUserId(id: string): string | undefined {
  if (id.length === 0) return 'Username must not be empty';
  if (id.length > 128) return 'Username may not exceed 128 characters';
  if (id.startsWith('@')) return "Username cannot start with '@'";
  for (const ch of id) {
    const c = ch.codePointAt(0)!;
    if (c <= 32 || c === 127 || '()<>,;:\\"/[]?={}'.includes(ch)) {
      return 'Username must not contain spaces, control or any of ()<>,;:\\"/[]?={} characters and must be valid utf8';
    }
  }
  return undefined;
}

/** Parse `roles`: "bucket_full_access[a],bucket_full_access[b]" or "admin". */
export function parseRoles(raw: string, engine: Engine): ParsedRoles {
  const items = raw.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  if (items.length === 0) throw fieldErrors({ roles: 'Freshet users need a role: admin or bucket_full_access[BUCKET]' });
  const bad: string[] = [];
  const buckets: string[] = [];
  let admin = false;
  for (const item of items) {
    const m = /^([a-z_]+)(?:\[([^\]]*)\])?$/.exec(item);
    const role = m === null ? undefined : (m[1] as string);
    const spec = role !== undefined && Object.hasOwn(RBAC_ROLES, role) ? RBAC_ROLES[role as RoleName] : undefined;
    const param = m?.[2];
    if (spec?.grants === 'admin' && param === undefined) admin = true;
    else if (spec?.grants === 'bucket' && param !== undefined && param !== '*' && engine.bucket(param) !== undefined) {
      buckets.push(param);
    } else bad.push(item);
  }
  if (bad.length > 0) throw badRoles(bad);
  if (admin && buckets.length > 0) throw fieldErrors({ roles: 'admin already grants every bucket; give it alone' });
  return admin ? { kind: 'admin' } : { kind: 'bucket', buckets: [...new Set(buckets)] };
}

function userJson(u: UserSummary): unknown {
  const origins = [{ type: 'user' }];
  const roles =
    u.role === 'admin'
      ? [{ role: 'admin', origins }]
      : u.buckets.map((b) => ({ role: 'bucket_full_access', bucket_name: b, origins }));
  return { id: u.name, domain: 'local', roles, groups: [], external_groups: [] };
}

/** Only the `local` domain exists here; `external` (LDAP) needs Enterprise Edition in Couchbase too. */
function requireLocal(rc: RestContext): void {
  const domain = rc.params.domain;
  if (domain === 'local') return;
  if (domain === 'external') throw new RestError(400, 'This http API endpoint requires enterprise edition');
  throw jsonMessage(404, 'Unknown user domain.');
}

async function putUser(rc: RestContext): Promise<void> {
  requireLocal(rc);
  const id = rc.params.user ?? '';
  const idError = validateUserId(id);
  if (idError !== undefined) throw fieldErrors({ _: idError });
  const form = await readForm(rc.req);
  const errors: Record<string, string> = {};
  for (const key of form.keys()) if (!ALLOWED_FIELDS.has(key)) errors[key] = 'Unsupported key';
  if ((form.get('groups') ?? '') !== '') errors.groups = 'User groups require enterprise edition';
  const password = form.get('password');
  if (password !== null && [...password].length < MIN_PASSWORD_LENGTH) {
    errors.password = `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  }
  if (Object.keys(errors).length > 0) throw fieldErrors(errors);

  const { users, engine } = rc.server;
  const roles = parseRoles(form.get('roles') ?? '', engine);
  try {
    if (roles.kind === 'admin') {
      if (!users.isAdmin(id)) {
        throw fieldErrors({ roles: `Freshet has a single administrator (${adminName(users)}); admin cannot be given to ${id}` });
      }
      if (password !== null) await users.setAdmin(id, password);
    } else if (users.isAdmin(id)) {
      throw fieldErrors({ roles: `${id} is the administrator and keeps the admin role` });
    } else if (password !== null) {
      await users.setBucketUser(id, password, roles.buckets);
    } else if (users.has(id)) {
      await users.setBuckets(id, roles.buckets);
    } else {
      throw fieldErrors({ password: 'Password is required for new user.' });
    }
  } catch (err) {
    if (isAuthError(err)) throw fieldErrors({ _: err.message });
    throw err;
  }
  sendJson(rc.res, 200, '');
}

function adminName(users: UserRegistry): string {
  return users.list().find((u) => u.role === 'admin')?.name ?? 'none';
}

async function deleteUser(rc: RestContext): Promise<void> {
  requireLocal(rc);
  const id = rc.params.user ?? '';
  const { users } = rc.server;
  if (users.isAdmin(id)) throw fieldErrors({ _: 'The administrator cannot be deleted' });
  if (!(await users.removeUser(id))) throw jsonMessage(404, 'User was not found.');
  sendJson(rc.res, 200, '');
}

function listUsers(rc: RestContext): void {
  if (rc.params.domain !== undefined) requireLocal(rc);
  const list = rc.server.users.list().filter((u) => u.role !== 'admin');
  sendJson(rc.res, 200, list.map(userJson));
}

function getUser(rc: RestContext): void {
  requireLocal(rc);
  const user = rc.server.users.list().find((u) => u.name === rc.params.user && u.role !== 'admin');
  if (user === undefined) throw jsonMessage(404, 'Unknown user.');
  sendJson(rc.res, 200, userJson(user));
}

/** Drop a deleted bucket from every user's list; users left with no bucket are removed. */
export async function pruneBucketFromUsers(users: UserRegistry, bucket: string): Promise<void> {
  for (const u of users.list()) {
    if (u.role !== 'bucket' || !u.buckets.includes(bucket)) continue;
    const rest = u.buckets.filter((b) => b !== bucket);
    if (rest.length > 0) await users.setBuckets(u.name, rest);
    else await users.removeUser(u.name);
  }
}

const READ = adminAccess('cluster.admin.security!read');
const WRITE = adminAccess('cluster.admin.security.local!write');

export const RBAC_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: '/settings/rbac/users', access: READ, handler: listUsers },
  { method: 'GET', path: '/settings/rbac/users/:domain', access: READ, handler: listUsers },
  { method: 'GET', path: '/settings/rbac/users/:domain/:user', access: READ, handler: getUser },
  { method: 'PUT', path: '/settings/rbac/users/:domain/:user', access: WRITE, handler: putUser },
  { method: 'DELETE', path: '/settings/rbac/users/:domain/:user', access: WRITE, handler: deleteUser },
];
