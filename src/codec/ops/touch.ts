/**
 * TOUCH 0x1c, GAT 0x1d (get-and-touch), GATQ 0x1e.
 * Source: kv docs/BinaryProtocol.md "0x1c Touch"; dcp.md §2.3.
 *
 * Request:  extras 4: new expiration (u32); key; no value.
 * TOUCH response: CAS in the header (any extras are ignored by clients).
 * GAT/GATQ response: like GET: extras 4 = item flags, value = document, CAS in header.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, toBuffer, u32Buffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import type { GetResponse } from './get.js';

export type TouchOpcode = typeof Opcode.Touch | typeof Opcode.Gat | typeof Opcode.GatQ;
const TOUCH_OPCODES: readonly number[] = [Opcode.Touch, Opcode.Gat, Opcode.GatQ];

export interface TouchRequest {
  readonly opcode?: TouchOpcode;
  readonly key: Bytes;
  readonly expiration: number;
  readonly vbucket?: number;
}

export interface DecodedTouchRequest {
  readonly opcode: number;
  readonly key: Buffer;
  readonly expiration: number;
  readonly vbucket: number;
}

export function encodeTouchRequest(req: TouchRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.opcode ?? Opcode.Touch, {
    vbucket: req.vbucket ?? 0,
    ...init,
    extras: u32Buffer(req.expiration),
    key: toBuffer(req.key),
  });
}

export function decodeTouchRequest(p: Packet): DecodedTouchRequest {
  expectOpcode(p, ...TOUCH_OPCODES);
  expectExtras(p, 4);
  expectKey(p, true);
  expectNoValue(p);
  return { opcode: p.opcode, key: p.key, expiration: p.extras.readUInt32BE(0), vbucket: p.vbucket };
}

export function encodeTouchResponse(cas: bigint, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Touch, { ...init, cas });
}

export function decodeTouchResponse(p: Packet): { readonly cas: bigint } {
  expectOpcode(p, Opcode.Touch);
  return { cas: p.cas };
}

export function encodeGatResponse(
  res: { readonly flags: number; readonly value: Bytes; readonly datatype?: number; readonly cas: bigint },
  init: PacketInit = {},
): Packet {
  return makeResponse(Opcode.Gat, {
    ...init,
    extras: u32Buffer(res.flags),
    value: toBuffer(res.value),
    datatype: res.datatype ?? 0,
    cas: res.cas,
  });
}

export function decodeGatResponse(p: Packet): GetResponse {
  expectOpcode(p, Opcode.Gat, Opcode.GatQ);
  expectExtras(p, 4);
  return { flags: p.extras.readUInt32BE(0), value: p.value, datatype: p.datatype, cas: p.cas, key: p.key };
}
