/**
 * The JSON value of a DCP_STREAM_REQ: which collections a stream carries.
 * Source: kv docs/dcp/documentation/commands/stream-request.md "Collections",
 * engines/ep/src/collections/vbucket_filter.cc (Filter::constructFromJson); dcp.md §2.4.
 *
 *   (no value)                    collection-aware: every collection and every system event;
 *                                 legacy connection: the default collection, no system events
 *   {"collections": ["8", ...]}   hex collection ids       |  exclusive (both: Einval)
 *   {"scope": "8"}                hex scope id             |
 *   {"uid": "a"}                  accepted and ignored, as kv_engine 7.x does ("A uid by itself
 *                                 ok, we no longer do anything with it"): every system event in
 *                                 the stream's range is sent, and no uid is "ahead"
 *   {"sid": 7}                    stream id (needs control enable_stream_id; then mandatory)
 *   {"purge_seqno": "123"}        the client's purge seqno (decimal string)
 * A value is read only on collection-aware connections (kv daemon/mcbp_validators.cc: a value on
 * any other connection is Einval). An object naming none of these is Einval, as kv's "no uid or
 * collections found"; unknown keys besides are ignored. Ids are checked against the manifest at
 * request time: an unknown collection is UnknownCollection, an unknown scope UnknownScope, and a
 * legacy stream on a bucket whose `_default` collection was dropped is UnknownCollection (kv
 * Filter::Filter "no _default collection"); these three carry the manifest uid, which the reply
 * returns as `{"manifest_uid":"<hex>"}` (kv Filter::Filter setUnknownCollectionErrorContext).
 */
import { Status } from '../codec/status.js';
import { DEFAULT_ID, type Manifest } from '../engine/manifest.js';

/** What the stream carries (see collection-filter.ts for how it is applied). */
export type FilterSpec =
  | { readonly kind: 'legacy' }
  | { readonly kind: 'all' }
  | { readonly kind: 'collections'; readonly ids: readonly number[] }
  | { readonly kind: 'scope'; readonly scopeId: number };

export interface StreamFilter {
  readonly spec: FilterSpec;
  readonly streamId?: number;
  readonly clientPurgeSeqno?: number;
}

export type FilterResult =
  | { readonly ok: true; readonly filter: StreamFilter }
  | { readonly ok: false; readonly status: number; readonly reason: string; readonly manifestUid?: number };

const fail = (status: number, reason: string): FilterResult => ({ ok: false, status, reason });
/** An unknown collection or scope: the reply carries the manifest uid the check used. */
const unknown = (status: number, reason: string, manifest: Manifest): FilterResult => ({ ok: false, status, reason, manifestUid: manifest.uid });

function isHexId(v: unknown): v is string {
  return typeof v === 'string' && /^(0x)?[0-9a-fA-F]{1,8}$/.test(v);
}

const hexValue = (v: string): number => parseInt(v.replace(/^0x/, ''), 16);

const KNOWN_KEYS = ['collections', 'scope', 'uid', 'sid', 'purge_seqno'];

export function parseStreamFilter(value: Buffer, collectionAware: boolean, streamIds: boolean, manifest: Manifest): FilterResult {
  if (!collectionAware) {
    if (value.length > 0) return fail(Status.Einval, 'a stream-request value needs HELLO Collections');
    if (streamIds) return fail(Status.DcpStreamIdInvalid, 'a stream id is required');
    if (!manifest.hasCollection(DEFAULT_ID)) return unknown(Status.UnknownCollection, 'the _default collection was dropped', manifest);
    return { ok: true, filter: { spec: { kind: 'legacy' } } };
  }
  if (value.length === 0) {
    return streamIds ? fail(Status.DcpStreamIdInvalid, 'enable_stream_id is on: sid is required') : { ok: true, filter: { spec: { kind: 'all' } } };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return fail(Status.Einval, 'stream-request value is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(Status.Einval, 'stream-request value must be a JSON object');
  const o = json as Record<string, unknown>;
  if (!KNOWN_KEYS.some((k) => o[k] !== undefined)) return fail(Status.Einval, 'stream-request value names no collections, scope, uid, sid or purge_seqno');

  let streamId: number | undefined;
  if (o.sid !== undefined) {
    if (!streamIds) return fail(Status.DcpStreamIdInvalid, 'sid given but enable_stream_id is off');
    if (typeof o.sid !== 'number' || !Number.isInteger(o.sid) || o.sid < 1 || o.sid > 0xffff) {
      return fail(Status.DcpStreamIdInvalid, 'sid must be an integer 1..65535');
    }
    streamId = o.sid;
  } else if (streamIds) {
    return fail(Status.DcpStreamIdInvalid, 'enable_stream_id is on: sid is required');
  }

  let spec: FilterSpec = { kind: 'all' };
  if (o.collections !== undefined && o.scope !== undefined) return fail(Status.Einval, 'collections and scope are exclusive');
  if (o.collections !== undefined) {
    if (!Array.isArray(o.collections) || o.collections.length === 0 || !o.collections.every(isHexId)) {
      return fail(Status.Einval, 'collections must be a non-empty array of hex ids');
    }
    const ids = o.collections.map(hexValue);
    // kv's CollectionID constructor throws invalid_argument for the reserved 2-7 (1, the system
    // collection, is merely not in the manifest), and the filter turns that into EINVAL.
    if (ids.some((id) => id >= 2 && id <= 7)) return fail(Status.Einval, 'collection ids 2-7 are reserved');
    const missing = ids.find((id) => !manifest.hasCollection(id));
    if (missing !== undefined) return unknown(Status.UnknownCollection, `unknown collection ${missing.toString(16)}`, manifest);
    spec = { kind: 'collections', ids: [...new Set(ids)] };
  } else if (o.scope !== undefined) {
    if (!isHexId(o.scope)) return fail(Status.Einval, 'scope must be a hex id');
    const scopeId = hexValue(o.scope);
    // ScopeID's constructor refuses 1-7 the same way.
    if (scopeId >= 1 && scopeId <= 7) return fail(Status.Einval, 'scope ids 1-7 are reserved');
    if (manifest.scope(scopeId) === undefined) return unknown(Status.UnknownScope, `unknown scope ${o.scope}`, manifest);
    spec = { kind: 'scope', scopeId };
  }

  let clientPurgeSeqno: number | undefined;
  if (o.purge_seqno !== undefined) {
    if (typeof o.purge_seqno !== 'string' || !/^\d{1,16}$/.test(o.purge_seqno)) return fail(Status.Einval, 'purge_seqno must be a decimal string');
    clientPurgeSeqno = Number(o.purge_seqno);
  }
  const filter: StreamFilter = {
    spec,
    ...(streamId === undefined ? {} : { streamId }),
    ...(clientPurgeSeqno === undefined ? {} : { clientPurgeSeqno }),
  };
  return { ok: true, filter };
}
