/**
 * Logging in as a `_users` user (couchdb/users-db.ts): the password check against the user
 * document, and the salt that keys the user's session cookies (couch_httpd_auth: the cookie MAC
 * is keyed with the server secret plus the user's salt, so a password change ends the sessions).
 *
 * A name the Couchbase user registry knows is never looked up here (auth.ts): the registry's
 * users shadow `_users` documents of the same name, so a name means one principal at a time.
 * Successful checks are remembered (bounded) under a key that includes the stored derived key, so
 * Basic auth on every request does not rerun PBKDF2, and a password change forgets them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Db } from '../couchdb/db.js';
import { CouchError } from '../couch/errors.js';
import { loadUserDoc, userDocRoles, USERS_DB, verifyUserPassword } from '../couchdb/users-db.js';
import type { Engine } from '../engine/engine.js';
import type { Bucket } from '../engine/bucket.js';

const VERIFY_CACHE_LIMIT = 256;

export interface CouchUserLogin {
  name: string;
  roles: string[];
}

export class CouchUsers {
  readonly #cacheKey = randomBytes(32);
  readonly #verified = new Map<string, true>();
  readonly stats = { logins: 0, failures: 0, cacheHits: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly dbOf: (bucket: Bucket) => Db,
  ) {}

  #db(): Db | null {
    const bucket = this.engine.bucket(USERS_DB);
    return bucket ? this.dbOf(bucket) : null;
  }

  #doc(name: string): { body: Record<string, unknown>; conflicted: boolean } | null {
    const db = this.#db();
    return db ? loadUserDoc(db, name) : null;
  }

  /** The user's roles when `password` is theirs, else null. */
  async verify(name: string, password: string): Promise<CouchUserLogin | null> {
    const found = this.#doc(name);
    if (found === null) {
      this.stats.failures++;
      return null;
    }
    const doc = found.body;
    // chttpd_auth_cache maybe_validate_user_creds: a conflicted user document logs nobody in.
    if (found.conflicted) {
      this.stats.failures++;
      throw new CouchError('unauthorized', { reason: 'User document conflicts must be resolved before the document is used for authentication purposes.' });
    }
    const key = createHmac('sha256', this.#cacheKey).update(JSON.stringify([name, password, doc.derived_key, doc.salt])).digest('base64');
    if (this.#verified.has(key)) {
      this.stats.cacheHits++;
    } else if (await verifyUserPassword(doc, password)) {
      if (this.#verified.size >= VERIFY_CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(key, true);
    } else {
      this.stats.failures++;
      return null;
    }
    this.stats.logins++;
    return { name, roles: userDocRoles(doc) };
  }

  /** The current user's roles and the salt keying their cookies, null when there is no such user. */
  session(name: string): { roles: string[]; salt: string } | null {
    const doc = this.#doc(name)?.body;
    if (doc === undefined) return null;
    return { roles: userDocRoles(doc), salt: typeof doc.salt === 'string' ? doc.salt : '' };
  }
}
