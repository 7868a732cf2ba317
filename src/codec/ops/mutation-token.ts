/**
 * Mutation token extras: 16 bytes = vbucket UUID (u64) + seqno (u64), attached to
 * successful mutation responses (SET/ADD/REPLACE/APPEND/PREPEND/DELETE/INCR/DECR) when
 * the client negotiated HELLO MutationSeqno 0x04.
 * Source: kv docs/BinaryProtocol.md "0x01 Set" ("If the client enabled the Mutation Seqno
 * feature..."); dcp.md §2.3; couchbase-sdk-bootstrap.md §4.2.
 *
 * Both values are JS numbers: kv vbucket UUIDs are 48-bit and seqnos stay far below 2^53
 * (dcp.md §3.3); a larger value is a ProtocolError rather than a silent rounding.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { layoutError } from '../layout.js';
import type { Packet } from '../packet.js';

export const MUTATION_TOKEN_LENGTH = 16;

export interface MutationToken {
  readonly vbUuid: number;
  readonly seqno: number;
}

export function encodeMutationToken(t: MutationToken | undefined): Buffer {
  if (t === undefined) return Buffer.alloc(0);
  return new BufferWriter(MUTATION_TOKEN_LENGTH).u64(t.vbUuid).u64(t.seqno).toBuffer();
}

/** Token from a response's extras: undefined when absent (extras empty), error otherwise. */
export function decodeMutationToken(p: Packet): MutationToken | undefined {
  if (p.extras.length === 0) return undefined;
  if (p.extras.length !== MUTATION_TOKEN_LENGTH) {
    throw layoutError(p, `mutation token extras must be 0 or 16 bytes, got ${p.extras.length}`);
  }
  const r = new BufferReader(p.extras);
  return { vbUuid: r.u64Number('vbucket uuid'), seqno: r.u64Number('seqno') };
}
