/**
 * DCP_STREAM_END 0x55 (producer -> consumer; no reply).
 * Source: kv docs/dcp/documentation/commands/stream-end.md,
 * include/mcbp/protocol/dcp_stream_end_status.h; dcp.md §2.4.
 *
 * Extras 4: reason (u32, STREAM_END_REASON_TABLE). No key, no value.
 * Opaque and vbucket identify the stream; stream-id frame when enabled.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, u32Buffer } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { dcpStreamRequest, readStreamHeader } from './common.js';
import type { DcpStreamHeader } from './common.js';

export const STREAM_END_REASON_TABLE = [
  { code: 0, name: 'Ok', desc: 'end seqno reached, all requested items sent' },
  { code: 1, name: 'Closed', desc: 'closed by the consumer (send_stream_end_on_client_close_stream)' },
  { code: 2, name: 'StateChanged', desc: 'vbucket changed state; re-read the map and re-request' },
  { code: 3, name: 'Disconnected', desc: 'connection going away' },
  { code: 4, name: 'Slow', desc: 'consumer too slow, cursor dropped; reconnect' },
  { code: 5, name: 'BackfillFail', desc: 'backfill failed' },
  { code: 6, name: 'Rollback', desc: 'vbucket rolled back; re-request and follow rollback' },
  { code: 7, name: 'FilterEmpty', desc: 'all filtered collections/scope dropped' },
  { code: 8, name: 'LostPrivileges', desc: 'privileges needed by the stream were lost' },
] as const;

export const StreamEndReason = Object.fromEntries(STREAM_END_REASON_TABLE.map((r) => [r.name, r.code])) as {
  readonly [K in (typeof STREAM_END_REASON_TABLE)[number]['name']]: Extract<
    (typeof STREAM_END_REASON_TABLE)[number],
    { name: K }
  >['code'];
};

export function streamEndReasonName(code: number): string {
  return STREAM_END_REASON_TABLE.find((r) => r.code === code)?.name ?? `Unknown(${code})`;
}

export interface StreamEnd extends DcpStreamHeader {
  readonly reason: number;
}

export function encodeStreamEnd(msg: StreamEnd, init: PacketInit = {}): Packet {
  return dcpStreamRequest(Opcode.DcpStreamEnd, msg, { ...init, extras: u32Buffer(msg.reason) });
}

export function decodeStreamEnd(p: Packet): StreamEnd {
  expectOpcode(p, Opcode.DcpStreamEnd);
  expectExtras(p, 4);
  expectKey(p, false);
  expectNoValue(p);
  return { ...readStreamHeader(p), reason: p.extras.readUInt32BE(0) };
}
