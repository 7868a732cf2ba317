/**
 * GET_META 0xa0 / GETQ_META 0xa1: document metadata, also for tombstones.
 * Source: dcp.md §2.3 (kv include/memcached/protocol_binary.h GetMetaPayload,
 * engines/ep/src/ep_engine.cc); couchbase-sdk-bootstrap.md §4.2 ("exists").
 *
 * Request: extras empty or 1 byte = format version (1 or 2); key; no value.
 * Response extras, 20 bytes (version 1) or 21 (version 2):
 *   0  4  deleted (u32, 1 = tombstone)
 *   4  4  flags
 *   8  4  expiry
 *  12  8  rev seqno
 *  20  1  datatype (version 2 only)
 * CAS in the header. No key, no value.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, layoutError, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface GetMetaRequest {
  readonly key: Bytes;
  /** Omit for the 20-byte reply; 2 asks for the trailing datatype byte. */
  readonly version?: 1 | 2;
  readonly quiet?: boolean;
  readonly vbucket?: number;
}

export interface DecodedGetMetaRequest {
  readonly key: Buffer;
  readonly version: 1 | 2 | undefined;
  readonly quiet: boolean;
  readonly vbucket: number;
}

export interface GetMetaResponse {
  readonly deleted: boolean;
  readonly flags: number;
  readonly expiry: number;
  readonly revSeqno: number;
  /** Present only for version 2. */
  readonly datatype?: number;
  readonly cas: bigint;
}

export function encodeGetMetaRequest(req: GetMetaRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.quiet === true ? Opcode.GetQMeta : Opcode.GetMeta, {
    vbucket: req.vbucket ?? 0,
    ...init,
    extras: req.version === undefined ? Buffer.alloc(0) : Buffer.from([req.version]),
    key: toBuffer(req.key),
  });
}

export function decodeGetMetaRequest(p: Packet): DecodedGetMetaRequest {
  expectOpcode(p, Opcode.GetMeta, Opcode.GetQMeta);
  expectExtras(p, 0, 1);
  expectKey(p, true);
  expectNoValue(p);
  let version: 1 | 2 | undefined;
  if (p.extras.length === 1) {
    const v = p.extras[0];
    if (v !== 1 && v !== 2) throw layoutError(p, `unknown get-meta version ${v}`);
    version = v;
  }
  return { key: p.key, version, quiet: p.opcode === Opcode.GetQMeta, vbucket: p.vbucket };
}

export function encodeGetMetaResponse(res: GetMetaResponse, init: PacketInit = {}): Packet {
  const w = new BufferWriter(21)
    .u32(res.deleted ? 1 : 0)
    .u32(res.flags)
    .u32(res.expiry)
    .u64(res.revSeqno);
  if (res.datatype !== undefined) w.u8(res.datatype);
  return makeResponse(Opcode.GetMeta, { ...init, extras: w.toBuffer(), cas: res.cas });
}

export function decodeGetMetaResponse(p: Packet): GetMetaResponse {
  expectOpcode(p, Opcode.GetMeta, Opcode.GetQMeta);
  expectExtras(p, 20, 21);
  const r = new BufferReader(p.extras);
  const deleted = r.u32() !== 0;
  const flags = r.u32();
  const expiry = r.u32();
  const revSeqno = r.u64Number('rev seqno');
  const base = { deleted, flags, expiry, revSeqno, cas: p.cas };
  return r.remaining === 1 ? { ...base, datatype: r.u8() } : base;
}
