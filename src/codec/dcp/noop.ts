/**
 * DCP_NOOP 0x5c: the producer's liveness probe (producer -> consumer request; the
 * consumer must reply with magic 0x81, opcode 0x5c, the same opaque, status 0).
 * Source: kv docs/dcp/documentation/commands/no-op.md, dead-connections.md; dcp.md §2.4, §3.7.
 *
 * Request and response: header only (no extras, key or value).
 * Not to be confused with the plain NOOP 0x0a (ops/noop.ts).
 *
 * Erratum (no-op.md): the request dump shows 28 bytes and opaque 0 while its field table
 * says opaque 5 and total body 0; the packet is the 24-byte header with opaque 5.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export function encodeDcpNoopRequest(opaque: number, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.DcpNoop, { ...init, opaque });
}

export function decodeDcpNoopRequest(p: Packet): { readonly opaque: number } {
  expectOpcode(p, Opcode.DcpNoop);
  expectExtras(p, 0);
  expectKey(p, false);
  expectNoValue(p);
  return { opaque: p.opaque };
}

/** The consumer's reply: same opaque, status Success. */
export function encodeDcpNoopResponse(opaque: number, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.DcpNoop, { ...init, opaque });
}
