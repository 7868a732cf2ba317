/**
 * SASL PLAIN (RFC 4616): message = [authzid] NUL authcid NUL passwd.
 *
 * Used by gomemcached / cbdatasource on plain TCP (dcp.md §4.4: SASL_AUTH key "PLAIN", value
 * "\0user\0password") and by the Couchbase SDKs over TLS or with `sasl_mech_force=PLAIN`.
 *
 * Stricter than kv_engine cbsasl/plain/plain.cc, which tolerates a missing second NUL (empty
 * password) and ignores the authzid: here the payload must have exactly two NULs, the user must be
 * non-empty, every field must be valid UTF-8, and an authzid must be empty or equal to the user
 * (Freshet has no impersonation). An empty password parses; it simply never verifies.
 */

import { AuthError } from './errors.js';
import { decodeUtf8Strict } from './scram-messages.js';

export const PLAIN_MECHANISM = 'PLAIN';

export interface PlainCredentials {
  readonly authzid: string;
  readonly user: string;
  readonly password: string;
}

function field(bytes: Uint8Array, name: string): string {
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) throw new AuthError('SASL_BAD_PARAM', `PLAIN ${name} is not valid UTF-8`);
  return text;
}

export function parsePlain(payload: Uint8Array | string): PlainCredentials {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (bytes.length === 0) throw new AuthError('SASL_BAD_PARAM', 'PLAIN payload is empty');
  const first = bytes.indexOf(0);
  if (first < 0) throw new AuthError('SASL_BAD_PARAM', 'PLAIN payload has no NUL separator');
  const second = bytes.indexOf(0, first + 1);
  if (second < 0) throw new AuthError('SASL_BAD_PARAM', 'PLAIN payload has only one NUL separator');
  if (bytes.indexOf(0, second + 1) >= 0) throw new AuthError('SASL_BAD_PARAM', 'PLAIN payload has more than two NULs');
  const authzid = field(bytes.subarray(0, first), 'authzid');
  const user = field(bytes.subarray(first + 1, second), 'user');
  const password = field(bytes.subarray(second + 1), 'password');
  if (user.length === 0) throw new AuthError('SASL_BAD_PARAM', 'PLAIN user is empty');
  return { authzid, user, password };
}

export function encodePlain(user: string, password: string, authzid = ''): Buffer {
  return Buffer.concat([Buffer.from(authzid), Buffer.from([0]), Buffer.from(user), Buffer.from([0]), Buffer.from(password)]);
}

/** The one method of UserRegistry that PLAIN needs. */
export interface PasswordVerifier {
  verify(user: string, password: string): boolean;
}

/** Parse and check a PLAIN payload; returns the authenticated user or throws AuthError. */
export function authenticatePlain(payload: Uint8Array | string, verifier: PasswordVerifier): string {
  const creds = parsePlain(payload);
  if (creds.authzid.length > 0 && creds.authzid !== creds.user) {
    throw new AuthError('SASL_AUTH_FAILED', 'authorization identity differs from the user', { user: creds.user });
  }
  if (!verifier.verify(creds.user, creds.password)) {
    throw new AuthError('SASL_AUTH_FAILED', undefined, { user: creds.user });
  }
  return creds.user;
}
