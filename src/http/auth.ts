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
 * Password checks (Basic here, `POST /_session` in server-routes.ts) go through the shared
 * failed-login throttle (src/auth/throttle.ts): a throttled address gets its answer, the normal
 * 401, after a delay. A cookie is a MAC check, not a password guess, and is not throttled.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CouchError } from '../couch/errors.js';
import { parseBasicAuth } from '../auth/basic.js';
import { isAuthError } from '../auth/errors.js';
import type { UserRegistry } from '../auth/credentials.js';
import { clientAddress, type AuthThrottle } from '../auth/throttle.js';
import type { SideDb as MetaDb } from '../engine/side-db.js';
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

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }

  issue(name: string, nowSec = Math.floor(Date.now() / 1000)): string {
    const payload = `${name}:${nowSec.toString(16).toUpperCase()}`;
    return Buffer.from(`${payload}:${this.mac(payload).toString('base64url')}`).toString('base64url');
  }

  /** The user and issue time of a valid, unexpired cookie value, else null. */
  verify(value: string, nowSec = Math.floor(Date.now() / 1000)): { name: string; issuedAt: number } | null {
    const text = Buffer.from(value, 'base64url').toString('utf8');
    const last = text.lastIndexOf(':');
    const mid = text.lastIndexOf(':', last - 1);
    if (last < 0 || mid <= 0) return null;
    const payload = text.slice(0, last);
    const given = Buffer.from(text.slice(last + 1), 'base64url');
    const expected = this.mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const issuedAt = parseInt(text.slice(mid + 1, last), 16);
    if (!Number.isFinite(issuedAt) || nowSec - issuedAt >= this.timeoutSec || issuedAt - nowSec > 60) return null;
    return { name: text.slice(0, mid), issuedAt };
  }

  setCookieHeader(value: string): string {
    return `${SESSION_COOKIE}=${value}; Version=1; Path=/; HttpOnly; SameSite=Lax`;
  }

  clearCookieHeader(): string {
    return `${SESSION_COOKIE}=; Version=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`;
  }
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

/** A name/password check from this request's address, through the throttle. */
export function checkPassword(req: IncomingMessage, users: UserRegistry, throttle: AuthThrottle, name: string, password: string): Promise<boolean> {
  return throttle.check(clientAddress(req.socket.remoteAddress), name, 'couchdb', () => users.verifyAsync(name, password));
}

/** Authenticate a request: Basic first (CouchDB's default handler order), then the cookie. */
export async function authenticate(req: IncomingMessage, users: UserRegistry, sessions: Sessions, throttle: AuthThrottle): Promise<AuthResult> {
  let basic;
  try {
    basic = parseBasicAuth(req.headers.authorization);
  } catch (err) {
    if (isAuthError(err)) throw new CouchError('unauthorized');
    throw err;
  }
  if (basic) {
    if (!(await checkPassword(req, users, throttle, basic.user, basic.password))) throw new CouchError('unauthorized');
    return { user: { name: basic.user, admin: users.isAdmin(basic.user), via: 'default' } };
  }
  const cookie = readCookie(req, SESSION_COOKIE);
  if (cookie) {
    const now = Math.floor(Date.now() / 1000);
    const session = sessions.verify(cookie, now);
    // An expired or forged cookie is ignored (anonymous), as CouchDB does, not an error.
    if (session && users.has(session.name)) {
      const user: UserCtx = { name: session.name, admin: users.isAdmin(session.name), via: 'cookie' };
      const refresh = now - session.issuedAt > sessions.timeoutSec / 10;
      return refresh ? { user, refreshCookie: sessions.issue(session.name, now) } : { user };
    }
  }
  return { user: null };
}

export function roles(user: UserCtx | null): string[] {
  return user?.admin ? ['_admin'] : [];
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

/** A user who may read and write `bucket`. */
export function requireDbAccess(rc: RequestCtx, bucket: string): UserCtx {
  const user = rc.user;
  if (!user) throw new CouchError('unauthorized_db');
  if (!rc.face.ctx.users.canAccessBucket(user.name, bucket)) throw new CouchError('forbidden_db');
  return user;
}
