/**
 * GET_ALL_VB_SEQNOS 0x48: high seqno of every vbucket on the node.
 * Source: kv docs/dcp/documentation/commands/get_seqno.md; dcp.md §2.3.
 *
 * Request extras (optional): 0, 4 or 8 bytes
 *   0  4  vbucket state filter: 0 = all alive (active+replica+pending), 1 active,
 *         2 replica, 3 pending, 4 dead; any other value is invalid
 *   4  4  collection id (only with the 8-byte form)
 * No key, no value.
 * Response value: N x { vbucket (u16), high seqno (u64) }, sorted by vbucket.
 *
 * Erratum (get_seqno.md): its request examples show extras length 0x01 and total body 0
 * while carrying 4 or 8 bytes of extras; the extras are 4 or 8 bytes.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, expectValueMultiple, layoutError } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export const VbucketStateFilter = {
  Alive: 0,
  Active: 1,
  Replica: 2,
  Pending: 3,
  Dead: 4,
} as const;

export interface AllVbSeqnosRequest {
  readonly state?: number;
  /** Requires `state` (use VbucketStateFilter.Alive for "any"). */
  readonly collectionId?: number;
}

export interface VbSeqno {
  readonly vbucket: number;
  readonly seqno: number;
}

export function encodeAllVbSeqnosRequest(req: AllVbSeqnosRequest = {}, init: PacketInit = {}): Packet {
  const w = new BufferWriter(8);
  if (req.state !== undefined || req.collectionId !== undefined) w.u32(req.state ?? VbucketStateFilter.Alive);
  if (req.collectionId !== undefined) w.u32(req.collectionId);
  return makeRequest(Opcode.GetAllVbSeqnos, { ...init, extras: w.toBuffer() });
}

export function decodeAllVbSeqnosRequest(p: Packet): AllVbSeqnosRequest {
  expectOpcode(p, Opcode.GetAllVbSeqnos);
  expectExtras(p, 0, 4, 8);
  expectKey(p, false);
  expectNoValue(p);
  if (p.extras.length === 0) return {};
  const r = new BufferReader(p.extras);
  const state = r.u32();
  // kv's get_all_vb_seqnos_validator: Alive (0) to Dead (4), else Einval.
  if (state > VbucketStateFilter.Dead) throw layoutError(p, 'Request vbucket state invalid');
  return p.extras.length === 8 ? { state, collectionId: r.u32() } : { state };
}

export function encodeAllVbSeqnosResponse(entries: readonly VbSeqno[], init: PacketInit = {}): Packet {
  const w = new BufferWriter(entries.length * 10);
  for (const e of entries) w.u16(e.vbucket).u64(e.seqno);
  return makeResponse(Opcode.GetAllVbSeqnos, { ...init, value: w.toBuffer() });
}

export function decodeAllVbSeqnosResponse(p: Packet): VbSeqno[] {
  expectOpcode(p, Opcode.GetAllVbSeqnos);
  expectValueMultiple(p, 10);
  const r = new BufferReader(p.value);
  const out: VbSeqno[] = [];
  while (r.remaining > 0) out.push({ vbucket: r.u16(), seqno: r.u64Number('seqno') });
  return out;
}
