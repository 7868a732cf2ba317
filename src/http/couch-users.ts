/**
 * Logging in as a `_users` user (couchdb/users-db.ts): the password check against the user
 * document, and the salt that keys the user's session cookies (couch_httpd_auth: the cookie MAC
 * is keyed with the server secret plus the user's salt, so a password change ends the sessions).
 *
 * A name the Couchbase user registry knows is never looked up here (auth.ts): the registry's
 * users shadow `_users` documents of the same name, so a name means one principal at a time.
 * Checks go through CouchDB's password cache (couchdb/passwords-cache.ts, password-auth.ts), so
 * Basic auth on every request does not rerun PBKDF2.
 *
 * Each credentials lookup of an authentication (a Basic check, a login, a cookie) is counted as
 * CouchDB's chttpd_auth_cache counts it (`auth_cache_hits`, `auth_cache_misses` in `_stats`): a
 * hit when the user's document is the revision last looked up, kept for the last
 * `[chttpd_auth] auth_cache_size` users (50); a miss otherwise, as after a change of the document,
 * which chttpd_auth_cache evicts, or for a name without one, which it never caches.
 */
import type { Db } from '../couchdb/db.js';
import { CouchError } from '../couch/errors.js';
import { loadUserDoc, userDocRoles, USERS_DB, verifyUserPassword } from '../couchdb/users-db.js';
import type { Engine } from '../engine/engine.js';
import type { Bucket } from '../engine/bucket.js';

export interface CouchUserCreds {
  /** The document's `salt` ('' without one): the password cache's and the cookies' key. */
  salt: string;
  roles: string[];
  /** The slow check against the stored key; `onHash` just before a PBKDF2 runs. */
  verify(password: string, onHash?: () => void): Promise<boolean>;
}

export class CouchUsers {
  /** The revision of each user document last looked up, least recently used first. */
  readonly #creds = new Map<string, string>();
  readonly stats = { authCacheHits: 0, authCacheMisses: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly dbOf: (bucket: Bucket) => Db,
    /** `[chttpd_auth] auth_cache_size`. */
    private readonly cacheSize: () => number = () => 50,
  ) {}

  #db(): Db | null {
    const bucket = this.engine.bucket(USERS_DB);
    return bucket ? this.dbOf(bucket) : null;
  }

  #doc(name: string): { body: Record<string, unknown>; rev: string; conflicted: boolean } | null {
    const db = this.#db();
    return db ? loadUserDoc(db, name) : null;
  }

  /** The user's document for an authentication, counted as chttpd_auth_cache get_from_cache counts. */
  #lookup(name: string): { body: Record<string, unknown>; conflicted: boolean } | null {
    const found = this.#doc(name);
    const hit = found !== null && this.#creds.get(name) === found.rev;
    this.#creds.delete(name);
    if (hit) this.stats.authCacheHits++;
    else this.stats.authCacheMisses++;
    if (found === null) return null;
    this.#creds.set(name, found.rev);
    const limit = Math.max(1, this.cacheSize());
    for (const oldest of this.#creds.keys()) {
      if (this.#creds.size <= limit) break;
      this.#creds.delete(oldest);
    }
    return found;
  }

  /**
   * The credentials a password check of `name` uses (chttpd_auth_cache get_user_creds/2), null
   * when there is no such user; a credentials lookup (counted). The check itself, with the
   * password cache and the lockout, is password-auth.ts's.
   */
  credentials(name: string): CouchUserCreds | null {
    const found = this.#lookup(name);
    if (found === null) return null;
    // chttpd_auth_cache maybe_validate_user_creds: a conflicted user document logs nobody in.
    if (found.conflicted) throw new CouchError('unauthorized', { reason: 'User document conflicts must be resolved before the document is used for authentication purposes.' });
    const doc = found.body;
    return { salt: saltOf(doc), roles: userDocRoles(doc), verify: (password, onHash) => verifyUserPassword(doc, password, onHash) };
  }

  /**
   * A cookie's user: the current roles and the salt keying their cookies, null when there is no
   * such user. A credentials lookup (counted); `salt` alone is not one.
   */
  session(name: string): { roles: string[]; salt: string } | null {
    const doc = this.#lookup(name)?.body;
    if (doc === undefined) return null;
    return { roles: userDocRoles(doc), salt: saltOf(doc) };
  }

  /** The salt keying the user's cookies (issuing one), null when there is no such user. */
  salt(name: string): string | null {
    const doc = this.#doc(name)?.body;
    return doc === undefined ? null : saltOf(doc);
  }
}

function saltOf(doc: Record<string, unknown>): string {
  return typeof doc.salt === 'string' ? doc.salt : '';
}
