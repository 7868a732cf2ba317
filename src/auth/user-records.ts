/**
 * Stored user records: what is kept instead of passwords, how it is derived, and how records read
 * back from disk are validated.
 *
 * Following ns_server (include/ns_common.hrl, src/scram_sha.erl, menelaus_users), each user keeps
 * - per SCRAM hash: a random salt of the digest size, the iteration count, StoredKey and ServerKey
 *   (ns_server keys `salt`, `iterations`, `stored_key`, `server_key`); default 15000 iterations
 *   (`DEFAULT_SCRAM_ITER`; older releases used 4000, kv_engine's own default is 4096);
 * - for PLAIN and HTTP Basic: PBKDF2-HMAC-SHA512 over a 16-byte salt, default 10000 iterations
 *   (`DEFAULT_PBKDF2_ITER`, ns_server's `pbkdf2-hmac-sha512` password hash).
 * Both counts are configurable so tests can use small ones. All byte strings are base64 so the
 * records are plain JSON for the storage engine.
 */

import { pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { AuthError } from './errors.js';
import { DEFAULT_SCRAM_ITERATIONS } from './scram.js';
import {
  SCRAM_HASHES,
  SCRAM_HASH_ORDER,
  constantTimeEqual,
  deriveScramCredentials,
  type ScramCredentials,
  type ScramHash,
} from './scram-crypto.js';
import { decodeBase64Strict } from './scram-messages.js';
import { ROLE_DEFINITIONS, isBucketRoleName, type GrantTarget, type RoleGrant } from './roles.js';

export { DEFAULT_SCRAM_ITERATIONS };
export const DEFAULT_PASSWORD_ITERATIONS = 10000;
export const PASSWORD_HASH_ALGORITHM = 'pbkdf2-hmac-sha512';
const PASSWORD_SALT_BYTES = 16;
const PASSWORD_HASH_BYTES = 64;

const pbkdf2Async = promisify(pbkdf2);

export interface PasswordHash {
  readonly algorithm: typeof PASSWORD_HASH_ALGORITHM;
  readonly salt: string;
  readonly iterations: number;
  readonly hash: string;
}

export interface StoredScramSecret {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** `admin`: every bucket and the admin endpoints. `bucket`: exactly the listed buckets. */
export type UserRole = 'admin' | 'bucket';

export interface UserRecord {
  readonly name: string;
  readonly role: UserRole;
  /** Always empty for the admin; for a bucket user, the buckets its grants name. */
  readonly buckets: readonly string[];
  /**
   * A bucket user's roles (roles.ts). Absent in records written before scoped roles existed:
   * each bucket of `buckets` is then `bucket_full_access` (`grantsOf`).
   */
  readonly grants?: readonly RoleGrant[];
  readonly password: PasswordHash;
  readonly scram: { readonly [H in ScramHash]: StoredScramSecret };
  /** The user's full name (ns_server's user prop `name`), when one was given. */
  readonly fullName?: string;
  /**
   * When the password was last set, in ms since the epoch (ns_server `password_change_timestamp`);
   * absent in records written before it was kept.
   */
  readonly passwordChanged?: number;
}

export interface HashingOptions {
  readonly scramIterations?: number;
  readonly passwordIterations?: number;
}

export function hashPassword(password: string, iterations = DEFAULT_PASSWORD_ITERATIONS, salt?: Uint8Array): PasswordHash {
  const s = salt ?? randomBytes(PASSWORD_SALT_BYTES);
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), s, iterations, PASSWORD_HASH_BYTES, 'sha512');
  return {
    algorithm: PASSWORD_HASH_ALGORITHM,
    salt: Buffer.from(s).toString('base64'),
    iterations,
    hash: hash.toString('base64'),
  };
}

/** Recomputes the hash and compares in constant time. */
export function verifyPasswordHash(password: string, stored: PasswordHash): boolean {
  const salt = Buffer.from(stored.salt, 'base64');
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, stored.iterations, expected.length, 'sha512');
  return constantTimeEqual(actual, expected);
}

/** Same as verifyPasswordHash, computed on the libuv thread pool so the event loop keeps running. */
export async function verifyPasswordHashAsync(password: string, stored: PasswordHash): Promise<boolean> {
  const salt = Buffer.from(stored.salt, 'base64');
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, stored.iterations, expected.length, 'sha512');
  return constantTimeEqual(actual, expected);
}

export function storeScramSecret(creds: ScramCredentials): StoredScramSecret {
  return {
    salt: creds.salt.toString('base64'),
    iterations: creds.iterations,
    storedKey: creds.storedKey.toString('base64'),
    serverKey: creds.serverKey.toString('base64'),
  };
}

export function loadScramSecret(secret: StoredScramSecret): ScramCredentials {
  return {
    salt: Buffer.from(secret.salt, 'base64'),
    iterations: secret.iterations,
    storedKey: Buffer.from(secret.storedKey, 'base64'),
    serverKey: Buffer.from(secret.serverKey, 'base64'),
  };
}

/**
 * ns_server's rule for local user names (menelaus_web_rbac): at most 128 characters, no control
 * characters and none of ()<>@,;:\"/[]?={}. Excluding ':' also keeps names usable in HTTP Basic.
 */
export function validateUserName(name: string): void {
  if (name.length === 0 || [...name].length > 128) {
    throw new AuthError('USER_INVALID', 'user name must be 1 to 128 characters', { name });
  }
  if (/[\x00-\x1f\x7f()<>@,;:\\"/[\]?={}]/.test(name)) {
    throw new AuthError('USER_INVALID', 'user name contains a forbidden character', { name });
  }
}

/** ns_server bucket names: [A-Za-z0-9._%-], at most 100 characters, not starting with '.'. */
export function validateBucketName(name: string): void {
  if (!/^[A-Za-z0-9_%-][A-Za-z0-9._%-]{0,99}$/.test(name)) {
    throw new AuthError('USER_INVALID', `invalid bucket name ${JSON.stringify(name)}`, { bucket: name });
  }
}

export interface UserSpec {
  readonly name: string;
  readonly password: string;
  readonly role: UserRole;
  /** A bucket name stands for `bucket_full_access` on it. */
  readonly buckets?: readonly (string | RoleGrant)[];
  readonly fullName?: string;
  /** When the password is set, in ms since the epoch; now by default. */
  readonly passwordChanged?: number;
}

/** A bucket user's roles; the administrator has none (it holds everything). */
export function grantsOf(record: Pick<UserRecord, 'role' | 'buckets' | 'grants'>): readonly RoleGrant[] {
  if (record.role === 'admin') return [];
  return record.grants ?? record.buckets.map((bucket) => ({ role: 'bucket_full_access', bucket }));
}

function sameGrant(a: RoleGrant, b: RoleGrant): boolean {
  return a.role === b.role && a.bucket === b.bucket && a.scope?.id === b.scope?.id && a.collection?.id === b.collection?.id;
}

/**
 * Grants from a list of bucket names and grants, validated and without duplicates, with the
 * sorted bucket list they name. Throws USER_INVALID.
 */
export function normalizeGrants(items: readonly (string | RoleGrant)[], name?: string): { grants: RoleGrant[]; buckets: string[] } {
  const grants: RoleGrant[] = [];
  for (const item of items) {
    const g: RoleGrant = typeof item === 'string' ? { role: 'bucket_full_access', bucket: item } : item;
    validateGrant(g);
    if (!grants.some((x) => sameGrant(x, g))) grants.push(g);
  }
  const buckets = [...new Set(grants.map((g) => g.bucket))].sort();
  // No grant at all is a user with no roles: Couchbase accepts one (ns_server put_user_validators:
  // `roles` defaults to []); it signs in and may use nothing.
  return { grants, buckets };
}

function validTarget(t: GrantTarget | undefined): boolean {
  return t === undefined || (typeof t.name === 'string' && t.name.length > 0 && Number.isInteger(t.id) && t.id >= 0);
}

function validateGrant(g: RoleGrant): void {
  const bad = (why: string): AuthError => new AuthError('USER_INVALID', `invalid role grant: ${why}`, { grant: g });
  if (!isBucketRoleName(g.role)) throw bad(`unknown role ${String(g.role)}`);
  validateBucketName(g.bucket);
  if (!validTarget(g.scope) || !validTarget(g.collection)) throw bad('scope and collection need a name and an id');
  if (g.collection !== undefined && g.scope === undefined) throw bad('a collection needs its scope');
  if (ROLE_DEFINITIONS[g.role].params === 'bucket' && g.scope !== undefined) throw bad(`${g.role} takes a bucket only`);
}

export function createUserRecord(spec: UserSpec, opts: HashingOptions = {}): UserRecord {
  validateUserName(spec.name);
  if (spec.password.length === 0) throw new AuthError('USER_INVALID', 'password must not be empty');
  const access = spec.role === 'admin' ? undefined : normalizeGrants(spec.buckets ?? [], spec.name);
  const iterations = opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
  const scramFor = (hash: ScramHash): StoredScramSecret =>
    storeScramSecret(deriveScramCredentials(hash, spec.password, randomBytes(SCRAM_HASHES[hash].bytes), iterations));
  return {
    name: spec.name,
    role: spec.role,
    buckets: access?.buckets ?? [],
    ...(access === undefined ? {} : { grants: access.grants }),
    password: hashPassword(spec.password, opts.passwordIterations ?? DEFAULT_PASSWORD_ITERATIONS),
    scram: { sha512: scramFor('sha512'), sha256: scramFor('sha256'), sha1: scramFor('sha1') },
    ...(spec.fullName === undefined ? {} : { fullName: spec.fullName }),
    passwordChanged: spec.passwordChanged ?? Date.now(),
  };
}

function corrupt(reason: string, context: Record<string, unknown> = {}): AuthError {
  return new AuthError('USER_STORE_CORRUPT', `stored user record is malformed: ${reason}`, context);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64Field(obj: Record<string, unknown>, key: string, bytes?: number): string {
  const value = obj[key];
  const decoded = typeof value === 'string' ? decodeBase64Strict(value) : undefined;
  if (decoded === undefined || decoded.length === 0 || (bytes !== undefined && decoded.length !== bytes)) {
    throw corrupt(`${key} is not base64 of the right length`);
  }
  return value as string;
}

function iterationsField(obj: Record<string, unknown>): number {
  const value = obj['iterations'];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw corrupt('iterations is not a positive integer');
  return value;
}

function parseScramSecret(value: unknown, hash: ScramHash): StoredScramSecret {
  if (!isObject(value)) throw corrupt(`scram.${hash} is missing`);
  const bytes = SCRAM_HASHES[hash].bytes;
  return {
    salt: base64Field(value, 'salt'),
    iterations: iterationsField(value),
    storedKey: base64Field(value, 'storedKey', bytes),
    serverKey: base64Field(value, 'serverKey', bytes),
  };
}

/** Validate one record read back from storage; throws AuthError USER_STORE_CORRUPT. */
export function parseUserRecord(value: unknown): UserRecord {
  if (!isObject(value)) throw corrupt('not an object');
  const { name, role, buckets, grants, password, scram, fullName, passwordChanged } = value;
  if (typeof name !== 'string') throw corrupt('name is not a string');
  try {
    validateUserName(name);
    if (Array.isArray(buckets)) buckets.forEach((b) => validateBucketName(String(b)));
  } catch (err) {
    throw corrupt(err instanceof Error ? err.message : String(err), { name });
  }
  if (role !== 'admin' && role !== 'bucket') throw corrupt('role is not admin or bucket', { name });
  if (!Array.isArray(buckets) || !buckets.every((b): b is string => typeof b === 'string')) {
    throw corrupt('buckets is not a list of names', { name });
  }
  // An empty bucket list is a user with no roles only when the record says so with its grants.
  if (role === 'bucket' && buckets.length === 0 && grants === undefined) throw corrupt('bucket user without buckets', { name });
  if (role === 'admin' && buckets.length > 0) throw corrupt('admin with a bucket list', { name });
  let parsedGrants: RoleGrant[] | undefined;
  if (grants !== undefined) {
    if (role !== 'bucket' || !Array.isArray(grants)) throw corrupt('grants on a non-bucket user, or not a list', { name });
    let normal: ReturnType<typeof normalizeGrants>;
    try {
      normal = normalizeGrants(grants as RoleGrant[], name);
    } catch (err) {
      throw corrupt(err instanceof Error ? err.message : String(err), { name });
    }
    if (normal.buckets.join('\0') !== [...buckets].sort().join('\0')) throw corrupt('buckets do not match the grants', { name });
    parsedGrants = normal.grants;
  }
  if (!isObject(password) || password['algorithm'] !== PASSWORD_HASH_ALGORITHM) {
    throw corrupt('password hash is missing or of an unknown algorithm', { name });
  }
  if (!isObject(scram)) throw corrupt('scram secrets are missing', { name });
  if (fullName !== undefined && typeof fullName !== 'string') throw corrupt('fullName is not a string', { name });
  if (passwordChanged !== undefined && !(typeof passwordChanged === 'number' && Number.isSafeInteger(passwordChanged) && passwordChanged >= 0)) {
    throw corrupt('passwordChanged is not a time', { name });
  }
  const secrets = Object.fromEntries(SCRAM_HASH_ORDER.map((h) => [h, parseScramSecret(scram[h], h)])) as {
    [H in ScramHash]: StoredScramSecret;
  };
  return {
    name,
    role,
    buckets: [...buckets],
    ...(parsedGrants === undefined ? {} : { grants: parsedGrants }),
    password: {
      algorithm: PASSWORD_HASH_ALGORITHM,
      salt: base64Field(password, 'salt'),
      iterations: iterationsField(password),
      hash: base64Field(password, 'hash'),
    },
    scram: secrets,
    ...(fullName === undefined ? {} : { fullName }),
    ...(passwordChanged === undefined ? {} : { passwordChanged }),
  };
}
