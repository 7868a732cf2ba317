/**
 * The SASL mechanisms Freshet's KV port offers, strongest first, as one table.
 *
 * The list and its order are kv_engine's (cbsasl/server.cc `listmech` on plain TCP:
 * "SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN"). Clients need both kinds: gocbcore and
 * java-dcp-client use SCRAM on plain TCP, gomemcached / cbdatasource insist on finding the
 * substring "PLAIN" (dcp.md §4.4, §5.1-5.2), and the C++ SDK ignores the list and sends
 * SCRAM-SHA512 (couchbase-sdk-bootstrap.md §3.2).
 */

import type { ScramHash } from './scram-crypto.js';

export const SASL_MECHANISMS = [
  { name: 'SCRAM-SHA512', kind: 'scram', hash: 'sha512' },
  { name: 'SCRAM-SHA256', kind: 'scram', hash: 'sha256' },
  { name: 'SCRAM-SHA1', kind: 'scram', hash: 'sha1' },
  { name: 'PLAIN', kind: 'plain' },
] as const satisfies ReadonlyArray<{ name: string; kind: 'scram' | 'plain'; hash?: ScramHash }>;

export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export type SaslMechanismName = SaslMechanism['name'];

/** The SASL_LIST_MECHS (0x20) response value. */
export function saslMechanismList(): string {
  return SASL_MECHANISMS.map((m) => m.name).join(' ');
}

export function findSaslMechanism(name: string): SaslMechanism | undefined {
  return SASL_MECHANISMS.find((m) => m.name === name);
}
