/**
 * Local users, the subset of ns_server's RBAC REST API (menelaus_web_rbac.erl) needed to create
 * per-bucket users as Couchbase does:
 *
 * - `PUT /settings/rbac/users/local/NAME`, form `password`, `roles` (comma-separated), optional
 *   `name` (the full name; each PUT replaces it, as ns_server's `store_user` replaces the user's
 *   props); 200 with the JSON body `""` (`reply_put_delete_users`).
 * - `DELETE /settings/rbac/users/local/NAME`: 200 `""`; 404 `"User was not found."`.
 * - `GET /settings/rbac/users[/local]` and `GET /settings/rbac/users/local/NAME`: users as
 *   `{id, domain, roles:[{role, bucket_name?, origins}], groups, external_groups, name?,
 *   password_change_date?}` (`user_to_json`: `name` when one was given, the date of the last
 *   password change as `format_server_time` writes it, `2024-05-01T10:00:00.000Z`).
 * - `GET /settings/rbac/roles`: the roles below; `GET /whoami`: the caller and its roles;
 *   `POST /controller/changePassword`: the caller's own password. Groups (`/settings/rbac/groups`)
 *   answer Community Edition's 400.
 *
 * Freshet's registry has two kinds of user (src/auth/credentials.ts). A bucket user's roles are
 * `bucket_full_access[BUCKET]`, `data_reader[BUCKET(:SCOPE(:COLLECTION))]` and
 * `data_writer[...]` (src/auth/roles.ts; `*` for a scope or collection means all of them); the
 * bucket, scope and collection must exist, as ns_server's `validate_roles` requires. `admin` is
 * accepted only for the existing administrator (to change its password: Freshet has a single
 * administrator, set by `freshet serve -u/-p`, which also resets it at the next start). Any other
 * role is refused with ns_server's "unknown, malformed or role parameters are undefined" error,
 * rather than granting more (or less) than the role means in Couchbase. Like Couchbase's built-in
 * administrator, the administrator is not listed. A role on a scope or collection that was since
 * dropped grants nothing (grants keep ids) and is no longer listed, as ns_server filters out
 * roles whose parameters are gone.
 *
 * When a bucket is deleted, ns_server drops the roles on it (`menelaus_users:cleanup_bucket_roles`).
 * Here `DELETE /pools/default/buckets/NAME` drops the bucket from each user's list and a user left with none is removed, since the
 * registry cannot hold a bucket user without buckets: a later bucket of the same name must not
 * silently regain old users.
 */
import { isAuthError } from '../auth/errors.js';
import type { UserRegistry, UserSummary } from '../auth/credentials.js';
import { ROLE_DEFINITIONS, isBucketRoleName, splitRoleItem, type RoleGrant } from '../auth/roles.js';
import type { Engine } from '../engine/engine.js';
import { RestError, fieldErrors, jsonMessage, readForm, sendEmpty, sendJson, type Form } from './rest-io.js';
import { adminAccess, SIGNED_IN, type RestContext, type RestRoute } from './rest-route.js';

export type ParsedRoles = { readonly kind: 'admin' } | { readonly kind: 'bucket'; readonly grants: readonly RoleGrant[] };

/** ns_server's default password policy: at least 6 characters (`password_policy` min_length). */
export const MIN_PASSWORD_LENGTH = 6;

/**
 * ns_server `validate_cred(P, password)`'s verifiers, in order: the length (of the bytes, which
 * is what `parse_post` hands it), valid UTF-8, no control characters (below 32, or 127). A
 * password of bytes that are not UTF-8 would otherwise be stored as its U+FFFD replacement.
 */
function passwordError(form: Form): string | undefined {
  const password = form.get('password');
  if (password === null) return undefined;
  if (Buffer.byteLength(password) < MIN_PASSWORD_LENGTH && !form.notUtf8.has('password')) {
    return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  }
  if (form.notUtf8.has('password')) return 'The password must be valid utf8';
  if (/[\u0000-\u001f\u007f]/.test(password)) return 'The password must not contain control characters';
  return undefined;
}
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

/**
 * One bucket role item as a grant, or undefined when it is unknown, malformed or names a bucket,
 * scope or collection that does not exist (ns_server `validate_roles`).
 */
function grantFor(item: string, engine: Engine): RoleGrant | undefined {
  const parsed = splitRoleItem(item);
  if (parsed === undefined || parsed.params === undefined || !isBucketRoleName(parsed.role)) return undefined;
  const role = parsed.role;
  // `b:*:*` is `b`, `b:s:*` is `b:s`.
  const params = [...parsed.params];
  while (params.length > 1 && params[params.length - 1] === '*') params.pop();
  const [bucketName, scopeName, collectionName] = params;
  const max = ROLE_DEFINITIONS[role].params === 'bucket' ? 1 : 3;
  if (bucketName === undefined || bucketName === '*' || params.length > max || params.includes('')) return undefined;
  const bucket = engine.bucket(bucketName);
  if (bucket === undefined) return undefined;
  if (scopeName === undefined) return { role, bucket: bucketName };
  const manifest = bucket.manifest;
  const scope = manifest.scopeByName(scopeName);
  if (scope === undefined || scopeName === '*') return undefined;
  if (collectionName === undefined) return { role, bucket: bucketName, scope: { name: scope.name, id: scope.id } };
  const collection = manifest.collectionByPath(scopeName, collectionName);
  if (collection === undefined) return undefined;
  return { role, bucket: bucketName, scope: { name: scope.name, id: scope.id }, collection: { name: collection.name, id: collection.id } };
}

/** Parse `roles`: "data_reader[b:s:c],bucket_full_access[b2]" or "admin". */
export function parseRoles(raw: string, engine: Engine): ParsedRoles {
  // No roles is allowed (ns_server put_user_validators: `roles` defaults to []).
  const items = raw.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  const bad: string[] = [];
  const grants: RoleGrant[] = [];
  let admin = false;
  for (const item of items) {
    if (item === 'admin') {
      admin = true;
      continue;
    }
    const grant = grantFor(item, engine);
    if (grant === undefined) bad.push(item);
    else grants.push(grant);
  }
  if (bad.length > 0) throw badRoles(bad);
  if (admin && grants.length > 0) throw fieldErrors({ roles: 'admin already grants every bucket; give it alone' });
  return admin ? { kind: 'admin' } : { kind: 'bucket', grants };
}

/** Still meaningful: its scope and collection (by id) are in the bucket's manifest. */
function grantLive(engine: Engine, g: RoleGrant): boolean {
  const manifest = engine.bucket(g.bucket)?.manifest;
  if (manifest === undefined) return false;
  if (g.scope !== undefined && manifest.scope(g.scope.id) === undefined) return false;
  return g.collection === undefined || manifest.hasCollection(g.collection.id);
}

/** ns_server `role_to_json`: collection roles name their scope and collection, `*` for all. */
function roleJson(g: RoleGrant, origins: unknown): unknown {
  const withOrigins = origins === undefined ? {} : { origins };
  if (ROLE_DEFINITIONS[g.role].params === 'bucket') return { role: g.role, bucket_name: g.bucket, ...withOrigins };
  return { role: g.role, bucket_name: g.bucket, scope_name: g.scope?.name ?? '*', collection_name: g.collection?.name ?? '*', ...withOrigins };
}

function userJson(u: UserSummary, engine: Engine): unknown {
  const origins = [{ type: 'user' }];
  const roles = u.role === 'admin' ? [{ role: 'admin', origins }] : u.grants.filter((g) => grantLive(engine, g)).map((g) => roleJson(g, origins));
  return {
    id: u.name,
    domain: 'local',
    roles,
    groups: [],
    external_groups: [],
    ...(u.fullName === undefined ? {} : { name: u.fullName }),
    ...(u.passwordChanged === undefined ? {} : { password_change_date: new Date(u.passwordChanged).toISOString() }),
  };
}

/** Only the `local` domain exists here; `external` (LDAP) needs Enterprise Edition in Couchbase too. */
function requireLocal(rc: RestContext): void {
  const domain = rc.params.domain;
  if (domain === 'local') return;
  if (domain === 'external') enterpriseOnly();
  throw jsonMessage(404, 'Unknown user domain.');
}

async function putUser(rc: RestContext): Promise<void> {
  // handle_put_user checks the name before the domain.
  const id = rc.params.user ?? '';
  const idError = validateUserId(id);
  if (idError !== undefined) throw fieldErrors({ _: idError });
  requireLocal(rc);
  const form = await readForm(rc.req);
  const errors: Record<string, string> = {};
  for (const key of form.keys()) if (!ALLOWED_FIELDS.has(key)) errors[key] = 'Unsupported key';
  if ((form.get('groups') ?? '') !== '') errors.groups = 'User groups require enterprise edition';
  const password = form.get('password');
  const badPassword = passwordError(form);
  if (badPassword !== undefined) errors.password = badPassword;
  if (Object.keys(errors).length > 0) throw fieldErrors(errors);

  const { users, engine } = rc.server;
  const roles = parseRoles(form.get('roles') ?? '', engine);
  const fullName = form.get('name');
  const profile = fullName === null ? {} : { fullName };
  try {
    if (roles.kind === 'admin') {
      if (!users.isAdmin(id)) {
        throw fieldErrors({ roles: `Freshet has a single administrator (${adminName(users)}); admin cannot be given to ${id}` });
      }
      if (password !== null) await users.setAdmin(id, password);
    } else if (users.isAdmin(id)) {
      throw fieldErrors({ roles: `${id} is the administrator and keeps the admin role` });
    } else if (password !== null) {
      await users.setBucketUser(id, password, roles.grants, profile);
    } else if (users.has(id)) {
      await users.setBuckets(id, roles.grants, profile);
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
  // The administrator is no local user (ns_server's `admin` domain): there is none of that name to delete.
  if (users.isAdmin(id)) throw jsonMessage(404, 'User was not found.');
  if (!(await users.removeUser(id))) throw jsonMessage(404, 'User was not found.');
  sendJson(rc.res, 200, '');
}

function listUsers(rc: RestContext): void {
  if (rc.params.domain !== undefined) requireLocal(rc);
  const list = rc.server.users.list().filter((u) => u.role !== 'admin');
  sendJson(rc.res, 200, list.map((u) => userJson(u, rc.server.engine)));
}

function getUser(rc: RestContext): void {
  requireLocal(rc);
  const user = rc.server.users.list().find((u) => u.name === rc.params.user && u.role !== 'admin');
  if (user === undefined) throw jsonMessage(404, 'Unknown user.');
  sendJson(rc.res, 200, userJson(user, rc.server.engine));
}

/**
 * `GET /whoami` (menelaus_web_rbac:handle_whoami/1, any authenticated caller): who the request's
 * credentials are and their roles; the administrator is in ns_server's `admin` domain.
 */
function whoami(rc: RestContext): void {
  const name = rc.principal?.name ?? '';
  const user = rc.server.users.list().find((u) => u.name === name);
  if (user === undefined || user.role === 'admin') return sendJson(rc.res, 200, { id: name, domain: 'admin', roles: [{ role: 'admin' }] });
  const roles = user.grants.filter((g) => grantLive(rc.server.engine, g)).map((g) => roleJson(g, undefined));
  sendJson(rc.res, 200, { id: user.name, domain: 'local', roles });
}

/**
 * The roles a Freshet user can hold, as `GET /settings/rbac/roles` lists them (`handle_get_roles`:
 * `role`, its parameters as `*`, `name`, `desc`); the SDK's `users().getRoles()` reads this.
 * ns_server's names; the descriptions are Freshet's, for what the role grants here.
 */
const ROLE_LIST: readonly Record<string, string>[] = [
  { role: 'admin', name: 'Full Admin', desc: 'Manages the whole server (buckets, users, settings) and reads and writes all data.' },
  { role: 'bucket_full_access', bucket_name: '*', name: 'Application Access', desc: 'Reads and writes all data of a bucket, over every face; no management.' },
  { role: 'data_reader', bucket_name: '*', scope_name: '*', collection_name: '*', name: 'Data Reader', desc: 'Reads documents and their metadata in a bucket, scope or collection.' },
  { role: 'data_writer', bucket_name: '*', scope_name: '*', collection_name: '*', name: 'Data Writer', desc: 'Creates, changes and deletes documents in a bucket, scope or collection, without reading them.' },
];

function listRoles(rc: RestContext): void {
  sendJson(rc.res, 200, ROLE_LIST);
}

/**
 * User groups are an Enterprise Edition feature in ns_server (`assert_groups_and_ldap_enabled`);
 * Freshet answers as Community Edition does (`isEnterprise: false` in /pools).
 */
function enterpriseOnly(): never {
  // menelaus_util:assert_is_enterprise: a text reply with a header saying why.
  throw new RestError(400, 'This http API endpoint requires enterprise edition', { 'X-enterprise-edition-needed': '1' });
}

/**
 * `POST /controller/changePassword` (menelaus_web_rbac:handle_change_password/1), form `password`:
 * the caller's own password, the administrator's or a local user's (roles kept). ns_server serves
 * it in Enterprise Edition only; Freshet serves it, since the SDK's `users().changePassword()`
 * reports success whatever Community Edition's 400 says. The administrator's password set here
 * lasts until the next `freshet serve -p`, which sets it again.
 */
async function changePassword(rc: RestContext): Promise<void> {
  const form = await readForm(rc.req);
  const errors: Record<string, string> = {};
  for (const key of form.keys()) if (key !== 'password') errors[key] = 'Unsupported key';
  const password = form.get('password');
  const badPassword = passwordError(form);
  if (password === null) errors.password = 'The value must be supplied';
  else if (badPassword !== undefined) errors.password = badPassword;
  if (Object.keys(errors).length > 0) throw fieldErrors(errors);
  const { users } = rc.server;
  const name = rc.principal?.name ?? '';
  if (users.isAdmin(name)) await users.setAdmin(name, password!);
  else await users.setBucketUser(name, password!, users.grantsOf(name));
  sendEmpty(rc.res, 200);
}

/** Drop a deleted bucket's roles from every user; users left with no role are removed. */
export async function pruneBucketFromUsers(users: UserRegistry, bucket: string): Promise<void> {
  for (const u of users.list()) {
    if (u.role !== 'bucket' || !u.buckets.includes(bucket)) continue;
    const rest = u.grants.filter((g) => g.bucket !== bucket);
    if (rest.length > 0) await users.setBuckets(u.name, rest);
    else await users.removeUser(u.name);
  }
}

/** `/settings/rbac/users/NAME` (the one segment is bound as `domain` by the shared pattern). */
function asExternal(rc: RestContext): RestContext {
  return { ...rc, params: { user: rc.params.domain ?? '', domain: 'external' } };
}

const READ = adminAccess('cluster.admin.security!read');
// menelaus_web: the users and groups routes need {[admin, security], read | write}.
const WRITE = adminAccess('cluster.admin.security!write');

export const RBAC_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: '/whoami', access: SIGNED_IN, handler: whoami },
  { method: 'GET', path: '/settings/rbac/groups', access: READ, handler: enterpriseOnly },
  { method: 'GET', path: '/settings/rbac/groups/:group', access: READ, handler: enterpriseOnly },
  { method: 'PUT', path: '/settings/rbac/groups/:group', access: WRITE, handler: enterpriseOnly },
  { method: 'DELETE', path: '/settings/rbac/groups/:group', access: WRITE, handler: enterpriseOnly },
  { method: 'POST', path: '/controller/changePassword', access: SIGNED_IN, handler: changePassword },
  { method: 'GET', path: '/settings/rbac/roles', access: READ, handler: listRoles },
  { method: 'GET', path: '/settings/rbac/users', access: READ, handler: listUsers },
  { method: 'GET', path: '/settings/rbac/users/:domain', access: READ, handler: listUsers },
  { method: 'GET', path: '/settings/rbac/users/:domain/:user', access: READ, handler: getUser },
  { method: 'PUT', path: '/settings/rbac/users/:domain/:user', access: WRITE, handler: putUser },
  // ns_server's older form without a domain names an external (LDAP) user.
  { method: 'PUT', path: '/settings/rbac/users/:domain', access: WRITE, handler: (rc) => putUser(asExternal(rc)) },
  { method: 'DELETE', path: '/settings/rbac/users/:domain', access: WRITE, handler: (rc) => deleteUser(asExternal(rc)) },
  { method: 'DELETE', path: '/settings/rbac/users/:domain/:user', access: WRITE, handler: deleteUser },
];
