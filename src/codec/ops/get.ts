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
 *
 * Two encoders for the response: `encodeGetResponse` builds a Packet (any magic, status, framing
 * extras), and `encodeGetResponseFrame` writes the bytes of a successful reply with the classic
 * response magic straight into one buffer. A GET reply built as a Packet and then encoded costs
 * several objects and buffers per request (the Packet, its extras writer, the encoded copy); on a
 * pipelined load that is most of the KV face's CPU, so the KV face answers hits with the frame
 * encoder (test/codec/frames.test.ts checks the two give the same bytes). The frame encoder is also
 * what GAT/GATQ hits use (ops/touch.ts: same response layout).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, toBuffer, u32Buffer } from '../layout.js';
import { copyRange, putU32 } from '../bytes.js';
import type { Bytes } from '../layout.js';
import { Magic } from '../magic.js';
import { HEADER_LENGTH, makeRequest, makeResponse, writeHeader, writeHeaderFields } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export type GetOpcode = typeof Opcode.Get | typeof Opcode.GetQ | typeof Opcode.GetK | typeof Opcode.GetKQ;
/** GET_REPLICA (0x83) has GET's request layout: a key, no extras, no value. */
const GET_OPCODES: readonly number[] = [Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ, Opcode.GetReplica];

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

/** EVICT_KEY (0x93) has GET's request layout: a key, no extras, no value (kv evict_key_validator). */
export function decodeEvictKeyRequest(p: Packet): DecodedGetRequest {
  expectOpcode(p, Opcode.EvictKey);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  return { opcode: p.opcode, key: p.key, vbucket: p.vbucket };
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

/**
 * The bytes of a successful GET/GETQ/GETK/GETKQ/GAT/GATQ reply in one allocation: status Success,
 * extras = 4-byte flags, then the key (GETK variants only: pass an empty buffer otherwise), then
 * the value. The same bytes as `encodePacket(encodeGetResponse(...))`.
 */
export function encodeGetResponseFrame(opcode: number, opaque: number, cas: bigint, flags: number, datatype: number, key: Buffer, value: Buffer): Buffer {
  const body = 4 + key.length + value.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body);
  writeHeader(out, Magic.ClientResponse, opcode, 0, key.length, 4, datatype, 0, body, opaque, cas);
  putU32(out, HEADER_LENGTH, flags);
  key.copy(out, HEADER_LENGTH + 4);
  value.copy(out, HEADER_LENGTH + 4 + key.length);
  return out;
}

/**
 * `encodeGetResponseFrame` from bytes held elsewhere, without a BigInt or a value buffer: the
 * CAS is the 8 big-endian bytes at `src[casAt]`, the value `src[valueStart..]` (the KV face's GET
 * answered from a stored record, engine/record-view.ts).
 */
export function encodeGetResponseFrameFrom(opcode: number, opaque: number, flags: number, datatype: number, key: Buffer, src: Buffer, casAt: number, valueStart: number): Buffer {
  const valueLength = src.length - valueStart;
  const body = 4 + key.length + valueLength;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body);
  writeHeaderFields(out, Magic.ClientResponse, opcode, 0, key.length, 4, datatype, 0, body, opaque);
  copyRange(src, casAt, casAt + 8, out, 16);
  putU32(out, HEADER_LENGTH, flags);
  copyRange(key, 0, key.length, out, HEADER_LENGTH + 4);
  copyRange(src, valueStart, src.length, out, HEADER_LENGTH + 4 + key.length);
  return out;
}
