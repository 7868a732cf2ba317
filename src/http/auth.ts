/**
 * Who is asking: HTTP Basic credentials or a `/_session` cookie, and what they may touch.
 *
 * Cookie sessions follow CouchDB's couch_httpd_auth: `POST /_session` with `name`/`password`
 * sets `AuthSession=<base64url("name:timestamp-hex:mac")>`; the cookie is valid for
 * `sessionTimeoutSec` (CouchDB's default 600 s) and is re-issued on use once a tenth of that has
 * passed, so an active client never expires. The MAC is HMAC-SHA256 over "name:timestamp" keyed
 * with a server secret kept in the engine's system database, so sessions survive restarts and
 * cannot be forged. Deleting a user ends their sessions (the user is checked on every request).
 *
 * Access, as CouchDB phrases it: no credentials where they are needed → 401 unauthorized; valid
 * credentials without access to the db → 403 forbidden; server-admin actions by a non-admin →
 * 401 "You are not a server admin." (chttpd_auth / couch_httpd:verify_is_server_admin). Bad
 * credentials are a 401 on every endpoint, even those open to anonymous users.
 *
 * Password checks (Basic here, `POST /_session` in server-routes.ts) go through password-auth.ts:
 * the `[chttpd_auth_lockout]` lockout, CouchDB's password cache and the shared failed-login
 * throttle (src/auth/throttle.ts): a throttled address gets its answer, the normal 401, after a
 * delay. A cookie is a MAC check, not a password guess, and is neither throttled nor counted.
 *
 * Two user sets (db-access.ts has the mapping): a name the Couchbase user registry knows is
 * checked against the registry only; any other name against its `_users` document
 * (couch-users.ts), whose cookies are keyed with the user's salt as well, as CouchDB keys them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CouchError } from '../couch/errors.js';
import { parseBasicAuth } from '../auth/basic.js';
import { isAuthError } from '../auth/errors.js';
import type { UserRegistry } from '../auth/credentials.js';
import { formatGrant } from '../auth/roles.js';
import { clientAddress } from '../auth/throttle.js';
import type { SideDb as MetaDb } from '../engine/side-db.js';
import { authenticatePassword, type PasswordCreds } from './password-auth.js';
import { authHandlers, proxyUser } from './proxy-auth.js';
import { jwtUser } from './jwt-auth.js';
import type { AccessUser } from './db-access.js';
import type { HttpFace } from './face.js';
import type { RequestCtx, UserCtx } from './request.js';

export const SESSION_COOKIE = 'AuthSession';
const SECRET_KEY = 'couch_session_secret';

export class Sessions {
  constructor(
    private readonly secret: Buffer,
    readonly timeoutSec: number,
  ) {}

  /** Load the persisted secret, or create and persist one. */
  static async open(system: MetaDb, timeoutSec: number): Promise<Sessions> {
    let stored = system.get(SECRET_KEY) as string | undefined;
    if (typeof stored !== 'string') {
      stored = randomBytes(32).toString('hex');
      await system.put(SECRET_KEY, stored);
    }
    return new Sessions(Buffer.from(stored, 'hex'), timeoutSec);
  }

  /** `salt`: a `_users` user's (couch_httpd_auth keys the MAC with secret ++ user salt); '' for registry users. */
  private mac(payload: string, salt: string): Buffer {
    const key = salt === '' ? this.secret : Buffer.concat([this.secret, Buffer.from(salt, 'utf8')]);
    return createHmac('sha256', key).update(payload).digest();
  }

  issue(name: string, nowSec = Math.floor(Date.now() / 1000), salt = ''): string {
    const payload = `${name}:${nowSec.toString(16).toUpperCase()}`;
    return Buffer.from(`${payload}:${this.mac(payload, salt).toString('base64url')}`).toString('base64url');
  }

  /**
   * The user and issue time of a valid, unexpired cookie value, else null. `saltOf` gives the
   * salt of the named user (null: no such user, the cookie is void).
   */
  verify(value: string, nowSec = Math.floor(Date.now() / 1000), saltOf: (name: string) => string | null = () => ''): { name: string; issuedAt: number } | null {
    const text = Buffer.from(value, 'base64url').toString('utf8');
    const last = text.lastIndexOf(':');
    const mid = text.lastIndexOf(':', last - 1);
    if (last < 0 || mid <= 0) return null;
    const payload = text.slice(0, last);
    const salt = saltOf(text.slice(0, mid));
    if (salt === null) return null;
    const given = Buffer.from(text.slice(last + 1), 'base64url');
    const expected = this.mac(payload, salt);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const issuedAt = parseInt(text.slice(mid + 1, last), 16);
    if (!Number.isFinite(issuedAt) || nowSec - issuedAt >= this.timeoutSec || issuedAt - nowSec > 60) return null;
    return { name: text.slice(0, mid), issuedAt };
  }

  /**
   * As couch_httpd_auth cookie_auth_cookie/4 writes it through mochiweb_cookies:cookie/3: a
   * persistent cookie (`allow_persistent_cookies` defaults to true) with `Expires` (mochiweb's
   * RFC 2109 date, dashes between day, month and year) and `Max-Age` of the session timeout, and
   * no `SameSite` (`same_site` defaults to ""). Clients keep cookies without an expiry out of
   * their jars (nano 11's drops them), so the session would not be used.
   */
  setCookieHeader(value: string, nowMs = Date.now()): string {
    const expires = cookieExpiresDate(new Date(nowMs + this.timeoutSec * 1000));
    return `${SESSION_COOKIE}=${value}; Version=1; Expires=${expires}; Max-Age=${this.timeoutSec}; Path=/; HttpOnly`;
  }

  clearCookieHeader(): string {
    return `${SESSION_COOKIE}=; Version=1; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly`;
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** mochiweb_cookies rfc2109_cookie_expires_date/1: `Tue, 13-Dec-2022 13:54:19 GMT`. */
function cookieExpiresDate(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const date = `${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${String(d.getUTCFullYear()).padStart(4, '0')}`;
  return `${DAYS[d.getUTCDay()]}, ${date} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface AuthResult {
  user: UserCtx | null;
  /** A refreshed session cookie to send back, when the current one is getting old. */
  refreshCookie?: string;
}

/** The CouchDB roles of a registry user: `_admin` for the administrator, else its grants. */
export function registryRoles(users: UserRegistry, name: string): string[] {
  if (users.isAdmin(name)) return ['_admin'];
  return users.grantsOf(name).map(formatGrant);
}

function registryUser(users: UserRegistry, name: string, via: UserCtx['via']): UserCtx {
  return { name, admin: users.isAdmin(name), via, roles: registryRoles(users, name), source: 'couchbase' };
}

/**
 * A name/password check (password-auth.ts: lockout, password cache, throttle): the registry's
 * user of that name, else the `_users` document's. Null when the password is wrong. `login`: a
 * `POST /_session`, where a name nobody has still counts for the lockout; Basic credentials of
 * nobody fail at once, as couch_httpd_auth default_authentication_handler answers them.
 */
export async function checkCredentials(req: IncomingMessage, face: HttpFace, name: string, password: string, via: UserCtx['via'] = 'default', login = false): Promise<UserCtx | null> {
  const { users, authThrottle } = face.ctx;
  if (users.has(name)) {
    const creds: PasswordCreds = {
      source: 'registry',
      salt: users.passwordSalt(name) ?? '',
      verify: (pw, onHash) => {
        onHash();
        return users.verifyAsync(name, pw);
      },
    };
    return (await authenticatePassword(req, face, name, password, creds)) ? registryUser(users, name, via) : null;
  }
  const found = face.couchUsers.credentials(name);
  if (found === null && !login) {
    await authThrottle.check(clientAddress(req.socket.remoteAddress), name, 'couchdb', () => false);
    return null;
  }
  const ok = await authenticatePassword(req, face, name, password, found && { source: '_users', salt: found.salt, verify: found.verify });
  return ok && found !== null ? { name, admin: false, via, roles: found.roles, source: 'couchdb' } : null;
}

/** The salt keying `name`'s cookies: '' for a registry user, the `_users` document's, null for nobody. */
function cookieSalt(face: HttpFace, name: string): string | null {
  if (face.ctx.users.has(name)) return '';
  return face.couchUsers.salt(name);
}

/** A session cookie for a user just logged in. */
export function issueCookie(face: HttpFace, user: UserCtx): string {
  return face.sessions.issue(user.name, undefined, user.source === 'couchdb' ? (cookieSalt(face, user.name) ?? '') : '');
}

/**
 * Authenticate a request with the handlers of `[chttpd] authentication_handlers`, in its order
 * (proxy-auth.ts; CouchDB 3's default: cookie, then default), as chttpd authenticate_request/2
 * tries them: the first that names a user decides, none is anonymous. A valid session cookie
 * names its user (an expired or forged one is ignored, not an error); Basic credentials, when
 * given, must be right (401 otherwise); a trusted proxy's headers name theirs.
 */
export async function authenticate(req: IncomingMessage, face: HttpFace): Promise<AuthResult> {
  for (const handler of authHandlers(face.config)) {
    const result = handler === 'cookie' ? cookieAuth(req, face) : handler === 'proxy' ? proxyAuth(req, face) : handler === 'jwt' ? jwtAuth(req, face) : await basicAuth(req, face);
    if (result !== null) return result;
  }
  return { user: null };
}

/** couch_httpd_auth jwt_authentication_handler (jwt-auth.ts): a Bearer token's user, or null without one. */
function jwtAuth(req: IncomingMessage, face: HttpFace): AuthResult | null {
  const user = jwtUser(req, face.config);
  return user === null ? null : { user };
}

function proxyAuth(req: IncomingMessage, face: HttpFace): AuthResult | null {
  const user = proxyUser(req, face.config);
  return user === null ? null : { user };
}

/** couch_httpd_auth cookie_authentication_handler: the session cookie's user, or null. */
function cookieAuth(req: IncomingMessage, face: HttpFace): AuthResult | null {
  const cookie = readCookie(req, SESSION_COOKIE);
  if (cookie) {
    const now = Math.floor(Date.now() / 1000);
    const users = face.ctx.users;
    // One credentials lookup per cookie (couch_httpd_auth cookie_authentication_handler): the
    // `_users` document gives the salt the MAC is checked with and the roles it then has.
    const found: { roles?: string[] } = {};
    const session = face.sessions.verify(cookie, now, (name) => {
      if (users.has(name)) return '';
      const creds = face.couchUsers.session(name);
      if (creds !== null) found.roles = creds.roles;
      return creds?.salt ?? null;
    });
    if (session) {
      const roles = users.has(session.name) ? null : found.roles;
      const user: UserCtx = roles == null ? registryUser(users, session.name, 'cookie') : { name: session.name, admin: false, via: 'cookie', roles, source: 'couchdb' };
      const refresh = now - session.issuedAt > face.sessions.timeoutSec / 10;
      return refresh ? { user, refreshCookie: issueCookie(face, user) } : { user };
    }
  }
  return null;
}

/** couch_httpd_auth default_authentication_handler: Basic credentials, null when none are sent. */
async function basicAuth(req: IncomingMessage, face: HttpFace): Promise<AuthResult | null> {
  let basic;
  try {
    basic = parseBasicAuth(req.headers.authorization);
  } catch (err) {
    if (isAuthError(err)) throw new CouchError('unauthorized');
    throw err;
  }
  // couch_httpd_auth basic_name_pw: `_:_` is the special "log me out" pair, no credentials at all.
  if (!basic || (basic.user === '_' && basic.password === '_')) return null;
  const user = await checkCredentials(req, face, basic.user, basic.password);
  if (user === null) throw new CouchError('unauthorized');
  return { user };
}

export function roles(user: UserCtx | null): string[] {
  return user ? [...user.roles] : [];
}

/** The request's user as the access rules see it (db-access.ts). */
export function accessUser(user: UserCtx | null): AccessUser | null {
  return user && { name: user.name, roles: user.roles, couchbase: user.source === 'couchbase' };
}

/** Any authenticated user. */
export function requireUser(rc: RequestCtx): UserCtx {
  if (!rc.user) throw new CouchError('unauthorized', { reason: 'Authentication required.' });
  return rc.user;
}

export function requireAdmin(rc: RequestCtx): UserCtx {
  const user = rc.user;
  if (!user || !user.admin) throw new CouchError('unauthorized_admin');
  return user;
}

/**
 * Access to a bucket that does not exist (nothing to read a security object from): what the
 * registry grants, so that a user without access learns nothing of which names exist.
 */
export function requireBucketAccess(rc: RequestCtx, bucket: string): void {
  const user = rc.user;
  if (!user) throw new CouchError('unauthorized_db');
  if (user.source !== 'couchbase' || !rc.face.ctx.users.canAccessBucket(user.name, bucket)) throw new CouchError('forbidden_db');
}
