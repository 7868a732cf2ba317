/**
 * DCP_BUFFER_ACKNOWLEDGEMENT 0x5d (consumer -> producer; no response on success).
 * Source: kv docs/dcp/documentation/commands/buffer-ack.md, flow-control.md,
 * daemon/protocol/mcbp/dcp_buffer_acknowledgement_executor.cc; dcp.md §2.4, §3.6.
 *
 * Extras 4: bytes consumed since the last ack (u32), counting whole messages (header +
 * body). No key, no value. Connection-level flow control, so vbucket 0 and usually
 * opaque 0. kv only answers on error, so a sender must not wait for a reply.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, u32Buffer } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export function encodeBufferAck(bytes: number, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.DcpBufferAcknowledgement, { ...init, extras: u32Buffer(bytes) });
}

export function decodeBufferAck(p: Packet): { readonly bytes: number } {
  expectOpcode(p, Opcode.DcpBufferAcknowledgement);
  expectExtras(p, 4);
  expectKey(p, false);
  expectNoValue(p);
  return { bytes: p.extras.readUInt32BE(0) };
}
