/**
 * DELETE 0x04 / DELETEQ 0x14.
 * Source: kv docs/BinaryProtocol.md "0x04 Delete"; dcp.md §2.3.
 *
 * Request:  no extras; key; no value; header CAS = 0 or the CAS the item must have.
 * Response: CAS of the tombstone in the header; extras empty or the 16-byte mutation
 *           token (ops/mutation-token.ts); no key, no value.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { decodeMutationResponse, encodeMutationResponse } from './mutation.js';
import type { MutationResponse } from './mutation.js';

export interface DeleteRequest {
  readonly key: Bytes;
  readonly cas?: bigint;
  readonly vbucket?: number;
  readonly quiet?: boolean;
}

export interface DecodedDeleteRequest {
  readonly quiet: boolean;
  readonly key: Buffer;
  readonly cas: bigint;
  readonly vbucket: number;
}

export function encodeDeleteRequest(req: DeleteRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.quiet === true ? Opcode.DeleteQ : Opcode.Delete, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    ...init,
    key: toBuffer(req.key),
  });
}

export function decodeDeleteRequest(p: Packet): DecodedDeleteRequest {
  expectOpcode(p, Opcode.Delete, Opcode.DeleteQ);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  return { quiet: p.opcode === Opcode.DeleteQ, key: p.key, cas: p.cas, vbucket: p.vbucket };
}

export function encodeDeleteResponse(res: MutationResponse, init: PacketInit = {}): Packet {
  return encodeMutationResponse(Opcode.Delete, res, init);
}

export function decodeDeleteResponse(p: Packet): MutationResponse {
  expectOpcode(p, Opcode.Delete, Opcode.DeleteQ);
  return decodeMutationResponse(p);
}
