/**
 * JWT authentication (CouchDB 3.1+ `{chttpd_auth, jwt_authentication_handler}`; api/server/authn.rst
 * "JWT Authentication", couch_httpd_auth.erl, jwtf.erl, jwtf_keystore.erl), when
 * `[chttpd] authentication_handlers` lists it (proxy-auth.ts).
 *
 * `Authorization: Bearer <token>` names the user `sub` with the roles of the token's roles claim;
 * without that header the next handler runs, and a token that fails ends the request with its
 * error (CouchDB throws; cookie and Basic are not tried). jwtf's order and texts:
 *
 *   three dot-separated parts, else 400 "Malformed token"; header and payload base64url JSON
 *   objects (400 "Malformed token", "Not an object"); `typ` if present must be "JWT"; `alg` one of
 *   HS/RS/ES 256/384/512 (400 "Missing alg header parameter", "Invalid alg header parameter");
 *   then the claims `[jwt_auth] required_claims` names, and only those (CouchDB 3.2+): `iss` (or
 *   `{iss, "value"}`), `iat`, `nbf` (401 "nbf not in past"), `exp` (401 "exp not in future");
 *   `kid`; then the key and the signature (400 "Bad HMAC", "Bad signature"); then `sub` (401
 *   "Token missing sub claim.").
 *
 * Keys are `[jwt_keys] <kty>:<kid>`, kty `hmac` (base64 of the secret), `rsa` or `ec` (a PEM public
 * key, newlines written `\n`); a token without `kid` uses `<kty>:_default` (400 "Unknown kid" when
 * missing). The default of `required_claims` is CouchDB 3.3's: none (3.4 requires `exp`).
 * Roles: `[jwt_auth] roles_claim_path` (dot-separated, `\.` a literal dot; a missing step is 404
 * "missing json key: <step>") or else the top-level claim `roles_claim_name` (default
 * `_couchdb.roles`, none: no roles); a list of strings, or (CouchDB 3.4) one comma-separated string.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CouchError } from '../couch/errors.js';
import type { CouchConfig } from '../couchdb/config.js';
import type { UserCtx } from './request.js';

type Json = Record<string, unknown>;

const DIGESTS: Readonly<Record<string, string>> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
/** jwtf ?CHECKS: the claims `required_claims` may name. */
const CHECKS = new Set(['alg', 'exp', 'iat', 'iss', 'kid', 'nbf', 'sig', 'typ']);

const bad = (reason: string): CouchError => new CouchError('bad_request', { reason });
const unauthorized = (reason: string): CouchError => new CouchError('unauthorized', { reason });

/** `[jwt_auth] required_claims` (couch_httpd_auth get_configured_claims): names, and `{name, "value"}` pairs. */
function requiredClaims(config: CouchConfig): Map<string, string | true> {
  const raw = config.get('jwt_auth', 'required_claims') ?? '';
  const out = new Map<string, string | true>();
  for (const m of raw.matchAll(/([a-z]+)|\{([a-z]+)\s*,\s*"([^"]+)"\}/g)) {
    if (m[1] !== undefined) out.set(m[1], true);
    else out.set(m[2]!, m[3]!);
  }
  if (out.size === 0 && raw.trim() !== '') {
    throw new CouchError('internal', { error: 'misconfigured_server', reason: 'JWT is not configured correctly' });
  }
  const unknown = [...out.keys()].filter((k) => !CHECKS.has(k));
  if (unknown.length > 0) throw new CouchError('internal', { error: 'unknown_checks', reason: unknown.join(',') });
  return out;
}

function decodePart(part: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw bad('Malformed token');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('Not an object');
  return value as Json;
}

/** jwtf_keystore: the key of `<kty>:<kid>` (`_default` without a kid). */
function keyOf(config: CouchConfig, alg: string, kid: unknown): Buffer | KeyObject {
  const kty = alg.startsWith('HS') ? 'hmac' : alg.startsWith('RS') ? 'rsa' : 'ec';
  const name = typeof kid === 'string' ? kid : '_default';
  const value = config.get('jwt_keys', `${kty}:${name}`);
  if (value === undefined) throw bad('Unknown kid');
  if (kty === 'hmac') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.trim())) throw bad('Not a valid key');
    return Buffer.from(value.trim(), 'base64');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(value.replaceAll('\\n', '\n'));
  } catch {
    throw bad('Not a valid key');
  }
  if (kty === 'rsa' && key.asymmetricKeyType !== 'rsa') throw bad('not an RSA public key');
  if (kty === 'ec' && key.asymmetricKeyType !== 'ec') throw bad('not an EC public key');
  return key;
}

function checkSignature(config: CouchConfig, header: Json, signed: string, signature: Buffer): void {
  const alg = header.alg as string;
  const digest = DIGESTS[alg.slice(2)]!;
  const key = keyOf(config, alg, header.kid);
  if (Buffer.isBuffer(key)) {
    const expected = createHmac(digest, key).update(signed).digest();
    if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) throw bad('Bad HMAC');
    return;
  }
  // ES: JOSE's raw R||S signature (CouchDB 3.3+, apache/couchdb#4037).
  const ok = alg.startsWith('ES') ? verify(digest, Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }, signature) : verify(digest, Buffer.from(signed), key, signature);
  if (!ok) throw bad('Bad signature');
}

/** jwtf validate_payload: the required claims, in jwtf's order (iss, iat, nbf, exp). */
function checkClaims(claims: Json, required: Map<string, string | true>, nowSec: number): void {
  const iss = required.get('iss');
  if (iss !== undefined) {
    if (claims.iss === undefined) throw bad('Missing iss claim');
    if (iss !== true && claims.iss !== iss) throw bad('Invalid iss claim');
  }
  if (required.has('iat')) {
    if (claims.iat === undefined) throw bad('Missing iat claim');
    if (!Number.isInteger(claims.iat)) throw bad('Invalid iat claim');
  }
  if (required.has('nbf')) {
    if (claims.nbf === undefined) throw bad('Missing nbf claim');
    if (!(typeof claims.nbf === 'number' && claims.nbf < nowSec)) throw unauthorized('nbf not in past');
  }
  if (required.has('exp')) {
    if (claims.exp === undefined) throw bad('Missing exp claim');
    if (!(typeof claims.exp === 'number' && claims.exp > nowSec)) throw unauthorized('exp not in future');
  }
}

/** couch_httpd_auth get_roles_claim/1. */
function rolesOf(config: CouchConfig, claims: Json): string[] {
  const path = config.get('jwt_auth', 'roles_claim_path');
  let roles: unknown;
  if (path === undefined) {
    roles = claims[config.get('jwt_auth', 'roles_claim_name') ?? '_couchdb.roles'] ?? [];
  } else {
    roles = claims;
    for (const step of path.split(/(?<!\\)\./).map((s) => s.replaceAll('\\.', '.'))) {
      if (typeof roles !== 'object' || roles === null || Array.isArray(roles)) throw new CouchError('not_found_detail', { params: { detail: 'json_mismatch' } });
      if (!Object.hasOwn(roles, step)) throw new CouchError('not_found_detail', { params: { detail: `missing json key: ${step}` } });
      roles = (roles as Json)[step];
    }
  }
  const list = typeof roles === 'string' ? roles.split(/\s*,\s*/).filter((r) => r !== '') : roles;
  if (!Array.isArray(list) || !list.every((r): r is string => typeof r === 'string')) throw bad('Malformed token');
  return list;
}

/** The user a `Bearer` token names, or null without one (then the next handler runs); a bad token throws. */
export function jwtUser(req: IncomingMessage, config: CouchConfig, nowSec = Math.floor(Date.now() / 1000)): UserCtx | null {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) return null;
  const parts = auth.slice('Bearer '.length).split('.');
  if (parts.length !== 3) throw bad('Malformed token');
  const required = requiredClaims(config);
  const header = decodePart(parts[0]!);
  if (header.typ !== undefined && header.typ !== 'JWT' && required.has('typ')) throw bad('Invalid typ header parameter');
  if (header.typ === undefined && required.has('typ')) throw bad('Missing typ header parameter');
  if (header.alg === undefined) throw bad('Missing alg header parameter');
  if (typeof header.alg !== 'string' || !/^(HS|RS|ES)(256|384|512)$/.test(header.alg)) throw bad('Invalid alg header parameter');
  const claims = decodePart(parts[1]!);
  checkClaims(claims, required, nowSec);
  if (required.has('kid') && header.kid === undefined) throw bad('Missing kid claim');
  checkSignature(config, header, `${parts[0]}.${parts[1]}`, Buffer.from(parts[2]!, 'base64url'));
  const roles = rolesOf(config, claims);
  if (claims.sub === undefined) throw unauthorized('Token missing sub claim.');
  const name = typeof claims.sub === 'string' ? claims.sub : JSON.stringify(claims.sub);
  return { name, admin: roles.includes('_admin'), via: 'jwt', roles, source: 'couchdb' };
}
