/**
 * CouchDB 3.4's password verification cache (couch_passwords_cache.erl) and the two counters
 * `_stats` shows of it (couch/priv/stats_descriptions.cfg): `couchdb.password_hashing_fast` and
 * `couchdb.password_hashing_slow`.
 *
 * A stored password is a PBKDF2 key of many iterations, slow on purpose against offline attacks.
 * After one successful slow check, the cache keeps a PBKDF2-SHA256 of the password of only
 * 5 iterations (FAST_ITERATIONS, 32 bytes), keyed by the authentication module, the user name and
 * the user's salt: a new password comes with a new salt, so it never matches an old entry. An
 * entry found answers the check on its own, right or wrong, with one fast hash; none found means
 * the slow check against the stored key, and on success an entry is written (one more fast hash).
 *
 * Counted as CouchDB counts them: `fast` for each fast hash (hash/2, on a lookup that found an
 * entry and on insert/4), `slow` for each PBKDF2 of a stored key (couch_passwords:pbkdf2/5,
 * which also hashes a `_users` password when its document is saved). So a wrong password of an
 * uncached user is one slow and no fast, a right one one slow and one fast, a cached one one fast.
 *
 * `[couch_passwords_cache] enable` (default true), `max_objects` (10 000) and `max_idle` (600 000
 * ms, since an entry was last used), as couch_primary_sup starts the LRU, read at each use.
 */
import { pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { TimedLru } from '../common/timed-lru.js';
import type { CouchConfig } from './config.js';

const FAST_ITERATIONS = 5;
const SHA256_OUTPUT_LEN = 32;
const SECTION = 'couch_passwords_cache';

/** Which credentials a name was checked against: the Couchbase user registry's, or a `_users` document's. */
export type PasswordSource = 'registry' | '_users';

export class PasswordsCache {
  readonly stats = { fast: 0, slow: 0 };
  readonly #lru: TimedLru<Buffer>;

  constructor(
    private readonly config: CouchConfig,
    now: () => number = Date.now,
  ) {
    this.#lru = new TimedLru(() => ({ maxObjects: config.int(SECTION, 'max_objects', 10_000), maxIdleMs: config.int(SECTION, 'max_idle', 600_000) }), now);
  }

  /** config:get_boolean("couch_passwords_cache", "enable", true). */
  get enabled(): boolean {
    return this.config.get(SECTION, 'enable') !== 'false';
  }

  /** couch_passwords_cache:authenticate/4: the cached answer, or null when there is none. */
  authenticate(source: PasswordSource, name: string, password: string, salt: string): boolean | null {
    if (!this.enabled) return null;
    const expected = this.#lru.get(cacheKey(source, name, salt));
    if (expected === undefined) return null;
    return timingSafeEqual(expected, this.#hash(password, salt));
  }

  /** couch_passwords_cache:insert/4, after a successful slow check. */
  insert(source: PasswordSource, name: string, password: string, salt: string): void {
    if (this.enabled) this.#lru.set(cacheKey(source, name, salt), this.#hash(password, salt));
  }

  /** A PBKDF2 of a stored key is about to run (couch_passwords:pbkdf2/5 counts it). */
  countSlow(): void {
    this.stats.slow++;
  }

  #hash(password: string, salt: string): Buffer {
    this.stats.fast++;
    return pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), FAST_ITERATIONS, SHA256_OUTPUT_LEN, 'sha256');
  }
}

/** {AuthModule, UserName, Salt}, unambiguous as JSON. */
function cacheKey(source: PasswordSource, name: string, salt: string): string {
  return JSON.stringify([source, name, salt]);
}
