/**
 * DCP_CONTROL keys: one row per key with what it accepts and what it changes.
 * Source: kv engines/ep/src/dcp/producer.cc `DcpProducer::control`, dcp-types.h DcpControlKeys;
 * shared/specs/dcp.md §2.4 (control table) and §4-§5 (what cbdatasource, gocbcore and
 * java-dcp-client send).
 *
 * Every control is answered (kv daemon dcp_control_executor.cc). An unknown key or a bad value is
 * Einval and the connection stays up; a known key Freshet cannot honour is NotSupported (kv does
 * the same for `stream_buffer_size`). Keys that only tune kv internals Freshet does not have
 * (cursor dropping, hifi MFU, backfill order, OSO) are accepted and recorded: they change nothing
 * a consumer could observe, since Freshet never drops cursors and never sends OSO snapshots.
 */
import { Status } from '../codec/status.js';
import type { ProducerSettings } from './settings.js';

/** What a control may touch on its producer. */
export interface ControlTarget {
  readonly settings: ProducerSettings;
  /** Set the flow-control window (0 disables flow control). */
  setBufferSize(bytes: number): void;
}

type Apply = (t: ControlTarget, value: string) => number;

const ok = Status.Success;
const einval = Status.Einval;
const U32_MAX = 0xffffffff;

/** kv `parseUint32`: decimal digits only, within u32. */
function parseU32(value: string): number | null {
  if (!/^\d{1,10}$/.test(value)) return null;
  const n = Number(value);
  return n <= U32_MAX ? n : null;
}

/**
 * `set_noop_interval`: seconds, possibly fractional. Current kv accepts any value at or above its
 * connection-manager tick (0.1 s, dcp.md §2.4 and Appendix A); the docs' 20..10800 range is stale.
 */
const MIN_NOOP_INTERVAL_S = 0.1;
const MAX_NOOP_INTERVAL_S = 24 * 3600;

function parseNoopInterval(value: string): number | null {
  if (!/^\d+(\.\d+)?$/.test(value)) return null;
  const s = Number(value);
  return s >= MIN_NOOP_INTERVAL_S && s <= MAX_NOOP_INTERVAL_S ? Math.round(s * 1000) : null;
}

/** A boolean toggle: "true" sets, anything else clears (kv compares with "true" only). */
function toggle(set: (s: ProducerSettings, on: boolean) => void): Apply {
  return (t, v) => {
    set(t.settings, v === 'true');
    return ok;
  };
}

/** Only "true" is meaningful; anything else is Einval (kv: enable-only controls). */
function enableOnly(set: (s: ProducerSettings) => void): Apply {
  return (t, v) => {
    if (v !== 'true') return einval;
    set(t.settings);
    return ok;
  };
}

export const DCP_CONTROLS: Readonly<Record<string, Apply>> = {
  connection_buffer_size: (t, v) => {
    const n = parseU32(v);
    if (n === null) return einval;
    t.setBufferSize(n);
    return ok;
  },
  stream_buffer_size: () => Status.NotSupported,
  enable_noop: toggle((s, on) => (s.noopEnabled = on)),
  set_noop_interval: (t, v) => {
    const ms = parseNoopInterval(v);
    if (ms === null) return einval;
    t.settings.noopIntervalMs = ms;
    return ok;
  },
  set_priority: (t, v) => {
    if (v !== 'high' && v !== 'medium' && v !== 'low') return einval;
    t.settings.priority = v;
    return ok;
  },
  // Values are never snappy-compressed here, and HELLO Snappy is not granted: kv answers Einval
  // ("only supported if datatype snappy is enabled on the connection").
  force_value_compression: () => einval,
  supports_cursor_dropping: toggle((s, on) => (s.cursorDropping = on)),
  supports_cursor_dropping_vulcan: toggle((s, on) => (s.cursorDropping = on)),
  supports_hifi_MFU: toggle((s, on) => (s.hifiMfu = on)),
  // One-way: kv offers no way back (producer.cc comment), and any value is answered Success.
  send_stream_end_on_client_close_stream: (t, v) => {
    if (v === 'true') t.settings.sendStreamEndOnClientClose = true;
    return ok;
  },
  // The expiry opcode shares the V2 deletion encoding, so it only takes effect on connections
  // opened with IncludeDeleteTimes; the control still succeeds (current producer.cc).
  enable_expiry_opcode: (t, v) => {
    t.settings.expiryOpcode = v === 'true' && t.settings.includeDeleteTimes;
    return ok;
  },
  enable_stream_id: enableOnly((s) => (s.streamIds = true)),
  // Intra-cluster synchronous replication (prepare/commit/abort) is not implemented.
  enable_sync_writes: () => Status.NotSupported,
  consumer_name: (t, v) => {
    if (v.length === 0) return einval;
    t.settings.consumerName = v;
    return ok;
  },
  enable_out_of_order_snapshots: (t, v) => {
    if (v === 'true') t.settings.outOfOrderSnapshots = 'on';
    else if (v === 'true_with_seqno_advanced') t.settings.outOfOrderSnapshots = 'with-seqno-advanced';
    else return einval;
    return ok;
  },
  // A capability check: Success only if the connection was opened with the flag (kv).
  include_deleted_user_xattrs: (t, v) => (v === 'true' && t.settings.includeDeletedUserXattrs ? ok : einval),
  v7_dcp_status_codes: enableOnly((s) => (s.v7StatusCodes = true)),
  // Accepting it promises version-2 (FlatBuffers) system events, which Freshet does not encode: a
  // client told Success would parse the fixed-struct values as FlatBuffers. Refused, the client
  // keeps the version 0/1 events, as it does with a producer that predates the key (kv 7.1).
  flatbuffers_system_events: () => Status.NotSupported,
  // History (change-stream) snapshots need storage that keeps every version; the by-seq index
  // keeps one entry per key.
  change_streams: () => Status.NotSupported,
  // V2.2 markers carry the purge seqno; kv only allows them on collection-aware connections.
  max_marker_version: (t, v) => {
    if (v !== '2.2' || !t.settings.collections) return einval;
    t.settings.markerVersion = 'v2.2';
    return ok;
  },
  backfill_order: (t, v) => {
    if (v !== 'round-robin' && v !== 'sequential') return einval;
    t.settings.backfillOrder = v;
    return ok;
  },
  cache_transfer: () => Status.NotSupported,
};

/** Apply one DCP_CONTROL; returns the status to answer with. */
export function applyControl(target: ControlTarget, key: string, value: string): number {
  // kv mcbp_validators.cc dcp_control_validator: key and value are both required (Einval before
  // the producer sees it), so an empty value never toggles anything off.
  if (value.length === 0) return einval;
  const apply = Object.hasOwn(DCP_CONTROLS, key) ? DCP_CONTROLS[key] : undefined;
  return apply ? apply(target, value) : einval;
}
