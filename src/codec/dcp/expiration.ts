/**
 * DCP_EXPIRATION 0x59 (producer -> consumer; no reply).
 * Source: kv docs/dcp/documentation/commands/expiration.md,
 * include/memcached/protocol_binary.h DcpExpirationPayload (static_assert 20); dcp.md §2.4.
 *
 * Extras 20:
 *   0  8  by_seqno
 *   8  8  rev_seqno
 *  16  4  delete_time
 * key; no value; CAS = tombstone CAS. Sent only with control enable_expiry_opcode=true
 * on a connection opened with IncludeDeleteTimes; otherwise expiries arrive as deletions.
 *
 * Erratum (Appendix A): expiration.md's example shows extras length 0x12 (18) and body
 * 0x17; the extras are 20 bytes, so with the 5-byte key the body is 25 (0x19).
 *
 * `encodeDcpExpirationFrame` is the single-allocation frame encoder of the backfill hot path
 * (common.ts "Frame encoders").
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { allocDcpFrame, dcpKeyLength, dcpStreamRequest, readStreamHeader, writeDcpKey, writeSeqno } from './common.js';
import type { DcpFramePrefix, DcpStreamHeader } from './common.js';
import { putU32 } from '../bytes.js';

export const DCP_EXPIRATION_EXTRAS_LENGTH = 20;

export interface DcpExpiration extends DcpStreamHeader {
  readonly key: Buffer;
  readonly cas: bigint;
  readonly datatype: number;
  readonly bySeqno: number;
  readonly revSeqno: number;
  readonly deleteTime: number;
}

export type DcpExpirationInit = Omit<DcpExpiration, 'key' | 'datatype'> & {
  readonly key: Bytes;
  readonly datatype?: number;
};

export function encodeDcpExpiration(e: DcpExpirationInit, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(DCP_EXPIRATION_EXTRAS_LENGTH)
    .u64(e.bySeqno)
    .u64(e.revSeqno)
    .u32(e.deleteTime)
    .toBuffer();
  return dcpStreamRequest(Opcode.DcpExpiration, e, {
    ...init,
    extras,
    key: toBuffer(e.key),
    cas: e.cas,
    datatype: e.datatype ?? 0,
  });
}

export function decodeDcpExpiration(p: Packet): DcpExpiration {
  expectOpcode(p, Opcode.DcpExpiration);
  expectExtras(p, DCP_EXPIRATION_EXTRAS_LENGTH);
  expectKey(p, true);
  const r = new BufferReader(p.extras);
  return {
    ...readStreamHeader(p),
    key: p.key,
    cas: p.cas,
    datatype: p.datatype,
    bySeqno: r.u64Number('by_seqno'),
    revSeqno: r.u64Number('rev_seqno'),
    deleteTime: r.u32(),
  };
}

/**
 * A DCP_EXPIRATION frame in one allocation. The value is what a deletion would carry (the
 * tombstone's xattrs when the connection includes them, kv Connection::expiration sends the
 * item's value and datatype); none by default.
 */
export function encodeDcpExpirationFrame(
  prefix: DcpFramePrefix,
  key: Buffer,
  cas: bigint,
  bySeqno: number,
  revSeqno: number,
  deleteTime: number,
  collection = 0,
  value: Buffer | null = null,
  datatype = 0,
): Buffer {
  const valueLength = value ? value.length : 0;
  const out = allocDcpFrame(prefix, Opcode.DcpExpiration, DCP_EXPIRATION_EXTRAS_LENGTH, dcpKeyLength(prefix, key, collection), valueLength, datatype, cas);
  const at = prefix.extrasAt;
  writeSeqno(out, at, bySeqno);
  writeSeqno(out, at + 8, revSeqno);
  putU32(out, at + 16, deleteTime);
  const v = writeDcpKey(prefix, out, at + DCP_EXPIRATION_EXTRAS_LENGTH, key, collection);
  if (value) value.copy(out, v);
  return out;
}
