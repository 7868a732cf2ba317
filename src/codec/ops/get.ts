/**
 * GET 0x00, GETQ 0x09, GETK 0x0c, GETKQ 0x0d.
 * Source: kv docs/BinaryProtocol.md "0x00 Get"; dcp.md §2.3.
 *
 * Request:  no extras, key = document key, no value.
 * Response (found):
 *   extras 4: item flags (u32, opaque to the server, echoed as stored)
 *   key:      the key for GETK/GETKQ, empty for GET/GETQ
 *   value:    document; CAS in the header; datatype = value's datatype
 * Miss: status KeyEnoent (the quiet variants stay silent instead).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, toBuffer, u32Buffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export type GetOpcode = typeof Opcode.Get | typeof Opcode.GetQ | typeof Opcode.GetK | typeof Opcode.GetKQ;
const GET_OPCODES: readonly number[] = [Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ];

export interface GetRequest {
  readonly key: Bytes;
  readonly vbucket?: number;
  readonly opcode?: GetOpcode;
}

export interface DecodedGetRequest {
  readonly opcode: number;
  readonly key: Buffer;
  readonly vbucket: number;
}

export interface GetResponse {
  readonly flags: number;
  readonly value: Buffer;
  readonly datatype: number;
  readonly cas: bigint;
  /** Present for GETK/GETKQ, empty otherwise. */
  readonly key: Buffer;
}

export function encodeGetRequest(req: GetRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.opcode ?? Opcode.Get, { vbucket: req.vbucket ?? 0, ...init, key: toBuffer(req.key) });
}

export function decodeGetRequest(p: Packet): DecodedGetRequest {
  expectOpcode(p, ...GET_OPCODES);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  return { opcode: p.opcode, key: p.key, vbucket: p.vbucket };
}

export interface GetResponseInit {
  readonly opcode?: GetOpcode;
  readonly flags: number;
  readonly value: Bytes;
  readonly datatype?: number;
  readonly cas: bigint;
  /** Only sent for GETK/GETKQ. */
  readonly key?: Bytes;
}

export function encodeGetResponse(res: GetResponseInit, init: PacketInit = {}): Packet {
  const opcode = res.opcode ?? Opcode.Get;
  const withKey = opcode === Opcode.GetK || opcode === Opcode.GetKQ;
  return makeResponse(opcode, {
    ...init,
    extras: u32Buffer(res.flags),
    key: withKey ? toBuffer(res.key) : Buffer.alloc(0),
    value: toBuffer(res.value),
    datatype: res.datatype ?? 0,
    cas: res.cas,
  });
}

/** Decode a successful GET-family response (callers check `status` first). */
export function decodeGetResponse(p: Packet): GetResponse {
  expectOpcode(p, ...GET_OPCODES);
  expectExtras(p, 4);
  return { flags: p.extras.readUInt32BE(0), value: p.value, datatype: p.datatype, cas: p.cas, key: p.key };
}
