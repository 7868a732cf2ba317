/**
 * One password check of the CouchDB face, as couch_httpd_auth:authenticate/5 makes it for Basic
 * credentials (default_authentication_handler) and `POST /_session` (handle_session_req):
 *
 * 1. the lockout (auth-lockout.ts, `[chttpd_auth_lockout]`): a user locked out from this address
 *    is refused with 403 before the password is looked at;
 * 2. the password cache (couchdb/passwords-cache.ts): an entry for the user and salt answers with
 *    one fast hash, right or wrong;
 * 3. else the slow check against the stored key (one PBKDF2, counted), and on success an entry;
 * 4. a wrong password counts a failure for the lockout.
 *
 * The server admin is checked this way too, against the Couchbase user registry's PBKDF2 hash and
 * salt, as CouchDB checks an `[admins]` entry: so `_stats` shows one fast hash per request an
 * admin makes with Basic credentials, as CouchDB's password_cache_test.exs expects.
 *
 * Around steps 2-4, Freshet's failed-login throttle (src/auth/throttle.ts) delays attempts from an
 * address with failures; an attempt it refuses unchecked counts nothing here.
 */
import type { IncomingMessage } from 'node:http';
import { clientAddress } from '../auth/throttle.js';
import type { PasswordSource } from '../couchdb/passwords-cache.js';
import type { HttpFace } from './face.js';

/** A user's stored credentials, as the check needs them. */
export interface PasswordCreds {
  readonly source: PasswordSource;
  /** The salt of the stored key ('' without one): new with every password. */
  readonly salt: string;
  /** The slow check against the stored key; `onHash` just before a PBKDF2 runs. */
  verify(password: string, onHash: () => void): Promise<boolean>;
}

/**
 * Whether `password` is `name`'s. `creds` null: no such user, which fails (and counts for the
 * lockout, keyed with an empty salt, as couch_httpd_auth does for a `_session` login).
 * Throws 403 when the user is locked out.
 */
export async function authenticatePassword(req: IncomingMessage, face: HttpFace, name: string, password: string, creds: PasswordCreds | null): Promise<boolean> {
  const salt = creds?.salt ?? '';
  face.lockout.check(req, name, salt);
  const passwords = face.passwords;
  return face.ctx.authThrottle.check(clientAddress(req.socket.remoteAddress), name, 'couchdb', async () => {
    let ok = false;
    if (creds !== null) {
      const cached = passwords.authenticate(creds.source, name, password, salt);
      if (cached !== null) {
        ok = cached;
      } else {
        ok = await creds.verify(password, () => passwords.countSlow());
        if (ok) passwords.insert(creds.source, name, password, salt);
      }
    }
    if (!ok) face.lockout.failed(req, name, salt);
    return ok;
  });
}
