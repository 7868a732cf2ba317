/**
 * Failover logs: GET_FAILOVER_LOG 0x96 and DCP_GET_FAILOVER_LOG 0x54 share one layout, and
 * the same log body is the value of a successful DCP_STREAM_REQ response.
 * Source: kv docs/BinaryProtocol.md "0x96 Get Failover Log",
 * docs/dcp/documentation/commands/failover-log.md; dcp.md §2.4, §3.3.
 *
 * Request: vbucket in the header; no extras, no key, no value.
 * Response value: N x { vbucket uuid (u64), seqno (u64) }, newest entry first.
 *
 * UUIDs and seqnos are JS numbers (48-bit UUIDs, dcp.md §3.3).
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, expectValueMultiple } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface FailoverEntry {
  readonly vbUuid: number;
  readonly seqno: number;
}

export type FailoverLogOpcode = typeof Opcode.GetFailoverLog | typeof Opcode.DcpGetFailoverLog;

export function encodeFailoverLog(entries: readonly FailoverEntry[]): Buffer {
  const w = new BufferWriter(entries.length * 16);
  for (const e of entries) w.u64(e.vbUuid).u64(e.seqno);
  return w.toBuffer();
}

/** Parse a failover-log body; `p` (the carrying packet) is only used for error context. */
export function decodeFailoverLog(p: Packet): FailoverEntry[] {
  expectValueMultiple(p, 16);
  const r = new BufferReader(p.value);
  const out: FailoverEntry[] = [];
  while (r.remaining > 0) out.push({ vbUuid: r.u64Number('vbucket uuid'), seqno: r.u64Number('seqno') });
  return out;
}

export function encodeFailoverLogRequest(
  vbucket: number,
  opcode: FailoverLogOpcode = Opcode.GetFailoverLog,
  init: PacketInit = {},
): Packet {
  return makeRequest(opcode, { ...init, vbucket });
}

export function decodeFailoverLogRequest(p: Packet): { readonly vbucket: number } {
  expectOpcode(p, Opcode.GetFailoverLog, Opcode.DcpGetFailoverLog);
  expectExtras(p, 0);
  expectKey(p, false);
  expectNoValue(p);
  return { vbucket: p.vbucket };
}

export function encodeFailoverLogResponse(
  entries: readonly FailoverEntry[],
  opcode: FailoverLogOpcode = Opcode.GetFailoverLog,
  init: PacketInit = {},
): Packet {
  return makeResponse(opcode, { ...init, value: encodeFailoverLog(entries) });
}

export function decodeFailoverLogResponse(p: Packet): FailoverEntry[] {
  expectOpcode(p, Opcode.GetFailoverLog, Opcode.DcpGetFailoverLog);
  return decodeFailoverLog(p);
}
