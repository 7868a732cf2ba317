/**
 * OBSERVE_SEQNO 0x91: persistence/replication progress of a vbucket.
 * Source: dcp.md §2.3 (kv engines/ep/src/ep_engine.cc observe_seqno).
 *
 * Request: vbucket in the header; no extras, no key; value = vbucket UUID (u64).
 * Response value:
 *   0  1  format: 0 = uuid is current, 1 = a failover happened since that uuid
 *   1  2  vbucket id
 *   3  8  vbucket uuid (current)
 *  11  8  last persisted seqno
 *  19  8  current seqno
 *  format 1 only:
 *  27  8  old vbucket uuid
 *  35  8  last seqno received under the old uuid
 * Unknown uuid -> KeyEnoent; vbucket missing or dead -> NotMyVbucket.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, expectValueLength, layoutError } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface ObserveSeqnoRequest {
  readonly vbucket: number;
  readonly vbUuid: number;
}

export interface ObserveSeqnoResponse {
  readonly vbucket: number;
  readonly vbUuid: number;
  readonly lastPersistedSeqno: number;
  readonly currentSeqno: number;
  /** Set when the server reports format 1 (hard failover since `vbUuid` given). */
  readonly failover?: { readonly oldVbUuid: number; readonly lastSeqnoForOldUuid: number };
}

export function encodeObserveSeqnoRequest(req: ObserveSeqnoRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.ObserveSeqno, {
    ...init,
    vbucket: req.vbucket,
    value: new BufferWriter(8).u64(req.vbUuid).toBuffer(),
  });
}

export function decodeObserveSeqnoRequest(p: Packet): ObserveSeqnoRequest {
  expectOpcode(p, Opcode.ObserveSeqno);
  expectExtras(p, 0);
  expectKey(p, false);
  expectValueLength(p, 8);
  return { vbucket: p.vbucket, vbUuid: new BufferReader(p.value).u64Number('vbucket uuid') };
}

export function encodeObserveSeqnoResponse(res: ObserveSeqnoResponse, init: PacketInit = {}): Packet {
  const w = new BufferWriter(43)
    .u8(res.failover === undefined ? 0 : 1)
    .u16(res.vbucket)
    .u64(res.vbUuid)
    .u64(res.lastPersistedSeqno)
    .u64(res.currentSeqno);
  if (res.failover !== undefined) w.u64(res.failover.oldVbUuid).u64(res.failover.lastSeqnoForOldUuid);
  return makeResponse(Opcode.ObserveSeqno, { ...init, value: w.toBuffer() });
}

export function decodeObserveSeqnoResponse(p: Packet): ObserveSeqnoResponse {
  expectOpcode(p, Opcode.ObserveSeqno);
  expectValueLength(p, 27, 43);
  const r = new BufferReader(p.value);
  const format = r.u8();
  if ((format === 0) !== (p.value.length === 27) || format > 1) {
    throw layoutError(p, `observe-seqno format ${format} does not match value length ${p.value.length}`);
  }
  const base = {
    vbucket: r.u16(),
    vbUuid: r.u64Number('vbucket uuid'),
    lastPersistedSeqno: r.u64Number('persisted seqno'),
    currentSeqno: r.u64Number('current seqno'),
  };
  if (format === 0) return base;
  return {
    ...base,
    failover: { oldVbUuid: r.u64Number('old vbucket uuid'), lastSeqnoForOldUuid: r.u64Number('old seqno') },
  };
}
