/**
 * DCP_STREAM_REQ 0x53 (consumer -> producer; answered), its flags, and both reply bodies.
 * Source: kv docs/dcp/documentation/commands/stream-request.md, add-stream.md (flags),
 * include/mcbp/protocol/dcp_add_stream_flags.h,
 * daemon/protocol/mcbp/dcp_stream_req_executor.cc; dcp.md §2.4, §3.5.
 *
 * Request extras 48:
 *   0  4  flags (STREAM_FLAG_TABLE)
 *   4  4  reserved (0)
 *   8  8  start seqno: last seqno the consumer already has (0 = nothing)
 *  16  8  end seqno: 0xffffffffffffffff = stream forever
 *  24  8  vbucket uuid: newest entry of the consumer's failover log (0 = no history)
 *  32  8  snapshot start seqno \ of the snapshot the consumer was in
 *  40  8  snapshot end seqno   /
 * No key. Value: optional JSON (collections filter, "sid", "purge_seqno", ...), only read
 * on collection-aware connections; kept as raw bytes here.
 * The request opaque becomes the opaque of every message of the stream.
 *
 * Responses:
 *   Success:       no extras; value = failover log (ops/failover-log.ts), newest first.
 *   Rollback 0x23: no extras; value = 8-byte rollback seqno, nothing else (erratum:
 *                  rollback.md says the failover log is sent too; the executor does not).
 *   Other statuses carry no body the consumer needs.
 *
 * Seqno representation (see dcp/common.ts): numbers, plus SEQNO_INFINITY. The end seqno
 * 0xffffffffffffffff decodes to SEQNO_INFINITY (= Infinity) and Infinity encodes back to
 * 0xffffffffffffffff, so "stream forever" round-trips and `seqno <= endSeqno` comparisons
 * work unchanged. Any seqno field >= 2^53 decodes to SEQNO_INFINITY (no real seqno gets
 * there; a producer then answers Erange for a start beyond its high seqno). The vbucket
 * uuid is read as the nearest number: one >= 2^53 (a 64-bit uuid of kv before 4.x, or garbage)
 * stays >= 2^53, so it never equals a uuid of 48 bits (kv and Freshet draw `random64 >> 16`) and
 * the producer answers it as kv does an unknown uuid (rollback to 0), not with an error.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { ProtocolError } from '../errors.js';
import { Opcode } from '../opcodes.js';
import { Status } from '../status.js';
import { expectExtras, expectKey, expectOpcode, expectValueLength, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { decodeFailoverLog, encodeFailoverLog } from '../ops/failover-log.js';
import type { FailoverEntry } from '../ops/failover-log.js';

export const SEQNO_INFINITY = Number.POSITIVE_INFINITY;
const U64_MAX = 0xffffffffffffffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const STREAM_FLAG_TABLE = [
  { bit: 0x01, name: 'TakeOver' },
  { bit: 0x02, name: 'DiskOnly' }, // end seqno forced to the persisted seqno
  { bit: 0x04, name: 'ToLatest' }, // end seqno forced to the current high seqno
  { bit: 0x08, name: 'NoValue' }, // removed in 5.0; use the open flag
  { bit: 0x10, name: 'ActiveVbOnly' },
  { bit: 0x20, name: 'StrictVbUuid' }, // check the uuid even when start is 0
  { bit: 0x40, name: 'FromLatest' }, // start = snap start = snap end = high seqno
  { bit: 0x80, name: 'IgnorePurgedTombstones' },
  { bit: 0x100, name: 'CacheTransfer' },
] as const;

export const DcpStreamFlag = Object.fromEntries(STREAM_FLAG_TABLE.map((f) => [f.name, f.bit])) as {
  readonly [K in (typeof STREAM_FLAG_TABLE)[number]['name']]: Extract<(typeof STREAM_FLAG_TABLE)[number], { name: K }>['bit'];
};

export interface StreamRequest {
  readonly vbucket: number;
  readonly flags?: number;
  readonly startSeqno: number;
  /** SEQNO_INFINITY (the default) streams forever. */
  readonly endSeqno?: number;
  readonly vbUuid: number;
  readonly snapStartSeqno: number;
  readonly snapEndSeqno: number;
  /** Optional JSON value (collections filter, sid...). */
  readonly value?: Bytes;
}

export interface DecodedStreamRequest {
  readonly vbucket: number;
  readonly opaque: number;
  readonly flags: number;
  readonly startSeqno: number;
  readonly endSeqno: number;
  readonly vbUuid: number;
  readonly snapStartSeqno: number;
  readonly snapEndSeqno: number;
  readonly value: Buffer;
}

function writeSeqno(w: BufferWriter, v: number, what: string): void {
  if (v === SEQNO_INFINITY) {
    w.u64(U64_MAX);
    return;
  }
  if (!Number.isSafeInteger(v) || v < 0) throw new ProtocolError('VALUE_RANGE', `${what} out of range: ${v}`);
  w.u64(v);
}

function readSeqno(r: BufferReader): number {
  const v = r.u64();
  return v > MAX_SAFE ? SEQNO_INFINITY : Number(v);
}

export function encodeStreamRequest(req: StreamRequest, init: PacketInit = {}): Packet {
  const w = new BufferWriter(48).u32(req.flags ?? 0).u32(0);
  writeSeqno(w, req.startSeqno, 'start seqno');
  writeSeqno(w, req.endSeqno ?? SEQNO_INFINITY, 'end seqno');
  w.u64(req.vbUuid);
  writeSeqno(w, req.snapStartSeqno, 'snapshot start seqno');
  writeSeqno(w, req.snapEndSeqno, 'snapshot end seqno');
  return makeRequest(Opcode.DcpStreamReq, {
    ...init,
    vbucket: req.vbucket,
    extras: w.toBuffer(),
    value: toBuffer(req.value),
  });
}

export function decodeStreamRequest(p: Packet): DecodedStreamRequest {
  expectOpcode(p, Opcode.DcpStreamReq);
  expectExtras(p, 48);
  expectKey(p, false);
  const r = new BufferReader(p.extras);
  const flags = r.u32();
  r.skip(4); // reserved
  return {
    vbucket: p.vbucket,
    opaque: p.opaque,
    flags,
    startSeqno: readSeqno(r),
    endSeqno: readSeqno(r),
    vbUuid: Number(r.u64()),
    snapStartSeqno: readSeqno(r),
    snapEndSeqno: readSeqno(r),
    value: p.value,
  };
}

export type StreamRequestResult =
  | { readonly kind: 'ok'; readonly failoverLog: FailoverEntry[] }
  | { readonly kind: 'rollback'; readonly rollbackSeqno: number }
  | { readonly kind: 'error'; readonly status: number };

export function encodeStreamRequestOk(failoverLog: readonly FailoverEntry[], init: PacketInit = {}): Packet {
  return makeResponse(Opcode.DcpStreamReq, { ...init, status: Status.Success, value: encodeFailoverLog(failoverLog) });
}

export function encodeStreamRequestRollback(rollbackSeqno: number, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.DcpStreamReq, {
    ...init,
    status: Status.Rollback,
    value: new BufferWriter(8).u64(rollbackSeqno).toBuffer(),
  });
}

export function decodeStreamRequestResponse(p: Packet): StreamRequestResult {
  expectOpcode(p, Opcode.DcpStreamReq);
  if (p.status === Status.Success) return { kind: 'ok', failoverLog: decodeFailoverLog(p) };
  if (p.status === Status.Rollback) {
    expectValueLength(p, 8);
    return { kind: 'rollback', rollbackSeqno: new BufferReader(p.value).u64Number('rollback seqno') };
  }
  return { kind: 'error', status: p.status };
}
