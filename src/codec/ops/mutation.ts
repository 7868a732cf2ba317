/**
 * SET 0x01 / ADD 0x02 / REPLACE 0x03 (quiet: 0x11 / 0x12 / 0x13) and
 * APPEND 0x0e / PREPEND 0x0f (quiet: 0x19 / 0x1a).
 * Source: kv docs/BinaryProtocol.md "0x01 Set", "0x0e Append"; dcp.md §2.3.
 *
 * SET/ADD/REPLACE request:
 *   extras 8: flags (u32) | expiration (u32, 0 = never, <= 30 days relative, else absolute)
 *   key: document key; value: document; header CAS: 0 or compare-and-swap value
 * APPEND/PREPEND request: no extras; key; value = bytes to add.
 * Response (all): CAS of the new item in the header; extras empty or the 16-byte
 * mutation token (ops/mutation-token.ts); no key, no value.
 *
 * `encodeMutationResponseFrame` writes the bytes of a successful response with the classic magic
 * straight into one buffer, for the KV face's hot path (see ops/get.ts for why); it gives the same
 * bytes as `encodePacket(encodeMutationResponse(...))` (test/codec/frames.test.ts).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { BufferWriter } from '../buffer-writer.js';
import { Magic } from '../magic.js';
import { HEADER_LENGTH, makeRequest, makeResponse, writeHeader } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { getU32, putU64 } from '../bytes.js';
import { MUTATION_TOKEN_LENGTH, decodeMutationToken, encodeMutationToken } from './mutation-token.js';
import type { MutationToken } from './mutation-token.js';

export const STORE_OPCODES: readonly number[] = [
  Opcode.Set,
  Opcode.Add,
  Opcode.Replace,
  Opcode.SetQ,
  Opcode.AddQ,
  Opcode.ReplaceQ,
];
export const CONCAT_OPCODES: readonly number[] = [Opcode.Append, Opcode.Prepend, Opcode.AppendQ, Opcode.PrependQ];

export interface StoreRequest {
  /** Set, Add, Replace or a quiet twin (default Set). */
  readonly opcode?: number;
  readonly key: Bytes;
  readonly value: Bytes;
  readonly flags?: number;
  readonly expiration?: number;
  readonly cas?: bigint;
  readonly datatype?: number;
  readonly vbucket?: number;
}

export interface DecodedStoreRequest {
  readonly opcode: number;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly flags: number;
  readonly expiration: number;
  readonly cas: bigint;
  readonly datatype: number;
  readonly vbucket: number;
}

export function encodeStoreRequest(req: StoreRequest, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(8)
    .u32(req.flags ?? 0)
    .u32(req.expiration ?? 0)
    .toBuffer();
  return makeRequest(req.opcode ?? Opcode.Set, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    datatype: req.datatype ?? 0,
    ...init,
    extras,
    key: toBuffer(req.key),
    value: toBuffer(req.value),
  });
}

export function decodeStoreRequest(p: Packet): DecodedStoreRequest {
  expectOpcode(p, ...STORE_OPCODES);
  expectExtras(p, 8);
  expectKey(p, true);
  // The 8 extras were checked above; unchecked reads (codec/bytes.ts), as every SET decodes them.
  return {
    opcode: p.opcode,
    key: p.key,
    value: p.value,
    flags: getU32(p.extras, 0),
    expiration: getU32(p.extras, 4),
    cas: p.cas,
    datatype: p.datatype,
    vbucket: p.vbucket,
  };
}

export interface ConcatRequest {
  /** Append, Prepend or a quiet twin (default Append). */
  readonly opcode?: number;
  readonly key: Bytes;
  readonly value: Bytes;
  readonly cas?: bigint;
  readonly datatype?: number;
  readonly vbucket?: number;
}

export interface DecodedConcatRequest {
  readonly opcode: number;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly cas: bigint;
  readonly datatype: number;
  readonly vbucket: number;
}

export function encodeConcatRequest(req: ConcatRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.opcode ?? Opcode.Append, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    datatype: req.datatype ?? 0,
    ...init,
    key: toBuffer(req.key),
    value: toBuffer(req.value),
  });
}

export function decodeConcatRequest(p: Packet): DecodedConcatRequest {
  expectOpcode(p, ...CONCAT_OPCODES);
  expectExtras(p, 0);
  expectKey(p, true);
  return { opcode: p.opcode, key: p.key, value: p.value, cas: p.cas, datatype: p.datatype, vbucket: p.vbucket };
}

export interface MutationResponse {
  readonly cas: bigint;
  readonly token?: MutationToken;
}

/** Response to any store/concat opcode (pass the request's opcode and opaque in `init`). */
export function encodeMutationResponse(opcode: number, res: MutationResponse, init: PacketInit = {}): Packet {
  return makeResponse(opcode, { ...init, cas: res.cas, extras: encodeMutationToken(res.token) });
}

export function decodeMutationResponse(p: Packet): MutationResponse {
  const token = decodeMutationToken(p);
  return token === undefined ? { cas: p.cas } : { cas: p.cas, token };
}

/**
 * The bytes of a successful mutation response (SET/ADD/REPLACE/APPEND/PREPEND/DELETE and quiet
 * twins) in one allocation: the new CAS, and the 16-byte mutation token when the client negotiated
 * MUTATION_SEQNO. Seqno and UUID stay below 2^53 (mutation-token.ts).
 */
export function encodeMutationResponseFrame(opcode: number, opaque: number, cas: bigint, token?: MutationToken): Buffer {
  const extras = token ? MUTATION_TOKEN_LENGTH : 0;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + extras);
  writeHeader(out, Magic.ClientResponse, opcode, 0, 0, extras, 0, 0, extras, opaque, cas);
  if (token) {
    putU64(out, HEADER_LENGTH, token.vbUuid);
    putU64(out, HEADER_LENGTH + 8, token.seqno);
  }
  return out;
}
