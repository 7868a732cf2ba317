/**
 * The user registry: who may log in, with which secrets, and which buckets they may use.
 *
 * Two kinds of user, modelled on Couchbase's RBAC as Freshet needs it: the single administrator
 * (full access to every bucket and to the admin endpoints, like ns_server's cluster Administrator)
 * and bucket users, whose roles (roles.ts) grant privileges on their buckets, scopes and
 * collections. Plaintext passwords are never stored; see
 * user-records.ts for what is. The storage engine keeps the records through two callbacks:
 * `load()` once at construction and `save(allRecords)` after every change. A change becomes
 * visible only after `save` resolves; if it rejects, nothing changes.
 */

import { createHmac, randomBytes } from 'node:crypto';
import { AuthError } from './errors.js';
import type { ScramCredentials, ScramHash } from './scram-crypto.js';
import { SCRAM_HASH_ORDER } from './scram-crypto.js';
import { DEFAULT_SCRAM_ITERATIONS, type ScramServerContext } from './scram.js';
import { BucketAccess, type RoleGrant } from './roles.js';
import {
  createUserRecord,
  grantsOf,
  normalizeGrants,
  hashPassword,
  loadScramSecret,
  parseUserRecord,
  verifyPasswordHash,
  verifyPasswordHashAsync,
  type HashingOptions,
  type PasswordHash,
  type UserRecord,
  type UserRole,
} from './user-records.js';

export { parseBasicAuth, formatBasicAuth, type BasicCredentials } from './basic.js';
export {
  DEFAULT_PASSWORD_ITERATIONS,
  DEFAULT_SCRAM_ITERATIONS,
  createUserRecord,
  hashPassword,
  verifyPasswordHash,
  type UserRecord,
  type UserRole,
} from './user-records.js';

export interface UserRegistryOptions extends HashingOptions {
  /** Records as last saved; validated, since they come from disk. */
  readonly load: () => readonly unknown[];
  readonly save: (records: readonly UserRecord[]) => Promise<void>;
  /**
   * Secret from which unknown users' fake SCRAM salts are derived. Persist it (ns_server keeps its
   * `scramsha_fallback_salt` in the cluster config) so the fake salts, like real ones, survive a
   * restart; a random one is used when absent.
   */
  readonly fallbackSecret?: Uint8Array;
}

export interface UserSummary {
  readonly name: string;
  readonly role: UserRole;
  readonly buckets: readonly string[];
  /** A bucket user's roles; empty for the administrator. */
  readonly grants: readonly RoleGrant[];
  /** The full name given when the user was last put (ns_server's user prop `name`). */
  readonly fullName?: string;
  /** When the password was last set, in ms since the epoch. */
  readonly passwordChanged?: number;
}

/**
 * A user's profile as a write gives it: `fullName` replaces the stored one (absent: none), as
 * ns_server's PUT of a user replaces its props. Writes that pass no profile keep the stored one.
 */
export interface UserProfile {
  readonly fullName?: string;
}

/** A bucket name (`bucket_full_access` on it) or a role grant. */
export type GrantSpec = string | RoleGrant;

interface Entry {
  readonly record: UserRecord;
  readonly scram: { readonly [H in ScramHash]: ScramCredentials };
}

/** Successful verifications remembered, so HTTP Basic on every request does not rerun PBKDF2. */
const VERIFY_CACHE_LIMIT = 256;

function toEntry(record: UserRecord): Entry {
  const scram = Object.fromEntries(SCRAM_HASH_ORDER.map((h) => [h, loadScramSecret(record.scram[h])])) as {
    [H in ScramHash]: ScramCredentials;
  };
  return { record, scram };
}

export class UserRegistry {
  readonly #save: UserRegistryOptions['save'];
  readonly #hashing: HashingOptions;
  readonly #cacheKey = randomBytes(32);
  readonly #fallbackSecret: Uint8Array;
  readonly #verified = new Map<string, true>();
  #users: ReadonlyMap<string, Entry>;
  #dummy: PasswordHash | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  #generation = 0;

  constructor(opts: UserRegistryOptions) {
    this.#save = opts.save;
    this.#hashing = { scramIterations: opts.scramIterations, passwordIterations: opts.passwordIterations };
    this.#fallbackSecret = opts.fallbackSecret ?? randomBytes(64);
    const users = new Map<string, Entry>();
    for (const raw of opts.load()) {
      const record = parseUserRecord(raw);
      if (users.has(record.name)) {
        throw new AuthError('USER_STORE_CORRUPT', `duplicate user ${record.name}`, { name: record.name });
      }
      users.set(record.name, toEntry(record));
    }
    if ([...users.values()].filter((e) => e.record.role === 'admin').length > 1) {
      throw new AuthError('USER_STORE_CORRUPT', 'more than one administrator');
    }
    this.#users = users;
  }

  /** Bound lookup for ScramServerContext.lookup. */
  readonly scramLookup = (user: string, hash: ScramHash): ScramCredentials | undefined =>
    this.scramCredentials(user, hash);

  /**
   * Everything a ScramServerSession needs. Unknown users get the same iteration count as the
   * registry uses for real ones, so the server-first does not give them away.
   */
  scramServerContext(hash: ScramHash): ScramServerContext {
    return {
      hash,
      lookup: this.scramLookup,
      unknownUser: { secret: this.#fallbackSecret, iterations: this.#hashing.scramIterations ?? DEFAULT_SCRAM_ITERATIONS },
    };
  }

  get size(): number {
    return this.#users.size;
  }

  list(): UserSummary[] {
    return [...this.#users.values()]
      .map(({ record }) => ({
        name: record.name,
        role: record.role,
        buckets: record.buckets,
        grants: grantsOf(record),
        ...(record.fullName === undefined ? {} : { fullName: record.fullName }),
        ...(record.passwordChanged === undefined ? {} : { passwordChanged: record.passwordChanged }),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  has(user: string): boolean {
    return this.#users.has(user);
  }

  isAdmin(user: string): boolean {
    return this.#users.get(user)?.record.role === 'admin';
  }

  /**
   * Bumped by every committed change, so a connection can keep its compiled access (kv/access.ts)
   * and rebuild it only when roles changed: kv_engine's privilege-context version check.
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Full data access to the bucket: the administrator or `bucket_full_access`. What the faces that
   * have no finer check require (the CouchDB face, DCP, the REST bucket scopes), so a user with
   * a scoped role gets no more there than Couchbase would give.
   */
  canAccessBucket(user: string, bucket: string): boolean {
    return this.bucketAccess(user, bucket).full;
  }

  /** Some role on the bucket: enough to select it and read its settings (ns_server settings!read). */
  hasBucketRole(user: string, bucket: string): boolean {
    return this.bucketAccess(user, bucket).any;
  }

  /** A bucket user's roles (roles.ts); none for the administrator or an unknown name. */
  grantsOf(user: string): readonly RoleGrant[] {
    const record = this.#users.get(user)?.record;
    return record === undefined ? [] : grantsOf(record);
  }

  /** The user's privileges on one bucket (roles.ts). */
  bucketAccess(user: string, bucket: string): BucketAccess {
    const record = this.#users.get(user)?.record;
    if (record === undefined) return BucketAccess.NONE;
    if (record.role === 'admin') return BucketAccess.FULL;
    return BucketAccess.of(bucket, grantsOf(record));
  }

  /**
   * The salt of the user's PLAIN/Basic password hash, new with every password set: the CouchDB
   * face keys its password cache with it (couchdb/passwords-cache.ts), as CouchDB keys an
   * `[admins]` entry's with the hash's salt.
   */
  passwordSalt(user: string): string | undefined {
    return this.#users.get(user)?.record.password.salt;
  }

  scramCredentials(user: string, hash: ScramHash): ScramCredentials | undefined {
    return this.#users.get(user)?.scram[hash];
  }

  /**
   * PLAIN / Basic check. Synchronous PBKDF2 (about 10 ms at the default count); HTTP handlers
   * should prefer verifyAsync. Unknown users cost the same as known ones, so timing does not
   * reveal which users exist.
   */
  verify(user: string, password: string): boolean {
    const key = this.#cacheKeyFor(user, password);
    if (this.#verified.has(key)) return true;
    const entry = this.#users.get(user);
    const ok = verifyPasswordHash(password, entry?.record.password ?? this.#dummyHash()) && entry !== undefined;
    if (ok) this.#remember(key);
    return ok;
  }

  async verifyAsync(user: string, password: string): Promise<boolean> {
    const key = this.#cacheKeyFor(user, password);
    if (this.#verified.has(key)) return true;
    const users = this.#users;
    const entry = users.get(user);
    const ok = (await verifyPasswordHashAsync(password, entry?.record.password ?? this.#dummyHash())) && entry !== undefined;
    // Only cache if no change was committed while hashing.
    if (ok && this.#users === users) this.#remember(key);
    return ok;
  }

  /** Create or replace the administrator; any previous administrator is removed. */
  setAdmin(name: string, password: string): Promise<void> {
    return this.#mutate((users) => {
      const record = createUserRecord({ name, password, role: 'admin' }, this.#hashing);
      for (const [n, e] of users) if (e.record.role === 'admin') users.delete(n);
      users.set(name, toEntry(record));
    });
  }

  /** Create or replace a bucket user. The administrator cannot be turned into one. */
  setBucketUser(name: string, password: string, buckets: readonly GrantSpec[], profile?: UserProfile): Promise<void> {
    return this.#mutate((users) => {
      const old = users.get(name)?.record;
      if (old?.role === 'admin') {
        throw new AuthError('USER_INVALID', `${name} is the administrator`, { name });
      }
      const fullName = profile === undefined ? old?.fullName : profile.fullName;
      users.set(name, toEntry(createUserRecord({ name, password, role: 'bucket', buckets, ...(fullName === undefined ? {} : { fullName }) }, this.#hashing)));
    });
  }

  /** Replace a bucket user's roles (and, given a profile, its full name), keeping the password. */
  setBuckets(name: string, buckets: readonly GrantSpec[], profile?: UserProfile): Promise<void> {
    return this.#mutate((users) => {
      const entry = users.get(name);
      if (entry === undefined || entry.record.role !== 'bucket') {
        throw new AuthError('USER_INVALID', `${name} is not a bucket user`, { name });
      }
      const { grants, buckets: named } = normalizeGrants(buckets, name);
      const { fullName: oldName, ...kept } = entry.record;
      const fullName = profile === undefined ? oldName : profile.fullName;
      users.set(name, { ...entry, record: { ...kept, buckets: named, grants, ...(fullName === undefined ? {} : { fullName }) } });
    });
  }

  /** Resolves true when the user existed. */
  removeUser(name: string): Promise<boolean> {
    let existed = false;
    return this.#mutate((users) => {
      existed = users.delete(name);
    }).then(() => existed);
  }

  /** Serialise changes: each one starts from the committed state of the previous one. */
  #mutate(change: (users: Map<string, Entry>) => void): Promise<void> {
    const run = async (): Promise<void> => {
      const next = new Map(this.#users);
      change(next);
      await this.#save([...next.values()].map((e) => e.record));
      this.#users = next;
      this.#generation++;
      this.#verified.clear();
    };
    const result = this.#writes.then(run, run);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  #dummyHash(): PasswordHash {
    this.#dummy ??= hashPassword(randomBytes(16).toString('base64'), this.#hashing.passwordIterations);
    return this.#dummy;
  }

  #cacheKeyFor(user: string, password: string): string {
    // JSON keeps the pair unambiguous (a user name could contain the separator otherwise).
    return createHmac('sha256', this.#cacheKey).update(JSON.stringify([user, password])).digest('base64');
  }

  #remember(key: string): void {
    if (this.#verified.size >= VERIFY_CACHE_LIMIT) {
      const oldest = this.#verified.keys().next();
      if (oldest.done !== true) this.#verified.delete(oldest.value);
    }
    this.#verified.set(key, true);
  }
}
