/**
 * DCP_OPEN validation: which open flags and combinations Freshet accepts, in the order kv_engine
 * checks them (daemon/mcbp_validators.cc `dcp_open_validator`, then the engine's dcpOpen).
 *
 * Freshet is only ever a producer: a consumer open (Producer bit clear) is answered NotSupported,
 * as a bucket without consumer support would. The retired Notifier bit (0x02) and the unused
 * 0x10 are outside kv's flag mask and get Einval ("Request contains invalid flags").
 */
import { DcpOpenFlag } from '../codec/dcp/open.js';
import { Datatype } from '../codec/datatype.js';
import { Status } from '../codec/status.js';

export type OpenDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/** Flags kv_engine's validator accepts (anything else is Einval). */
const VALID_MASK =
  DcpOpenFlag.Producer |
  DcpOpenFlag.IncludeXattrs |
  DcpOpenFlag.NoValue |
  DcpOpenFlag.IncludeDeleteTimes |
  DcpOpenFlag.NoValueWithUnderlyingDatatype |
  DcpOpenFlag.PiTR |
  DcpOpenFlag.IncludeDeletedUserXattrs |
  DcpOpenFlag.SkipDeletesInInitialBackfill;

interface OpenContext {
  readonly flags: number;
  readonly value: Buffer;
  readonly collections: boolean;
  readonly datatype: number;
}

interface OpenRule {
  readonly fails: (c: OpenContext) => boolean;
  readonly status: number;
  readonly reason: string;
}

const has = (flags: number, bit: number): boolean => (flags & bit) !== 0;

/** Checked in order; the first rule that fails decides the reply. */
const OPEN_RULES: readonly OpenRule[] = [
  { fails: (c) => (c.flags & ~VALID_MASK) !== 0, status: Status.Einval, reason: 'Request contains invalid flags' },
  {
    fails: (c) => has(c.flags, DcpOpenFlag.NoValue) && has(c.flags, DcpOpenFlag.NoValueWithUnderlyingDatatype),
    status: Status.Einval,
    reason: 'Request contains invalid flags combination (NO_VALUE && NO_VALUE_WITH_UNDERLYING_DATATYPE)',
  },
  {
    fails: (c) => has(c.flags, DcpOpenFlag.IncludeDeletedUserXattrs) && !has(c.flags, DcpOpenFlag.IncludeXattrs),
    status: Status.Einval,
    reason: 'Request contains invalid flags combination - IncludeDeletedUserXattrs but not IncludeXattrs',
  },
  // kv dcp_open_validator: the datatype must describe the value (RAW when empty, JSON otherwise).
  { fails: (c) => c.value.length === 0 && c.datatype !== Datatype.Raw, status: Status.Einval, reason: 'datatype should be set to RAW' },
  {
    fails: (c) => c.value.length > 0 && c.datatype !== Datatype.Json,
    status: Status.Einval,
    reason: 'datatype should be set to JSON for non-empty value',
  },
  { fails: (c) => !validOpenValue(c), status: Status.Einval, reason: 'value must be empty or a JSON object with consumer_name' },
  { fails: (c) => !has(c.flags, DcpOpenFlag.Producer), status: Status.NotSupported, reason: 'Freshet serves DCP producers only' },
  { fails: (c) => has(c.flags, DcpOpenFlag.PiTR), status: Status.NotSupported, reason: 'PiTR is not supported' },
  {
    // Skipping deletes leaves seqno gaps that only SEQNO_ADVANCED can close (collection-aware only).
    fails: (c) => has(c.flags, DcpOpenFlag.SkipDeletesInInitialBackfill) && !c.collections,
    status: Status.Einval,
    reason: 'SkipDeletesInInitialBackfill requires HELLO Collections',
  },
];

/** kv: a non-empty value must be a JSON object whose only member is consumer_name (consumers only). */
function validOpenValue(c: OpenContext): boolean {
  if (c.value.length === 0) return true;
  let json: unknown;
  try {
    json = JSON.parse(c.value.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (key !== 'consumer_name' || typeof v !== 'string' || has(c.flags, DcpOpenFlag.Producer)) return false;
  }
  return true;
}

export function checkOpen(
  flags: number,
  value: Buffer,
  collections: boolean,
  datatype: number = value.length > 0 ? Datatype.Json : Datatype.Raw,
): OpenDecision {
  const ctx: OpenContext = { flags, value, collections, datatype };
  for (const rule of OPEN_RULES) {
    if (rule.fails(ctx)) return { ok: false, status: rule.status, reason: rule.reason };
  }
  return { ok: true };
}
