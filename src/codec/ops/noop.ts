/**
 * Header-only commands: NOOP 0x0a (keep-alive and the terminator of a batch of quiet
 * commands; not DCP_NOOP 0x5c) and VERSION 0x0b (response value = version string).
 * Source: kv docs/BinaryProtocol.md "0x0a No-op", "0x0b Version".
 */
import { Opcode } from '../opcodes.js';
import { expectOpcode } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export function encodeNoopRequest(init: PacketInit = {}): Packet {
  return makeRequest(Opcode.Noop, init);
}

export function encodeNoopResponse(init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Noop, init);
}

export function encodeVersionRequest(init: PacketInit = {}): Packet {
  return makeRequest(Opcode.Version, init);
}

export function encodeVersionResponse(version: string, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Version, { ...init, value: Buffer.from(version, 'utf8') });
}

export function decodeVersionResponse(p: Packet): { readonly version: string } {
  expectOpcode(p, Opcode.Version);
  return { version: p.value.toString('utf8') };
}
