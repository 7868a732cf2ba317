/**
 * INCREMENT 0x05 / DECREMENT 0x06 (quiet: 0x15 / 0x16).
 * Source: kv docs/BinaryProtocol.md "0x05 Increment"; dcp.md §2.3.
 *
 * Request extras 20:
 *   0  8  delta (u64)
 *   8  8  initial value (u64), used when the key does not exist
 *  16  4  expiration; 0xffffffff = do not create a missing key (KeyEnoent instead)
 * key; no value.
 * Response: value = 8-byte new counter (u64); CAS in the header; extras empty or the
 * 16-byte mutation token.
 *
 * Counters are full-range u64, so delta/initial/value are bigints.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, expectValueLength, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { decodeMutationToken, encodeMutationToken } from './mutation-token.js';
import type { MutationToken } from './mutation-token.js';

export const ARITH_OPCODES: readonly number[] = [Opcode.Increment, Opcode.Decrement, Opcode.IncrementQ, Opcode.DecrementQ];

/** Expiration value meaning "fail with KeyEnoent instead of creating the counter". */
export const ARITH_NO_CREATE = 0xffffffff;

export interface ArithRequest {
  /** Increment, Decrement or a quiet twin (default Increment). */
  readonly opcode?: number;
  readonly key: Bytes;
  readonly delta: bigint;
  readonly initial?: bigint;
  readonly expiration?: number;
  readonly vbucket?: number;
}

export interface DecodedArithRequest {
  readonly opcode: number;
  readonly key: Buffer;
  readonly delta: bigint;
  readonly initial: bigint;
  readonly expiration: number;
  readonly vbucket: number;
}

export interface ArithResponse {
  readonly value: bigint;
  readonly cas: bigint;
  readonly token?: MutationToken;
}

export function encodeArithRequest(req: ArithRequest, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(20)
    .u64(req.delta)
    .u64(req.initial ?? 0n)
    .u32(req.expiration ?? 0)
    .toBuffer();
  return makeRequest(req.opcode ?? Opcode.Increment, { vbucket: req.vbucket ?? 0, ...init, extras, key: toBuffer(req.key) });
}

export function decodeArithRequest(p: Packet): DecodedArithRequest {
  expectOpcode(p, ...ARITH_OPCODES);
  expectExtras(p, 20);
  expectKey(p, true);
  expectNoValue(p);
  const r = new BufferReader(p.extras);
  return { opcode: p.opcode, key: p.key, delta: r.u64(), initial: r.u64(), expiration: r.u32(), vbucket: p.vbucket };
}

export function encodeArithResponse(opcode: number, res: ArithResponse, init: PacketInit = {}): Packet {
  return makeResponse(opcode, {
    ...init,
    cas: res.cas,
    extras: encodeMutationToken(res.token),
    value: new BufferWriter(8).u64(res.value).toBuffer(),
  });
}

export function decodeArithResponse(p: Packet): ArithResponse {
  expectOpcode(p, ...ARITH_OPCODES);
  expectValueLength(p, 8);
  const value = p.value.readBigUInt64BE(0);
  const token = decodeMutationToken(p);
  return token === undefined ? { value, cas: p.cas } : { value, cas: p.cas, token };
}
