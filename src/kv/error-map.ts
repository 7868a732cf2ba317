/**
 * GET_ERROR_MAP (0xfe) reply body, built from a status table passed in as data.
 *
 * Format (kv_engine docs/ErrorMap.md):
 *   { "version": 1|2, "revision": N, "errors": { "<lower-case hex code>": { name, desc, attrs[] } } }
 * Version 2 only adds attributes (`rate-limit`, and in the shipped map `system-constraint`,
 * `no-retry`); version-1 maps leave them out. The request value is a u16 maximum version; kv_engine
 * (daemon/protocol/mcbp/executors.cc `get_errmap_executor`) answers with the highest version not
 * above it, and with KEY_ENOENT (0x01) for version 0, where no map exists. The reply carries
 * datatype JSON.
 *
 * The C++ SDK aborts the user's process on a map without `revision` or `errors`, and requires
 * `name`, `desc` and `attrs` on every entry (couchbase-sdk-bootstrap.md §3.3), so every field is
 * always present. Bump `revision` whenever an entry is added or its attributes change: clients keep
 * the map with the highest revision.
 *
 * Also here: which status a client without XERROR gets for the engine errors kv remaps for such
 * clients (`engineErrorStatus`), the other half of what the error map describes.
 */
import { ErrorMapError } from './errors.js';
import type { EngineErrorKind } from '../engine/errors.js';

/** Known attributes and the first error-map version that may carry each one. */
export const ERROR_ATTRIBUTES = {
  success: 1,
  'item-only': 1,
  'invalid-input': 1,
  'fetch-config': 1,
  'conn-state-invalidated': 1,
  auth: 1,
  'special-handling': 1,
  support: 1,
  temp: 1,
  internal: 1,
  'retry-now': 1,
  'retry-later': 1,
  subdoc: 1,
  dcp: 1,
  'item-locked': 1,
  'item-deleted': 1,
  'rate-limit': 2,
  'system-constraint': 2,
  'no-retry': 2,
} as const;

export type ErrorAttribute = keyof typeof ERROR_ATTRIBUTES;
export type ErrorMapVersion = 1 | 2;
export const MAX_ERROR_MAP_VERSION: ErrorMapVersion = 2;

/**
 * Attributes kv_engine assigns (etc/couchbase/kv/error_maps/error_map_v2.json) for the statuses
 * Freshet can send. Used when a status table entry brings no attributes of its own.
 */
export const KV_ENGINE_ERROR_ATTRS: Readonly<Record<number, readonly ErrorAttribute[]>> = {
  0x00: ['success'],
  0x01: ['item-only'],
  0x02: ['item-only'],
  0x03: ['item-only', 'invalid-input'],
  0x04: ['internal', 'invalid-input'],
  0x05: ['internal', 'item-only'],
  0x06: ['item-only', 'invalid-input'],
  0x07: ['fetch-config', 'invalid-input'],
  0x08: ['conn-state-invalidated'],
  0x09: ['item-locked', 'item-only', 'retry-now'],
  0x0a: ['conn-state-invalidated'],
  0x0b: ['conn-state-invalidated'],
  0x0d: ['fetch-config', 'retry-now'],
  0x0e: ['item-only'],
  0x1f: ['conn-state-invalidated', 'auth'],
  0x20: ['conn-state-invalidated', 'auth'],
  0x21: ['special-handling'],
  0x22: ['invalid-input'],
  0x23: ['dcp', 'special-handling'],
  0x24: ['support'],
  0x25: ['conn-state-invalidated'],
  0x80: ['support'],
  0x81: ['support'],
  0x82: ['temp', 'retry-later'],
  0x83: ['support'],
  0x84: ['internal', 'conn-state-invalidated'],
  0x85: ['temp', 'retry-now'],
  0x86: ['temp', 'retry-now'],
  0x87: ['invalid-input'],
  0x88: ['invalid-input'],
  0x8c: ['invalid-input'],
  0x8d: ['invalid-input'],
  0xa0: ['invalid-input'],
  0xa1: ['item-only', 'invalid-input'],
  0xa2: ['item-only', 'retry-later'],
  0xa3: ['item-only'],
  0xa4: ['item-only', 'retry-later'],
  // The rest of kv's map: statuses Freshet sends (range scans, sub-document) or may send.
  0x0c: ['temp', 'retry-later', 'rate-limit'],
  0x0f: ['item-only'],
  0x26: ['special-handling'],
  0x27: ['special-handling'],
  0x28: ['item-only', 'system-constraint', 'no-retry'],
  0x29: ['item-only', 'system-constraint', 'no-retry'],
  0x30: ['temp', 'retry-later', 'rate-limit'],
  0x31: ['temp', 'retry-later', 'rate-limit'],
  0x32: ['conn-state-invalidated', 'rate-limit'],
  0x33: ['temp', 'retry-later', 'rate-limit'],
  0x35: ['item-only', 'system-constraint', 'no-retry'],
  0x36: ['item-only', 'system-constraint', 'no-retry'],
  0x37: ['item-only', 'system-constraint', 'no-retry'],
  0x38: ['item-only', 'system-constraint', 'no-retry'],
  0x50: ['support'],
  0x51: ['item-only', 'retry-now'],
  0x8a: ['invalid-input'],
  0xa5: ['success'],
  0xa6: ['success'],
  0xa7: ['success'],
  0xa8: ['invalid-input'],
  0xc0: ['subdoc', 'item-only'],
  0xc1: ['subdoc', 'item-only'],
  0xc2: ['subdoc', 'invalid-input'],
  0xc3: ['subdoc', 'invalid-input'],
  0xc4: ['subdoc', 'invalid-input'],
  0xc5: ['subdoc', 'invalid-input'],
  0xc6: ['subdoc', 'item-only'],
  0xc7: ['subdoc', 'item-only'],
  0xc8: ['subdoc', 'item-only'],
  0xc9: ['subdoc', 'item-only'],
  0xca: ['subdoc', 'invalid-input', 'item-only'],
  0xcb: ['subdoc', 'invalid-input'],
  0xcc: ['subdoc', 'special-handling'],
  0xcd: ['item-deleted', 'success', 'subdoc'],
  0xce: ['subdoc', 'invalid-input'],
  0xcf: ['subdoc', 'invalid-input'],
  0xd0: ['subdoc', 'invalid-input'],
  0xd1: ['subdoc', 'invalid-input'],
  0xd2: ['subdoc', 'invalid-input'],
  0xd3: ['item-deleted', 'subdoc', 'special-handling'],
  0xd4: ['subdoc', 'invalid-input'],
  0xd5: ['subdoc', 'invalid-input'],
  0xd6: ['subdoc', 'item-only'],
  0xd7: ['subdoc', 'item-only'],
  0xd8: ['subdoc', 'item-only'],
};

/**
 * The `name` kv_engine's map gives each status (error_map_v2.json): a protocol identifier that
 * clients show in their errors (gocbcore's KeyValueError.ErrorName, the C++ SDK's error context),
 * mostly the upper-case form of cb::mcbp::Status, with kv's own exceptions kept as they are.
 */
const SNAKE_EXCEPTIONS: Readonly<Record<number, string>> = {
  0x0a: 'STREAM_NOT_FOUND',
  0x0b: 'OPAQUE_NO_MATCH',
  0x0d: 'ECONFIG_ONLY',
  0x0f: 'CAS_VALUE_INVALID',
  0x8d: 'DCP stream-ID invalid',
  0xc4: 'SUBDOC_PATH_E2DEEP',
  0xc6: 'SUBDOC_DOC_NOTJSON',
};

/** kv_engine's error-map name for `code`, from Freshet's status name (`KeyEnoent` → `KEY_ENOENT`). */
export function kvErrorName(code: number, statusName: string): string {
  const exception = SNAKE_EXCEPTIONS[code];
  if (exception !== undefined) return exception;
  // kv keeps the durability and range-scan statuses (0xa0-0xa8) in CamelCase.
  if (code >= 0xa0 && code <= 0xa8) return statusName;
  return statusName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/E_(?=[A-Z])/g, (m, at: number) => (at === 0 ? 'E' : m))
    .toUpperCase();
}

/** One row of the status table (src/codec/status.ts keeps the authoritative one). */
export interface ErrorMapStatusInput {
  readonly code: number;
  readonly name: string;
  readonly description: string;
  /** Empty: fall back to KV_ENGINE_ERROR_ATTRS. */
  readonly attrs: readonly string[];
}

export interface ErrorMapEntryJson {
  readonly name: string;
  readonly desc: string;
  readonly attrs: readonly ErrorAttribute[];
}

export interface ErrorMapJson {
  readonly version: ErrorMapVersion;
  readonly revision: number;
  readonly errors: Readonly<Record<string, ErrorMapEntryJson>>;
}

export { ErrorMapError };

function isErrorAttribute(attr: string): attr is ErrorAttribute {
  return Object.prototype.hasOwnProperty.call(ERROR_ATTRIBUTES, attr);
}

/** The version to serve for a requested maximum; undefined (answer KEY_ENOENT) for 0. */
export function negotiateErrorMapVersion(requested: number): ErrorMapVersion | undefined {
  if (!Number.isInteger(requested) || requested < 1) return undefined;
  return requested >= 2 ? 2 : 1;
}

/** Lower-case hex without leading zeros, as kv_engine keys its map ("1f", "a0", "0"). */
export function errorMapKey(code: number): string {
  return code.toString(16);
}

export function buildErrorMap(
  statuses: readonly ErrorMapStatusInput[],
  opts: { readonly version: ErrorMapVersion; readonly revision: number },
): ErrorMapJson {
  if (!Number.isInteger(opts.revision) || opts.revision < 1) {
    throw new ErrorMapError(`revision must be a positive integer, got ${opts.revision}`);
  }
  const errors: Record<string, ErrorMapEntryJson> = {};
  const sorted = [...statuses].sort((a, b) => a.code - b.code);
  for (const status of sorted) {
    if (!Number.isInteger(status.code) || status.code < 0 || status.code > 0xffff) {
      throw new ErrorMapError(`status code ${status.code} is not a u16`);
    }
    const key = errorMapKey(status.code);
    if (key in errors) throw new ErrorMapError(`status 0x${key} appears twice`);
    if (status.name.length === 0) throw new ErrorMapError(`status 0x${key} has no name`);
    const given = status.attrs.length > 0 ? status.attrs : (KV_ENGINE_ERROR_ATTRS[status.code] ?? []);
    if (given.length === 0) throw new ErrorMapError(`status 0x${key} (${status.name}) has no attributes`);
    for (const attr of given) {
      if (!isErrorAttribute(attr)) throw new ErrorMapError(`status 0x${key} has unknown attribute ${attr}`);
    }
    const attrs = (given as readonly ErrorAttribute[]).filter((a) => ERROR_ATTRIBUTES[a] <= opts.version);
    // A code whose every attribute is newer than the version cannot be described to that client.
    if (attrs.length === 0) continue;
    errors[key] = { name: status.name, desc: status.description, attrs: [...new Set(attrs)] };
  }
  return { version: opts.version, revision: opts.revision, errors };
}

/**
 * The status a client that did not negotiate XERROR gets instead of an engine error's own, as
 * kv_engine's `Connection::remapErrorCode` rewrites the engine codes such a client does not know
 * (daemon/connection.cc): `locked` → KEY_EEXISTS (0x02), `locked_tmpfail` and `not_locked` →
 * TMPFAIL (0x86). Kinds not listed keep their status.
 */
const LEGACY_STATUS: Readonly<Partial<Record<EngineErrorKind, number>>> = {
  LOCKED: 0x02,
  LOCKED_TMPFAIL: 0x86,
  NOT_LOCKED: 0x86,
};

/** The status to answer `kind` with, given whether the connection negotiated XERROR. */
export function engineErrorStatus(kind: EngineErrorKind, status: number, xerror: boolean): number {
  return xerror ? status : (LEGACY_STATUS[kind] ?? status);
}
