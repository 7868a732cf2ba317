/**
 * HTTP Basic credentials (RFC 7617) for the management REST API and the CouchDB face.
 *
 * go-couchbase sends `Authorization: Basic base64(user:pass)` on every /pools request
 * (pools.go `maybeAddAuth`); PouchDB and CouchDB replicators do the same. The user-id ends at the
 * first colon, so passwords may contain colons. The scheme name is case-insensitive (RFC 7235 §2.1)
 * and the decoded bytes are UTF-8 (RFC 7617 §2.1 `charset="UTF-8"`).
 */

import { AuthError } from './errors.js';
import { decodeBase64Strict, decodeUtf8Strict } from './scram-messages.js';

export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

/**
 * Returns undefined when there is no header or it uses another scheme (the caller then answers
 * 401 with a challenge); throws AuthError BASIC_MALFORMED for a Basic header that cannot be
 * decoded (bad base64, invalid UTF-8, no colon).
 */
export function parseBasicAuth(header: string | undefined | null): BasicCredentials | undefined {
  if (header === undefined || header === null) return undefined;
  const trimmed = header.trim();
  if (trimmed.length === 0) return undefined;
  const match = /^(\S+)(?:\s+(.*))?$/s.exec(trimmed);
  if (match === null || match[1]!.toLowerCase() !== 'basic') return undefined;
  const token = (match[2] ?? '').trim();
  if (token.length === 0) throw new AuthError('BASIC_MALFORMED', 'Basic credentials are missing');
  // Some clients omit the '=' padding; restore it before the strict decode.
  const padded = token.length % 4 === 0 ? token : token + '='.repeat(4 - (token.length % 4));
  const decoded = token.length % 4 === 1 ? undefined : decodeBase64Strict(padded);
  if (decoded === undefined) throw new AuthError('BASIC_MALFORMED', 'Basic credentials are not base64');
  const text = decodeUtf8Strict(decoded);
  if (text === undefined) throw new AuthError('BASIC_MALFORMED', 'Basic credentials are not UTF-8');
  const colon = text.indexOf(':');
  if (colon < 0) throw new AuthError('BASIC_MALFORMED', 'Basic credentials have no colon');
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function formatBasicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
