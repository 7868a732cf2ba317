/**
 * SCRAM key derivation and proof arithmetic (RFC 5802 §3), for the three hashes Couchbase uses.
 *
 *   SaltedPassword  := Hi(password, salt, i)            -- PBKDF2-HMAC-H, dkLen = digest size
 *   ClientKey       := HMAC(SaltedPassword, "Client Key")
 *   StoredKey       := H(ClientKey)
 *   ServerKey       := HMAC(SaltedPassword, "Server Key")
 *   ClientSignature := HMAC(StoredKey, AuthMessage)
 *   ClientProof     := ClientKey XOR ClientSignature
 *   ServerSignature := HMAC(ServerKey, AuthMessage)
 *
 * Passwords are used as their UTF-8 bytes without normalisation. That is what kv_engine does:
 * its `SASLPrep` (cbsasl/scram-sha/stringutils.cc) only rejects control characters and invalid
 * UTF-8 and returns the input unchanged, and ns_server's `scram_sha:pbkdf2` hashes the raw bytes.
 */

import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/**
 * Mechanism names as Couchbase spells them (no dash before the digest size): kv_engine
 * cbsasl/server.cc `listmech` answers "SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN".
 */
export const SCRAM_HASHES = {
  sha512: { mechanism: 'SCRAM-SHA512', digest: 'sha512', bytes: 64 },
  sha256: { mechanism: 'SCRAM-SHA256', digest: 'sha256', bytes: 32 },
  sha1: { mechanism: 'SCRAM-SHA1', digest: 'sha1', bytes: 20 },
} as const;

export type ScramHash = keyof typeof SCRAM_HASHES;
export type ScramMechanism = (typeof SCRAM_HASHES)[ScramHash]['mechanism'];

/** Strongest first, the order in which Couchbase lists (and clients prefer) them. */
export const SCRAM_HASH_ORDER: readonly ScramHash[] = ['sha512', 'sha256', 'sha1'];

export function scramHashForMechanism(mechanism: string): ScramHash | undefined {
  return SCRAM_HASH_ORDER.find((h) => SCRAM_HASHES[h].mechanism === mechanism);
}

/** What a server stores per user and hash; the password itself is never kept. */
export interface ScramCredentials {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

type Bytes = string | Uint8Array;

function bytes(value: Bytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

export function hmac(hash: ScramHash, key: Bytes, data: Bytes): Buffer {
  return createHmac(SCRAM_HASHES[hash].digest, bytes(key)).update(bytes(data)).digest();
}

export function digest(hash: ScramHash, data: Bytes): Buffer {
  return createHash(SCRAM_HASHES[hash].digest).update(bytes(data)).digest();
}

export function xorBuffers(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`xor of unequal lengths ${a.length} and ${b.length}`);
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Length-safe constant-time comparison (timingSafeEqual throws on unequal lengths). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Hi() of RFC 5802 §2.2, which is PBKDF2 with HMAC-H and one output block. */
export function saltedPassword(hash: ScramHash, password: Bytes, salt: Uint8Array, iterations: number): Buffer {
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError(`SCRAM iteration count must be a positive integer, got ${iterations}`);
  }
  const h = SCRAM_HASHES[hash];
  return pbkdf2Sync(bytes(password), salt, iterations, h.bytes, h.digest);
}

export function credentialsFromSaltedPassword(
  hash: ScramHash,
  salted: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): ScramCredentials {
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: Buffer.from(salt),
    iterations,
    storedKey: digest(hash, clientKey),
    serverKey: hmac(hash, salted, 'Server Key'),
  };
}

export function deriveScramCredentials(
  hash: ScramHash,
  password: Bytes,
  salt: Uint8Array,
  iterations: number,
): ScramCredentials {
  return credentialsFromSaltedPassword(hash, saltedPassword(hash, password, salt, iterations), salt, iterations);
}

export function clientProof(hash: ScramHash, salted: Uint8Array, authMessage: string): Buffer {
  const clientKey = hmac(hash, salted, 'Client Key');
  const clientSignature = hmac(hash, digest(hash, clientKey), authMessage);
  return xorBuffers(clientKey, clientSignature);
}

export function serverSignature(hash: ScramHash, serverKey: Uint8Array, authMessage: string): Buffer {
  return hmac(hash, serverKey, authMessage);
}

/**
 * The server-side check of RFC 5802 §3: recover ClientKey = proof XOR ClientSignature and compare
 * H(ClientKey) with StoredKey in constant time.
 */
export function verifyClientProof(
  hash: ScramHash,
  storedKey: Uint8Array,
  authMessage: string,
  proof: Uint8Array,
): boolean {
  if (proof.length !== SCRAM_HASHES[hash].bytes) return false;
  const clientSignature = hmac(hash, storedKey, authMessage);
  return constantTimeEqual(digest(hash, xorBuffers(proof, clientSignature)), storedKey);
}
