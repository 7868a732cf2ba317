/**
 * SET_WITH_META 0xa2 / ADD_WITH_META 0xa4 / DEL_WITH_META 0xa8 (quiet: 0xa3 / 0xa5 / 0xa9): XDCR's
 * writes over the memcached protocol ("XMEM"), each carrying the source version's metadata.
 * Source: kv engines/ep/docs/protocol/set_with_meta.md and del_with_meta.md, docs/BinaryProtocol.md;
 * goxdcr parts/router.go ComposeMCRequest (tap-xdcr-collections.md §XMEM).
 *
 * Request extras, 24, 26, 28 or 30 bytes:
 *   0  4  flags
 *   4  4  expiry (absolute epoch seconds; for a deletion, its delete time)
 *   8  8  rev seqno
 *  16  8  CAS of the source version
 *  24  4  options (28 and 30 only): FORCE_ACCEPT 0x02, REGENERATE_CAS 0x04, SKIP_CR 0x08, IS_EXPIRATION 0x10
 *  24|28  2  extended-meta length (26 and 30 only): that many bytes at the end of the value are
 *            extended metadata (a 4.x construct, ignored by kv since 4.6): split off and dropped.
 * Key; value = the document (with the xattr section in front when the datatype has 0x04);
 * header CAS = 0 or the CAS the current version must have.
 * Response: the stored version's CAS in the header; extras empty or the 16-byte mutation token.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, layoutError, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export const WITH_META_OPCODES: readonly number[] = [
  Opcode.SetWithMeta,
  Opcode.SetQWithMeta,
  Opcode.AddWithMeta,
  Opcode.AddQWithMeta,
  Opcode.DelWithMeta,
  Opcode.DelQWithMeta,
];

export interface WithMetaRequest {
  /** One of WITH_META_OPCODES (default SetWithMeta). */
  readonly opcode?: number;
  readonly key: Bytes;
  readonly value?: Bytes;
  readonly flags?: number;
  readonly expiry?: number;
  readonly revSeqno: number | bigint;
  readonly metaCas: bigint;
  /** Omit for the 24-byte extras. */
  readonly options?: number;
  /** Extended metadata appended to the value (26/30-byte extras). */
  readonly extendedMeta?: Bytes;
  /** Header CAS: the current version's CAS, or 0 for any. */
  readonly cas?: bigint;
  readonly datatype?: number;
  readonly vbucket?: number;
}

export interface DecodedWithMetaRequest {
  readonly opcode: number;
  readonly key: Buffer;
  /** The value without the extended metadata. */
  readonly value: Buffer;
  readonly flags: number;
  readonly expiry: number;
  readonly revSeqno: number;
  readonly metaCas: bigint;
  /** 0 when the extras had no options word. */
  readonly options: number;
  readonly cas: bigint;
  readonly datatype: number;
  readonly vbucket: number;
}

export function encodeWithMetaRequest(req: WithMetaRequest, init: PacketInit = {}): Packet {
  const ext = req.extendedMeta === undefined ? undefined : toBuffer(req.extendedMeta);
  const w = new BufferWriter(30)
    .u32(req.flags ?? 0)
    .u32(req.expiry ?? 0)
    .u64(req.revSeqno)
    .u64(req.metaCas);
  if (req.options !== undefined) w.u32(req.options);
  if (ext !== undefined) w.u16(ext.length);
  const value = toBuffer(req.value);
  return makeRequest(req.opcode ?? Opcode.SetWithMeta, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    datatype: req.datatype ?? 0,
    ...init,
    extras: w.toBuffer(),
    key: toBuffer(req.key),
    value: ext === undefined ? value : Buffer.concat([value, ext]),
  });
}

export function decodeWithMetaRequest(p: Packet): DecodedWithMetaRequest {
  expectOpcode(p, ...WITH_META_OPCODES);
  expectExtras(p, 24, 26, 28, 30);
  expectKey(p, true);
  const r = new BufferReader(p.extras);
  const flags = r.u32();
  const expiry = r.u32();
  const revSeqno = r.u64Number('rev seqno');
  const metaCas = r.u64();
  const options = p.extras.length >= 28 ? r.u32() : 0;
  const metaLen = p.extras.length === 26 || p.extras.length === 30 ? r.u16() : 0;
  if (metaLen > p.value.length) throw layoutError(p, `extended meta of ${metaLen} bytes is longer than the ${p.value.length}-byte value`);
  return {
    opcode: p.opcode,
    key: p.key,
    value: p.value.subarray(0, p.value.length - metaLen),
    flags,
    expiry,
    revSeqno,
    metaCas,
    options,
    cas: p.cas,
    datatype: p.datatype,
    vbucket: p.vbucket,
  };
}
