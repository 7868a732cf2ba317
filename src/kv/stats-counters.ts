import { KvOpCounters } from './op-counters.js';
import type { Session } from './session.js';

/** Counters of the KV listener: one per branch outcome worth watching (`stats` shows them). */
export interface KvStats {
  /** Requests by opcode and status, with latencies (op-counters.ts). */
  readonly ops: KvOpCounters;
  /** The open connections (`stats connections`, closing those of a deleted bucket). */
  readonly live: Set<Session>;
  connections: number;
  totalConnections: number;
  commands: number;
  errors: number;
  unknownCommands: number;
  accessDenied: number;
  noBucket: number;
  authSuccess: number;
  authFailure: number;
  malformedFrames: number;
  packetsOut: number;
  readPauses: number;
  writeStalls: number;
  /** TLS port: handshakes that failed (a plain-text client, a protocol or certificate mismatch). */
  tlsHandshakeFailures: number;
  /** Plain port: connections whose first byte was a TLS handshake record (0x16). */
  tlsOnPlainPort: number;
  /** Sub-document commands run (kv `cmd_subdoc_lookup` / `cmd_subdoc_mutation`), and mutations a spec refused. */
  readonly subdoc: { lookups: number; mutations: number; mutationFailures: number };
  /** Range scans (commands/range-scan.ts): created, items sent, run to completion, cancelled by the client. */
  readonly rangeScan: { created: number; items: number; completed: number; cancelled: number };
}

export function newKvStats(): KvStats {
  return {
    ops: new KvOpCounters(),
    live: new Set(),
    connections: 0,
    totalConnections: 0,
    commands: 0,
    errors: 0,
    unknownCommands: 0,
    accessDenied: 0,
    noBucket: 0,
    authSuccess: 0,
    authFailure: 0,
    malformedFrames: 0,
    packetsOut: 0,
    readPauses: 0,
    writeStalls: 0,
    tlsHandshakeFailures: 0,
    tlsOnPlainPort: 0,
    subdoc: { lookups: 0, mutations: 0, mutationFailures: 0 },
    rangeScan: { created: 0, items: 0, completed: 0, cancelled: 0 },
  };
}
