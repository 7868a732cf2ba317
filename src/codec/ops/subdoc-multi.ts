/**
 * SUBDOC_MULTI_LOOKUP 0xd0 and SUBDOC_MULTI_MUTATION 0xd1. Source: kv docs/SubDocument.md
 * "Multi-Path Commands", include/memcached/protocol_binary.h (protocol_binary_subdoc_multi_*_spec),
 * daemon/subdocument_validators.cc `subdoc_multi_validator`.
 *
 * Request extras: lookup 0 or 1 byte (doc flags); mutation 0, 1, 4 or 5 (expiry u32, doc flags u8).
 * Key: the document. Value: up to 16 specs, each
 *   lookup:   opcode u8, path flags u8, path length u16, path
 *   mutation: opcode u8, path flags u8, path length u16, value length u32, path, value
 * Spec opcodes: the single-path ones plus the whole-document GET 0x00 (lookups), SET 0x01 and
 * DELETE 0x04 (mutations), with an empty path.
 *
 * Lookup response value: per spec, status u16, value length u32, value.
 * Mutation response: on success, for each spec that returns a value (COUNTER), index u8, status
 * u16, value length u32, value; extras = mutation token. On failure (status
 * SUBDOC_MULTI_PATH_FAILURE[_DELETED]) one entry: index u8, status u16.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, layoutError, toBuffer, type Bytes } from '../layout.js';
import { makeRequest, type Packet, type PacketInit } from '../packet.js';
import { SUBDOC_PATH_MAX_LENGTH } from './subdoc.js';

/** PROTOCOL_BINARY_SUBDOC_MULTI_MAX_PATHS. */
export const SUBDOC_MULTI_MAX_PATHS = 16;

export interface SubdocSpec {
  readonly opcode: number;
  readonly flags: number;
  readonly path: Buffer;
  /** Empty for lookups. */
  readonly value: Buffer;
}

export interface DecodedMultiRequest {
  readonly key: Buffer;
  readonly docFlags: number;
  readonly expiry: number | undefined;
  readonly specs: SubdocSpec[];
  /** Bytes follow the 16th spec (kv parses no further: INVALID_COMBO once the 16 pass their checks). */
  readonly excess: boolean;
}

export interface MultiRequest {
  readonly key: Bytes;
  readonly specs: ReadonlyArray<{ opcode: number; flags?: number; path: Bytes; value?: Bytes }>;
  readonly docFlags?: number;
  readonly expiry?: number;
  readonly cas?: bigint;
  readonly vbucket?: number;
}

export function encodeMultiRequest(opcode: number, req: MultiRequest, init: PacketInit = {}): Packet {
  const mutation = opcode === Opcode.SubdocMultiMutation;
  const w = new BufferWriter(64);
  for (const s of req.specs) {
    const path = toBuffer(s.path);
    const value = toBuffer(s.value);
    w.u8(s.opcode).u8(s.flags ?? 0).u16(path.length);
    if (mutation) w.u32(value.length);
    w.bytes(path);
    if (mutation) w.bytes(value);
  }
  const extras = new BufferWriter(5);
  if (req.expiry !== undefined) extras.u32(req.expiry);
  if (req.docFlags !== undefined) extras.u8(req.docFlags);
  return makeRequest(opcode, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    ...init,
    extras: extras.toBuffer(),
    key: toBuffer(req.key),
    value: w.toBuffer(),
  });
}

/**
 * Split the specs. A spec that overruns the value is EINVAL (a layout error); the count limits
 * (none, or more than 16) are the handler's to answer with INVALID_COMBO, so they pass here:
 * as kv's `subdoc_multi_validator`, nothing after the 16th spec is parsed (`excess`).
 */
export function decodeMultiRequest(p: Packet): DecodedMultiRequest {
  expectOpcode(p, Opcode.SubdocMultiLookup, Opcode.SubdocMultiMutation);
  const mutation = p.opcode === Opcode.SubdocMultiMutation;
  if (mutation) expectExtras(p, 0, 1, 4, 5);
  else expectExtras(p, 0, 1);
  expectKey(p, true);
  const e = p.extras;
  const specs: SubdocSpec[] = [];
  const v = p.value;
  let at = 0;
  while (at < v.length && specs.length < SUBDOC_MULTI_MAX_PATHS) {
    const head = mutation ? 8 : 4;
    if (at + head > v.length) throw layoutError(p, `spec ${specs.length} truncated`);
    const opcode = v[at]!;
    const flags = v[at + 1]!;
    const pathLength = v.readUInt16BE(at + 2);
    const valueLength = mutation ? v.readUInt32BE(at + 4) : 0;
    if (pathLength > SUBDOC_PATH_MAX_LENGTH) throw layoutError(p, `spec ${specs.length}: path of ${pathLength} bytes; the limit is ${SUBDOC_PATH_MAX_LENGTH}`);
    const pathStart = at + head;
    const end = pathStart + pathLength + valueLength;
    if (end > v.length) throw layoutError(p, `spec ${specs.length}: path and value truncated`);
    specs.push({ opcode, flags, path: v.subarray(pathStart, pathStart + pathLength), value: v.subarray(pathStart + pathLength, end) });
    at = end;
  }
  return {
    key: p.key,
    expiry: e.length >= 4 ? e.readUInt32BE(0) : undefined,
    docFlags: e.length === 1 ? e[0]! : e.length === 5 ? e[4]! : 0,
    specs,
    excess: at < v.length,
  };
}

export interface LookupResult {
  readonly status: number;
  readonly value: Buffer;
}

export function encodeLookupResults(results: readonly LookupResult[]): Buffer {
  const w = new BufferWriter(64);
  for (const r of results) w.u16(r.status).u32(r.value.length).bytes(r.value);
  return w.toBuffer();
}

export function decodeLookupResults(value: Buffer): LookupResult[] {
  const r = new BufferReader(value);
  const out: LookupResult[] = [];
  while (r.remaining > 0) {
    const status = r.u16();
    const len = r.u32();
    out.push({ status, value: r.bytes(len) });
  }
  return out;
}

export interface MutationResultEntry {
  readonly index: number;
  readonly status: number;
  readonly value: Buffer;
}

export function encodeMutationResults(results: readonly MutationResultEntry[]): Buffer {
  const w = new BufferWriter(32);
  for (const r of results) w.u8(r.index).u16(r.status).u32(r.value.length).bytes(r.value);
  return w.toBuffer();
}

/** Success entries (index, status, value); for a failure reply use `decodeMutationFailure`. */
export function decodeMutationResults(value: Buffer): MutationResultEntry[] {
  const r = new BufferReader(value);
  const out: MutationResultEntry[] = [];
  while (r.remaining > 0) {
    const index = r.u8();
    const status = r.u16();
    const len = r.u32();
    out.push({ index, status, value: r.bytes(len) });
  }
  return out;
}

export function encodeMutationFailure(index: number, status: number): Buffer {
  return new BufferWriter(3).u8(index).u16(status).toBuffer();
}

export function decodeMutationFailure(value: Buffer): { index: number; status: number } {
  const r = new BufferReader(value);
  return { index: r.u8(), status: r.u16() };
}
