/**
 * GET_ERROR_MAP 0xfe. Source: kv docs/BinaryProtocol.md "0xfe Get error map",
 * docs/ErrorMap.md; couchbase-sdk-bootstrap.md §3.3.
 *
 * Request: no extras, no key; value = u16 highest map version the client understands (1 or 2).
 * Response: value = JSON {version, revision, errors: {"<hex status>": {name, desc, attrs[],
 * retry?}}}. The Node SDK aborts on a map without `revision` or `errors`, so the decoder
 * checks those (and each entry's name/desc/attrs) and the encoder always writes them.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, expectValueLength, layoutError } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { Datatype } from '../datatype.js';

/**
 * Retry spec of an entry (docs/ErrorMap.md: strategy, interval, after, ceil,
 * max-duration). Servers and mocks disagree on types (strings vs numbers, nulls), so it
 * is passed through unvalidated.
 */
export type ErrorMapRetry = Readonly<Record<string, unknown>>;

export interface ErrorMapEntry {
  readonly name: string;
  readonly desc: string;
  readonly attrs: readonly string[];
  readonly retry?: ErrorMapRetry;
}

export interface ErrorMap {
  readonly version: number;
  readonly revision: number;
  /** Keyed by the status code in lower-case hex without 0x ("1", "86"). */
  readonly errors: Readonly<Record<string, ErrorMapEntry>>;
}

export function encodeErrorMapRequest(version = 2, init: PacketInit = {}): Packet {
  const value = Buffer.alloc(2);
  value.writeUInt16BE(version);
  return makeRequest(Opcode.GetErrorMap, { ...init, value });
}

export function decodeErrorMapRequest(p: Packet): { readonly version: number } {
  expectOpcode(p, Opcode.GetErrorMap);
  expectExtras(p, 0);
  expectKey(p, false);
  expectValueLength(p, 2);
  return { version: p.value.readUInt16BE(0) };
}

export function encodeErrorMapResponse(map: ErrorMap, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.GetErrorMap, { datatype: Datatype.Json, ...init, value: Buffer.from(JSON.stringify(map)) });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeErrorMapResponse(p: Packet): ErrorMap {
  expectOpcode(p, Opcode.GetErrorMap);
  let doc: unknown;
  try {
    doc = JSON.parse(p.value.toString('utf8'));
  } catch (e) {
    throw layoutError(p, `error map is not JSON: ${(e as Error).message}`);
  }
  if (!isRecord(doc) || typeof doc.version !== 'number' || typeof doc.revision !== 'number' || !isRecord(doc.errors)) {
    throw layoutError(p, 'error map needs numeric version and revision and an errors object');
  }
  const errors: Record<string, ErrorMapEntry> = {};
  for (const [code, entry] of Object.entries(doc.errors)) {
    if (
      !isRecord(entry) ||
      typeof entry.name !== 'string' ||
      typeof entry.desc !== 'string' ||
      !Array.isArray(entry.attrs) ||
      !entry.attrs.every((a): a is string => typeof a === 'string')
    ) {
      throw layoutError(p, `error map entry ${code} needs name, desc and attrs[]`);
    }
    errors[code] = isRecord(entry.retry)
      ? { name: entry.name, desc: entry.desc, attrs: entry.attrs, retry: entry.retry }
      : { name: entry.name, desc: entry.desc, attrs: entry.attrs };
  }
  return { version: doc.version, revision: doc.revision, errors };
}
