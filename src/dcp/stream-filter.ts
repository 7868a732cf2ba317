/**
 * The JSON value of a DCP_STREAM_REQ, read only on collection-aware connections
 * (kv daemon/mcbp_validators.cc: a value on any other connection is Einval).
 * Source: kv docs/dcp/documentation/commands/stream-request.md "Collections" and
 * engines/ep/src/collections/vbucket_filter.cc; dcp.md §2.4.
 *
 *   {"collections": ["0", ...]}   hex collection ids       |  exclusive
 *   {"scope": "0"}                hex scope id             |
 *   {"sid": 7}                    stream id (needs control enable_stream_id; then mandatory)
 *   {"uid": "0"}                  manifest uid the client knows (hex)
 *   {"purge_seqno": "123"}        the client's purge seqno (decimal string)
 * Unknown keys are ignored. Freshet has one collection, the default collection (id 0) in the
 * default scope (id 0), and its manifest uid is 0.
 */
import { Status } from '../codec/status.js';

export interface StreamFilter {
  readonly streamId?: number;
  readonly clientPurgeSeqno?: number;
}

export type FilterResult =
  | { readonly ok: true; readonly filter: StreamFilter }
  | { readonly ok: false; readonly status: number; readonly reason: string };

const fail = (status: number, reason: string): FilterResult => ({ ok: false, status, reason });

function isHexId(v: unknown): v is string {
  return typeof v === 'string' && /^(0x)?[0-9a-fA-F]{1,8}$/.test(v);
}

const hexValue = (v: string): number => parseInt(v.replace(/^0x/, ''), 16);

export function parseStreamFilter(value: Buffer, collectionAware: boolean, streamIds: boolean): FilterResult {
  if (!collectionAware) {
    if (value.length > 0) return fail(Status.Einval, 'a stream-request value needs HELLO Collections');
    return streamIds ? fail(Status.DcpStreamIdInvalid, 'a stream id is required') : { ok: true, filter: {} };
  }
  let json: unknown = {};
  if (value.length > 0) {
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch {
      return fail(Status.Einval, 'stream-request value is not JSON');
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(Status.Einval, 'stream-request value must be a JSON object');
  const o = json as Record<string, unknown>;

  if (o.collections !== undefined && o.scope !== undefined) return fail(Status.Einval, 'collections and scope are exclusive');
  if (o.collections !== undefined) {
    if (!Array.isArray(o.collections) || o.collections.length === 0 || !o.collections.every(isHexId)) {
      return fail(Status.Einval, 'collections must be a non-empty array of hex ids');
    }
    const unknown = o.collections.find((c) => hexValue(c) !== 0);
    if (unknown !== undefined) return fail(Status.UnknownCollection, `unknown collection ${unknown}`);
  }
  if (o.scope !== undefined) {
    if (!isHexId(o.scope)) return fail(Status.Einval, 'scope must be a hex id');
    if (hexValue(o.scope) !== 0) return fail(Status.UnknownScope, `unknown scope ${o.scope}`);
  }
  if (o.uid !== undefined && !isHexId(o.uid)) return fail(Status.Einval, 'uid must be a hex manifest uid');

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

  let clientPurgeSeqno: number | undefined;
  if (o.purge_seqno !== undefined) {
    if (typeof o.purge_seqno !== 'string' || !/^\d{1,16}$/.test(o.purge_seqno)) return fail(Status.Einval, 'purge_seqno must be a decimal string');
    clientPurgeSeqno = Number(o.purge_seqno);
  }
  const filter: StreamFilter = {
    ...(streamId === undefined ? {} : { streamId }),
    ...(clientPurgeSeqno === undefined ? {} : { clientPurgeSeqno }),
  };
  return { ok: true, filter };
}
