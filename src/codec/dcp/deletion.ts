/**
 * DCP_DELETION 0x58 (producer -> consumer; no reply), V1 and V2.
 * Source: kv docs/dcp/documentation/commands/deletion.md,
 * include/memcached/protocol_binary.h DcpDeletionV1Payload / DcpDeletionV2Payload;
 * dcp.md §2.4.
 *
 * V1 extras 18:                       V2 extras 21 (open flag IncludeDeleteTimes 0x20):
 *   0  8  by_seqno                      0  8  by_seqno
 *   8  8  rev_seqno                     8  8  rev_seqno
 *  16  2  nmeta                        16  4  delete_time (non-zero only for disk backfill)
 *                                      20  1  unused
 * key = document key (LEB128 collection prefix when collection-aware); value normally
 * empty (xattrs with IncludeXattrs / IncludeDeletedUserXattrs); CAS = tombstone CAS.
 *
 * Erratum (deletion.md): the V1 byte dump shows the key as "\x01c::hello" at offset 42
 * while the field table says "hello" at 43-50 with key length 5 and body 0x17 (= 18 + 5);
 * the key is the 5 bytes right after the extras (offset 42).
 *
 * `encodeDcpDeletionFrame` is the single-allocation frame encoder of the backfill hot path
 * (common.ts "Frame encoders"); V1's nmeta is always 0 there.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { allocDcpFrame, dcpKeyLength, dcpStreamRequest, readStreamHeader, writeDcpKey, writeSeqno } from './common.js';
import type { DcpFramePrefix, DcpStreamHeader } from './common.js';
import { putU16, putU32 } from '../bytes.js';

export const DCP_DELETION_V1_EXTRAS_LENGTH = 18;
export const DCP_DELETION_V2_EXTRAS_LENGTH = 21;

export interface DcpDeletion extends DcpStreamHeader {
  readonly version: 1 | 2;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly cas: bigint;
  readonly datatype: number;
  readonly bySeqno: number;
  readonly revSeqno: number;
  /** V1 only. */
  readonly nmeta?: number;
  /** V2 only (seconds; 0 for in-memory deletes). */
  readonly deleteTime?: number;
}

export type DcpDeletionInit = Omit<DcpDeletion, 'key' | 'value' | 'datatype'> & {
  readonly key: Bytes;
  readonly value?: Bytes;
  readonly datatype?: number;
};

export function encodeDcpDeletion(d: DcpDeletionInit, init: PacketInit = {}): Packet {
  const w = new BufferWriter(DCP_DELETION_V2_EXTRAS_LENGTH).u64(d.bySeqno).u64(d.revSeqno);
  if (d.version === 1) w.u16(d.nmeta ?? 0);
  else w.u32(d.deleteTime ?? 0).u8(0);
  return dcpStreamRequest(Opcode.DcpDeletion, d, {
    ...init,
    extras: w.toBuffer(),
    key: toBuffer(d.key),
    value: toBuffer(d.value),
    cas: d.cas,
    datatype: d.datatype ?? 0,
  });
}

export function decodeDcpDeletion(p: Packet): DcpDeletion {
  expectOpcode(p, Opcode.DcpDeletion);
  expectExtras(p, DCP_DELETION_V1_EXTRAS_LENGTH, DCP_DELETION_V2_EXTRAS_LENGTH);
  expectKey(p, true);
  const r = new BufferReader(p.extras);
  const base = {
    ...readStreamHeader(p),
    key: p.key,
    value: p.value,
    cas: p.cas,
    datatype: p.datatype,
    bySeqno: r.u64Number('by_seqno'),
    revSeqno: r.u64Number('rev_seqno'),
  };
  if (p.extras.length === DCP_DELETION_V1_EXTRAS_LENGTH) return { ...base, version: 1, nmeta: r.u16() };
  return { ...base, version: 2, deleteTime: r.u32() };
}

/**
 * A DCP_DELETION frame in one allocation: V2 (21-byte extras) when `deleteTime` is given, else V1
 * (18 bytes). `value` is the xattr blob to send (../xattr.ts) or null; `datatype` goes as given.
 */
export function encodeDcpDeletionFrame(
  prefix: DcpFramePrefix,
  key: Buffer,
  value: Buffer | null,
  datatype: number,
  cas: bigint,
  bySeqno: number,
  revSeqno: number,
  deleteTime: number | undefined,
  collection = 0,
): Buffer {
  const extrasLength = deleteTime === undefined ? DCP_DELETION_V1_EXTRAS_LENGTH : DCP_DELETION_V2_EXTRAS_LENGTH;
  const out = allocDcpFrame(prefix, Opcode.DcpDeletion, extrasLength, dcpKeyLength(prefix, key, collection), value ? value.length : 0, datatype, cas);
  const at = prefix.extrasAt;
  writeSeqno(out, at, bySeqno);
  writeSeqno(out, at + 8, revSeqno);
  if (deleteTime === undefined) {
    putU16(out, at + 16, 0); // nmeta
  } else {
    putU32(out, at + 16, deleteTime);
    out[at + 20] = 0; // unused
  }
  const v = writeDcpKey(prefix, out, at + extrasLength, key, collection);
  if (value) value.copy(out, v);
  return out;
}
