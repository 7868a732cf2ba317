/**
 * DCP_OSO_SNAPSHOT 0x65 (producer -> consumer): brackets an out-of-sequence-order
 * backfill (control enable_out_of_order_snapshots).
 * Source: kv docs/dcp/documentation/commands/oso_snapshot.md; dcp.md §2.4.
 *
 * Extras 4: flags, 0x01 start / 0x02 end. No key, no value.
 * Consumer rule: track X = max seqno inside and Y = last seqno before the start; resume
 * from Y if the stream dies before "end", from X after it.
 *
 * Erratum (oso_snapshot.md): the dump shows total body 0 while 4 bytes of extras follow;
 * the body is 4, as the field table says.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, u32Buffer } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { dcpStreamRequest, readStreamHeader } from './common.js';
import type { DcpStreamHeader } from './common.js';

export const OsoSnapshotFlag = {
  Start: 0x01,
  End: 0x02,
} as const;

export interface OsoSnapshot extends DcpStreamHeader {
  readonly flags: number;
}

export function encodeOsoSnapshot(m: OsoSnapshot, init: PacketInit = {}): Packet {
  return dcpStreamRequest(Opcode.DcpOsoSnapshot, m, { ...init, extras: u32Buffer(m.flags) });
}

export function decodeOsoSnapshot(p: Packet): OsoSnapshot {
  expectOpcode(p, Opcode.DcpOsoSnapshot);
  expectExtras(p, 4);
  expectKey(p, false);
  expectNoValue(p);
  return { ...readStreamHeader(p), flags: p.extras.readUInt32BE(0) };
}
