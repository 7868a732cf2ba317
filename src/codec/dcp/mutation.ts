/**
 * DCP_MUTATION 0x57 (producer -> consumer; no reply).
 * Source: kv docs/dcp/documentation/commands/mutation.md,
 * include/memcached/protocol_binary.h DcpMutationPayload (31 bytes); dcp.md §2.4.
 *
 * Extras 31:
 *   0  8  by_seqno (this change's seqno)
 *   8  8  rev_seqno (document revision count)
 *  16  4  flags (item flags, opaque, as stored)
 *  20  4  expiration (absolute time, 0 = none)
 *  24  4  lock_time
 *  28  2  nmeta (extended-meta length, 0 today; the meta would follow the value)
 *  30  1  nru (internal; ignore)
 * key = document key (LEB128 collection-id prefix on collection-aware connections,
 * see leb128.ts); value = document / xattrs+body / nothing (NoValue); header CAS =
 * document CAS; datatype = payload datatype.
 *
 * Errata (Appendix A): mutation.md labels the last byte "clen" (it is nru, after the
 * 2-byte nmeta); gomemcached declares 30 extras bytes, the server sends 31.
 *
 * `encodeDcpMutationFrame` is the single-allocation frame encoder of the backfill hot path
 * (common.ts "Frame encoders"); lock time, nmeta and nru are always 0 there.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import { copyRange, putU16, putU32 } from '../bytes.js';
import type { Bytes } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { allocDcpFrame, dcpKeyLength, dcpKeyLengthOf, dcpStreamRequest, readStreamHeader, writeDcpKey, writeDcpKeyFrom, writeSeqno } from './common.js';
import type { DcpFramePrefix, DcpStreamHeader } from './common.js';

export const DCP_MUTATION_EXTRAS_LENGTH = 31;

export interface DcpMutation extends DcpStreamHeader {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly cas: bigint;
  readonly datatype: number;
  readonly bySeqno: number;
  readonly revSeqno: number;
  readonly flags: number;
  readonly expiration: number;
  readonly lockTime: number;
  readonly nmeta: number;
  readonly nru: number;
}

export type DcpMutationInit = Omit<DcpMutation, 'key' | 'value' | 'lockTime' | 'nmeta' | 'nru'> & {
  readonly key: Bytes;
  readonly value: Bytes;
  readonly lockTime?: number;
  readonly nmeta?: number;
  readonly nru?: number;
};

export function encodeDcpMutation(m: DcpMutationInit, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(DCP_MUTATION_EXTRAS_LENGTH)
    .u64(m.bySeqno)
    .u64(m.revSeqno)
    .u32(m.flags)
    .u32(m.expiration)
    .u32(m.lockTime ?? 0)
    .u16(m.nmeta ?? 0)
    .u8(m.nru ?? 0)
    .toBuffer();
  return dcpStreamRequest(Opcode.DcpMutation, m, {
    ...init,
    extras,
    key: toBuffer(m.key),
    value: toBuffer(m.value),
    cas: m.cas,
    datatype: m.datatype,
  });
}

export function decodeDcpMutation(p: Packet): DcpMutation {
  expectOpcode(p, Opcode.DcpMutation);
  expectExtras(p, DCP_MUTATION_EXTRAS_LENGTH);
  expectKey(p, true);
  const r = new BufferReader(p.extras);
  return {
    ...readStreamHeader(p),
    key: p.key,
    value: p.value,
    cas: p.cas,
    datatype: p.datatype,
    bySeqno: r.u64Number('by_seqno'),
    revSeqno: r.u64Number('rev_seqno'),
    flags: r.u32(),
    expiration: r.u32(),
    lockTime: r.u32(),
    nmeta: r.u16(),
    nru: r.u8(),
  };
}

/** The 31 extras of a DCP_MUTATION frame (layout above) at `at`; returns where the key starts. */
function writeMutationExtras(out: Buffer, at: number, bySeqno: number, revSeqno: number, flags: number, expiration: number): number {
  writeSeqno(out, at, bySeqno);
  writeSeqno(out, at + 8, revSeqno);
  putU32(out, at + 16, flags);
  putU32(out, at + 20, expiration);
  putU32(out, at + 24, 0); // lock time
  putU16(out, at + 28, 0); // nmeta
  out[at + 30] = 0; // nru
  return at + DCP_MUTATION_EXTRAS_LENGTH;
}

/**
 * A DCP_MUTATION frame in one allocation; `collection` is the key's collection id (sent as its
 * LEB128 prefix on collection-aware streams). The value is `xattrs` (a blob from ../xattr.ts, or null)
 * followed by `body` (null for NoValue); `datatype` describes what is sent (the caller's choice).
 */
export function encodeDcpMutationFrame(
  prefix: DcpFramePrefix,
  key: Buffer,
  xattrs: Buffer | null,
  body: Buffer | null,
  datatype: number,
  cas: bigint,
  bySeqno: number,
  revSeqno: number,
  flags: number,
  expiration: number,
  collection = 0,
): Buffer {
  const valueLength = (xattrs ? xattrs.length : 0) + (body ? body.length : 0);
  const out = allocDcpFrame(prefix, Opcode.DcpMutation, DCP_MUTATION_EXTRAS_LENGTH, dcpKeyLength(prefix, key, collection), valueLength, datatype, cas);
  let v = writeDcpKey(prefix, out, writeMutationExtras(out, prefix.extrasAt, bySeqno, revSeqno, flags, expiration), key, collection);
  if (xattrs) v += xattrs.copy(out, v);
  if (body) body.copy(out, v);
  return out;
}

/**
 * `encodeDcpMutationFrame` of a document held as bytes elsewhere (a stored record a backfill read,
 * engine/record-view.ts), with no key, value or BigInt of its own: the key is `src[keyStart,
 * keyEnd)`, the value `src[valueStart..]` (valueStart -1: no value, NoValue), the CAS the 8
 * big-endian bytes at `src[casAt]`. No xattrs: a document that sends them takes the other encoder.
 */
export function encodeDcpMutationFrameFrom(
  prefix: DcpFramePrefix,
  src: Buffer,
  keyStart: number,
  keyEnd: number,
  collection: number,
  valueStart: number,
  datatype: number,
  casAt: number,
  bySeqno: number,
  revSeqno: number,
  flags: number,
  expiration: number,
): Buffer {
  const valueLength = valueStart < 0 ? 0 : src.length - valueStart;
  const out = allocDcpFrame(prefix, Opcode.DcpMutation, DCP_MUTATION_EXTRAS_LENGTH, dcpKeyLengthOf(prefix, keyEnd - keyStart, collection), valueLength, datatype, 0n);
  copyRange(src, casAt, casAt + 8, out, 16);
  const v = writeDcpKeyFrom(prefix, out, writeMutationExtras(out, prefix.extrasAt, bySeqno, revSeqno, flags, expiration), src, keyStart, keyEnd, collection);
  if (valueStart >= 0) copyRange(src, valueStart, src.length, out, v);
  return out;
}
