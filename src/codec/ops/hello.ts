/**
 * HELLO 0x1f: negotiate features.
 * Source: kv docs/BinaryProtocol.md "0x1f HELO"; dcp.md §2.2; couchbase-sdk-bootstrap.md §2.
 *
 * Request:  no extras; key = user agent (if it starts with '{' the server parses it as
 *           JSON {"a": agent, "i": connection id}); value = list of u16 feature codes.
 * Response: no extras, no key; value = the subset the server enabled, as u16 codes.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, expectValueMultiple, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface HelloRequest {
  readonly agent: Bytes;
  readonly features: readonly number[];
}

function encodeFeatures(features: readonly number[]): Buffer {
  const w = new BufferWriter(features.length * 2);
  for (const f of features) w.u16(f);
  return w.toBuffer();
}

function decodeFeatures(p: Packet): number[] {
  expectValueMultiple(p, 2);
  const r = new BufferReader(p.value);
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.u16());
  return out;
}

export function encodeHelloRequest(req: HelloRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.Hello, { ...init, key: toBuffer(req.agent), value: encodeFeatures(req.features) });
}

export function decodeHelloRequest(p: Packet): { readonly agent: string; readonly features: number[] } {
  expectOpcode(p, Opcode.Hello);
  expectExtras(p, 0);
  return { agent: p.key.toString('utf8'), features: decodeFeatures(p) };
}

export function encodeHelloResponse(features: readonly number[], init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Hello, { ...init, value: encodeFeatures(features) });
}

export function decodeHelloResponse(p: Packet): { readonly features: number[] } {
  expectOpcode(p, Opcode.Hello);
  expectExtras(p, 0);
  expectKey(p, false);
  return { features: decodeFeatures(p) };
}
