/**
 * STAT 0x10. Source: kv docs/BinaryProtocol.md "0x10 Stat"; dcp.md §2.3
 * (group `vbucket-seqno [vb]` gives `vb_<n>:high_seqno`, `vb_<n>:vb_uuid`, ...).
 *
 * Request: no extras; key = optional group name (empty = default stats); value = optional
 *   JSON arguments for some groups.
 * Response: one packet per statistic (key = name, value = ASCII value), all with the
 *   request's opaque, terminated by a packet with no key and no value.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface StatRequest {
  readonly group?: string;
  readonly args?: Bytes;
}

export function encodeStatRequest(req: StatRequest = {}, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.Stat, {
    ...init,
    key: Buffer.from(req.group ?? '', 'utf8'),
    value: toBuffer(req.args),
  });
}

export function decodeStatRequest(p: Packet): { readonly group: string; readonly args: Buffer } {
  expectOpcode(p, Opcode.Stat);
  expectExtras(p, 0);
  return { group: p.key.toString('utf8'), args: p.value };
}

export interface StatEntry {
  readonly name: string;
  readonly value: string;
}

export function encodeStatResponse(entry: StatEntry, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Stat, { ...init, key: Buffer.from(entry.name, 'utf8'), value: Buffer.from(entry.value, 'utf8') });
}

/** The empty packet that ends a STAT reply stream. */
export function encodeStatTerminator(init: PacketInit = {}): Packet {
  return makeResponse(Opcode.Stat, init);
}

/** True for the terminating packet (no key, no value) of a successful STAT reply. */
export function isStatTerminator(p: Packet): boolean {
  return p.opcode === Opcode.Stat && p.key.length === 0 && p.value.length === 0;
}

/** One statistic; undefined for the terminator. */
export function decodeStatResponse(p: Packet): StatEntry | undefined {
  expectOpcode(p, Opcode.Stat);
  if (isStatTerminator(p)) return undefined;
  return { name: p.key.toString('utf8'), value: p.value.toString('utf8') };
}
