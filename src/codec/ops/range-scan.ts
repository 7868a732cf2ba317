/**
 * Range scans, Couchbase 7.6: RANGE_SCAN_CREATE 0xDA, RANGE_SCAN_CONTINUE 0xDB,
 * RANGE_SCAN_CANCEL 0xDC. Source: kv_engine docs/range_scans/range_scan_{create,continue,cancel}.md.
 *
 * Create: vbucket in the header; no extras, no key; value = JSON (datatype JSON):
 *   {"collection": "<hex id>"?, "key_only": bool?,
 *    "range": {"start"|"excl_start": base64, "end"|"excl_end": base64}   (or)
 *    "sampling": {"samples": n, "seed": n?},
 *    "snapshot_requirements": {"vb_uuid": "<base10>", "seqno": n, "seqno_exists": bool?, "timeout_ms": n?}?}
 *   Response value: the scan's 16-byte id.
 * Continue: extras (28) = id (16) | item limit u32 | time limit ms u32 | byte limit u32 (0: none);
 *   no key, no value. Answered by responses whose extras (4) are a u32 flags word (0 keys only,
 *   1 documents) and whose value is a run of items; every response but the last has status
 *   Success, the last RangeScanMore (0xA6: a limit was reached) or RangeScanComplete (0xA7).
 *   Key item: leb128 length, key. Document item: flags u32 | expiry u32 | seqno u64 | cas u64 |
 *   datatype u8, then leb128 length + key, leb128 length + value.
 * Cancel: extras (16) = id; no key, no value; Success, or KeyEnoent for an unknown id.
 */
import { decodeBase64 } from '../base64.js';
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Datatype } from '../datatype.js';
import { decodeLeb128, encodeLeb128 } from '../leb128.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, layoutError, u32Buffer } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export const SCAN_ID_LENGTH = 16;

export type ScanKind =
  | { readonly range: { readonly start: Buffer; readonly end: Buffer; readonly exclStart: boolean; readonly exclEnd: boolean } }
  | { readonly sampling: { readonly samples: number; readonly seed: number } };

export interface RangeScanCreateRequest {
  readonly vbucket: number;
  readonly collection: number;
  readonly keyOnly: boolean;
  readonly scan: ScanKind;
  readonly snapshot?: { readonly vbUuid: string; readonly seqno: number; readonly seqnoExists: boolean; readonly timeoutMs?: number };
}

export interface RangeScanContinueRequest {
  readonly id: Buffer;
  readonly itemLimit: number;
  readonly timeLimitMs: number;
  readonly byteLimit: number;
}

/** One item of a continue response. */
export interface ScanItem {
  readonly key: Buffer;
  /** Absent in a keys-only scan. */
  readonly doc?: { readonly flags: number; readonly expiry: number; readonly seqno: number; readonly cas: bigint; readonly datatype: number; readonly value: Buffer };
}

/** The continue response's flags word: what its items are. */
export const ScanContent = { Keys: 0, Documents: 1 } as const;

function invalid(p: Packet, msg: string): never {
  throw layoutError(p, `range scan: ${msg}`);
}

/** A key in the scan's JSON: base64 kv_engine's decoder takes (`cb::base64::decode`), else Einval. */
function base64Key(p: Packet, v: unknown, what: string): Buffer {
  const key = typeof v === 'string' ? decodeBase64(v) : null;
  if (key === null) invalid(p, `${what} must be a base64 string`);
  return key;
}

function parseRange(p: Packet, r: Record<string, unknown>): ScanKind {
  const start = r.start ?? r.excl_start;
  const end = r.end ?? r.excl_end;
  if (start === undefined || end === undefined) invalid(p, 'range needs a start and an end');
  return { range: { start: base64Key(p, start, 'start'), end: base64Key(p, end, 'end'), exclStart: r.start === undefined, exclEnd: r.end === undefined } };
}

function parseSampling(p: Packet, s: Record<string, unknown>): ScanKind {
  const samples = s.samples;
  const seed = s.seed ?? 0;
  if (typeof samples !== 'number' || !Number.isInteger(samples) || samples <= 0) invalid(p, 'sampling needs a positive "samples"');
  if (typeof seed !== 'number' || !Number.isFinite(seed)) invalid(p, '"seed" must be a number');
  return { sampling: { samples, seed } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function encodeRangeScanCreateRequest(req: RangeScanCreateRequest, init: PacketInit = {}): Packet {
  const body: Record<string, unknown> = { key_only: req.keyOnly };
  if (req.collection !== 0) body.collection = req.collection.toString(16);
  if ('range' in req.scan) {
    const r = req.scan.range;
    body.range = { [r.exclStart ? 'excl_start' : 'start']: r.start.toString('base64'), [r.exclEnd ? 'excl_end' : 'end']: r.end.toString('base64') };
  } else body.sampling = { samples: req.scan.sampling.samples, seed: req.scan.sampling.seed };
  if (req.snapshot) {
    const s = req.snapshot;
    body.snapshot_requirements = { vb_uuid: s.vbUuid, seqno: s.seqno, seqno_exists: s.seqnoExists, ...(s.timeoutMs === undefined ? {} : { timeout_ms: s.timeoutMs }) };
  }
  return makeRequest(Opcode.RangeScanCreate, { ...init, vbucket: req.vbucket, datatype: Datatype.Json, value: Buffer.from(JSON.stringify(body)) });
}

export function decodeRangeScanCreateRequest(p: Packet): RangeScanCreateRequest {
  expectOpcode(p, Opcode.RangeScanCreate);
  expectExtras(p, 0);
  expectKey(p, false);
  let body: unknown;
  try {
    body = JSON.parse(p.value.toString('utf8'));
  } catch {
    invalid(p, 'the value is not JSON');
  }
  if (!isRecord(body)) invalid(p, 'the value must be a JSON object');
  const hex = body.collection ?? '0';
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{1,8}$/.test(hex)) invalid(p, '"collection" must be a hex string');
  const keyOnly = body.key_only ?? false;
  if (typeof keyOnly !== 'boolean') invalid(p, '"key_only" must be a boolean');
  let scan: ScanKind;
  if (isRecord(body.range) && body.sampling === undefined) scan = parseRange(p, body.range);
  else if (isRecord(body.sampling) && body.range === undefined) scan = parseSampling(p, body.sampling);
  else invalid(p, 'one of "range" and "sampling" is required');
  const out: RangeScanCreateRequest = { vbucket: p.vbucket, collection: parseInt(hex, 16), keyOnly, scan };
  const req = body.snapshot_requirements;
  if (req === undefined) return out;
  if (!isRecord(req) || typeof req.vb_uuid !== 'string' || !/^\d+$/.test(req.vb_uuid) || typeof req.seqno !== 'number') {
    invalid(p, '"snapshot_requirements" needs "vb_uuid" (a base-10 string) and "seqno"');
  }
  const timeout = req.timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || timeout < 0)) invalid(p, '"timeout_ms" must be a number');
  return { ...out, snapshot: { vbUuid: req.vb_uuid, seqno: req.seqno, seqnoExists: req.seqno_exists === true, ...(timeout === undefined ? {} : { timeoutMs: timeout }) } };
}

export function encodeRangeScanCreateResponse(id: Buffer, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.RangeScanCreate, { ...init, value: id });
}

export function encodeRangeScanContinueRequest(req: RangeScanContinueRequest, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(28).bytes(req.id).u32(req.itemLimit).u32(req.timeLimitMs).u32(req.byteLimit).toBuffer();
  return makeRequest(Opcode.RangeScanContinue, { ...init, extras });
}

export function decodeRangeScanContinueRequest(p: Packet): RangeScanContinueRequest {
  expectOpcode(p, Opcode.RangeScanContinue);
  expectExtras(p, 28);
  expectKey(p, false);
  expectNoValue(p);
  const r = new BufferReader(p.extras);
  return { id: r.bytes(SCAN_ID_LENGTH), itemLimit: r.u32(), timeLimitMs: r.u32(), byteLimit: r.u32() };
}

export function encodeRangeScanCancelRequest(id: Buffer, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.RangeScanCancel, { ...init, extras: id });
}

export function decodeRangeScanCancelRequest(p: Packet): Buffer {
  expectOpcode(p, Opcode.RangeScanCancel);
  expectExtras(p, SCAN_ID_LENGTH);
  expectKey(p, false);
  expectNoValue(p);
  return p.extras;
}

/** The bytes one item takes in a continue response. */
export function scanItemSize(item: ScanItem): number {
  const keyLen = encodeLeb128(item.key.length).length + item.key.length;
  return item.doc === undefined ? keyLen : 25 + keyLen + encodeLeb128(item.doc.value.length).length + item.doc.value.length;
}

/** One continue response: `items` (all keys, or all documents) under `status`. */
export function encodeRangeScanContinueResponse(items: readonly ScanItem[], keyOnly: boolean, status: number, init: PacketInit = {}): Packet {
  const w = new BufferWriter(items.reduce((n, i) => n + scanItemSize(i), 0));
  for (const item of items) {
    const d = item.doc;
    if (!keyOnly && d !== undefined) w.u32(d.flags).u32(d.expiry).u64(d.seqno).u64(d.cas).u8(d.datatype);
    w.bytes(encodeLeb128(item.key.length)).bytes(item.key);
    if (!keyOnly && d !== undefined) w.bytes(encodeLeb128(d.value.length)).bytes(d.value);
  }
  return makeResponse(Opcode.RangeScanContinue, { ...init, status, extras: u32Buffer(keyOnly ? ScanContent.Keys : ScanContent.Documents), value: w.toBuffer() });
}

/** The items of one continue response (its flags word says whether they are keys or documents). */
export function decodeRangeScanContinueResponse(p: Packet): ScanItem[] {
  expectOpcode(p, Opcode.RangeScanContinue);
  if (p.value.length === 0) return [];
  expectExtras(p, 4);
  const keyOnly = p.extras.readUInt32BE(0) === ScanContent.Keys;
  const items: ScanItem[] = [];
  const v = p.value;
  let at = 0;
  const lenAt = (): number => {
    const { value, length } = decodeLeb128(v, at);
    at += length;
    if (at + value > v.length) invalid(p, 'an item runs past the value');
    return value;
  };
  while (at < v.length) {
    if (keyOnly) {
      const n = lenAt();
      items.push({ key: v.subarray(at, (at += n)) });
      continue;
    }
    if (at + 25 > v.length) invalid(p, 'a document header runs past the value');
    const r = new BufferReader(v, at, at + 25);
    const meta = { flags: r.u32(), expiry: r.u32(), seqno: r.u64Number('seqno'), cas: r.u64(), datatype: r.u8() };
    at += 25;
    const keyLen = lenAt();
    const key = v.subarray(at, (at += keyLen));
    const valueLen = lenAt();
    items.push({ key, doc: { ...meta, value: v.subarray(at, (at += valueLen)) } });
  }
  return items;
}
