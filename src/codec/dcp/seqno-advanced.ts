/**
 * DCP_SEQNO_ADVANCED 0x64 (producer -> consumer; collection-aware connections only).
 * Source: kv docs/dcp/documentation/commands/seqno-advanced.md; dcp.md §2.4.
 *
 * Extras 8: by_seqno (u64), the vbucket's seqno the stream has advanced to (items the
 * consumer is not subscribed to, or the end of an OSO snapshot). No key, no value.
 *
 * Erratum (Appendix A): the example shows opcode 0x65 (that is OSO_SNAPSHOT), extras
 * length 0x04 and total body 0 in its dump; the message is opcode 0x64 with 8 bytes of
 * extras and body 8, as its field table says.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { dcpStreamRequest, readStreamHeader } from './common.js';
import type { DcpStreamHeader } from './common.js';

export interface SeqnoAdvanced extends DcpStreamHeader {
  readonly seqno: number;
}

export function encodeSeqnoAdvanced(m: SeqnoAdvanced, init: PacketInit = {}): Packet {
  return dcpStreamRequest(Opcode.DcpSeqnoAdvanced, m, { ...init, extras: new BufferWriter(8).u64(m.seqno).toBuffer() });
}

export function decodeSeqnoAdvanced(p: Packet): SeqnoAdvanced {
  expectOpcode(p, Opcode.DcpSeqnoAdvanced);
  expectExtras(p, 8);
  expectKey(p, false);
  expectNoValue(p);
  return { ...readStreamHeader(p), seqno: new BufferReader(p.extras).u64Number('seqno') };
}
