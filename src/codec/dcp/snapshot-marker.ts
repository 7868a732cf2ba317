/**
 * DCP_SNAPSHOT_MARKER 0x56 (producer -> consumer; reply only when the Ack flag is set).
 * Source: kv docs/dcp/documentation/commands/snapshot-marker.md,
 * include/memcached/protocol_binary.h (DcpSnapshotMarkerV1Payload, V2xPayload,
 * V2_0Value, V2_2Value); dcp.md §2.4.
 *
 * V1: extras 20, no value
 *   0  8  start seqno
 *   8  8  end seqno
 *  16  4  flags (SNAPSHOT_FLAG_TABLE)
 * V2.x: extras 1 = version byte; the fields move to the value:
 *   version 0x00 (V2.0), value 36: start(8) end(8) flags(4) max visible seqno(8)
 *                                  high completed seqno(8, meaningful with Disk only)
 *   version 0x02 (V2.2), value 52: V2.0 + purge seqno(8) + high prepared seqno(8)
 *                                  (only after control max_marker_version=2.2)
 *   version 0x01 (V2.1) was removed from the spec and is rejected here.
 * No key in any version.
 *
 * Errata (snapshot-marker.md): the V1 example labels flags 0x00000001 "(disk)"; 0x01 is
 * Memory, 0x02 Disk. The V2.0 example's byte dump shows extras length 0x14 and
 * little-endian-looking fields while its field table says extras 0x01 and big-endian
 * values; the field table is right (test/codec/fixtures use it).
 *
 * `encodeSnapshotMarkerV1Frame` is the single-allocation frame encoder for V1 markers, which a
 * backfill sends once per snapshot (common.ts "Frame encoders"); V2.x go through the Packet encoder.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, expectValueLength, layoutError } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { allocDcpFrame, dcpStreamRequest, readStreamHeader, writeSeqno } from './common.js';
import type { DcpFramePrefix, DcpStreamHeader } from './common.js';
import { putU32 } from '../bytes.js';

export const SNAPSHOT_FLAG_TABLE = [
  { bit: 0x01, name: 'Memory' },
  { bit: 0x02, name: 'Disk' },
  { bit: 0x04, name: 'Checkpoint' }, // internal (intra-cluster replication)
  { bit: 0x08, name: 'Ack' }, // consumer must respond once the snapshot is received
  { bit: 0x10, name: 'History' }, // change-stream snapshot, not deduplicated
  { bit: 0x20, name: 'MayContainDuplicates' },
] as const;

export const SnapshotFlag = Object.fromEntries(SNAPSHOT_FLAG_TABLE.map((f) => [f.name, f.bit])) as {
  readonly [K in (typeof SNAPSHOT_FLAG_TABLE)[number]['name']]: Extract<(typeof SNAPSHOT_FLAG_TABLE)[number], { name: K }>['bit'];
};

export type SnapshotMarkerVersion = 'v1' | 'v2.0' | 'v2.2';

export interface SnapshotMarker extends DcpStreamHeader {
  readonly version: SnapshotMarkerVersion;
  readonly startSeqno: number;
  readonly endSeqno: number;
  readonly flags: number;
  /** V2.0 and V2.2. */
  readonly maxVisibleSeqno?: number;
  /** V2.0 and V2.2; meaningful only with the Disk flag. */
  readonly highCompletedSeqno?: number;
  /** V2.2 only. */
  readonly purgeSeqno?: number;
  /** V2.2 only. */
  readonly highPreparedSeqno?: number;
}

const V2_0 = 0x00;
const V2_2 = 0x02;

export function encodeSnapshotMarker(m: SnapshotMarker, init: PacketInit = {}): Packet {
  const w = new BufferWriter(52).u64(m.startSeqno).u64(m.endSeqno).u32(m.flags);
  if (m.version === 'v1') return dcpStreamRequest(Opcode.DcpSnapshotMarker, m, { ...init, extras: w.toBuffer() });
  w.u64(m.maxVisibleSeqno ?? 0).u64(m.highCompletedSeqno ?? 0);
  if (m.version === 'v2.2') w.u64(m.purgeSeqno ?? 0).u64(m.highPreparedSeqno ?? 0);
  return dcpStreamRequest(Opcode.DcpSnapshotMarker, m, {
    ...init,
    extras: Buffer.from([m.version === 'v2.2' ? V2_2 : V2_0]),
    value: w.toBuffer(),
  });
}

export function decodeSnapshotMarker(p: Packet): SnapshotMarker {
  expectOpcode(p, Opcode.DcpSnapshotMarker);
  expectExtras(p, 20, 1);
  expectKey(p, false);
  const header = readStreamHeader(p);
  if (p.extras.length === 20) {
    expectNoValue(p);
    const r = new BufferReader(p.extras);
    return { ...header, version: 'v1', startSeqno: r.u64Number('start'), endSeqno: r.u64Number('end'), flags: r.u32() };
  }
  const version = p.extras[0];
  if (version !== V2_0 && version !== V2_2) throw layoutError(p, `unsupported snapshot marker version ${version}`);
  expectValueLength(p, version === V2_0 ? 36 : 52);
  const r = new BufferReader(p.value);
  const base = {
    ...header,
    startSeqno: r.u64Number('start'),
    endSeqno: r.u64Number('end'),
    flags: r.u32(),
    maxVisibleSeqno: r.u64Number('max visible seqno'),
    highCompletedSeqno: r.u64Number('high completed seqno'),
  };
  if (version === V2_0) return { ...base, version: 'v2.0' };
  return {
    ...base,
    version: 'v2.2',
    purgeSeqno: r.u64Number('purge seqno'),
    highPreparedSeqno: r.u64Number('high prepared seqno'),
  };
}

export function snapshotFlagNames(flags: number): string[] {
  return SNAPSHOT_FLAG_TABLE.filter((f) => (flags & f.bit) !== 0).map((f) => f.name);
}

/**
 * A V1 DCP_SNAPSHOT_MARKER frame (20-byte extras, no key, no value, CAS 0) in one allocation of its
 * own: a collection-aware stream may hold a marker back until the snapshot's first message.
 */
export function encodeSnapshotMarkerV1Frame(prefix: DcpFramePrefix, startSeqno: number, endSeqno: number, flags: number): Buffer {
  const out = allocDcpFrame(prefix, Opcode.DcpSnapshotMarker, 20, 0, 0, 0, 0n, true);
  const at = prefix.extrasAt;
  writeSeqno(out, at, startSeqno);
  writeSeqno(out, at + 8, endSeqno);
  putU32(out, at + 16, flags);
  return out;
}
