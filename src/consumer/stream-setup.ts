/**
 * Turning an authenticated KV connection into a DCP producer connection, and the two questions
 * answered over KV before streaming (dcp.md §4.4 steps 5-6, §3.9):
 *
 * - DCP_OPEN (Producer, plus IncludeXattrs / NoValue / IncludeDeleteTimes /
 *   IncludeDeletedUserXattrs) and the controls. `connection_buffer_size`
 *   and the noop controls are required: cbdatasource treats a refusal as fatal and so do we.
 *   `send_stream_end_on_client_close_stream` is optional (kv accepts it; without it a
 *   CLOSE_STREAM reply is the end of the stream, gocbcore's workaround for MB-26363).
 * - The high seqnos (GET_ALL_VB_SEQNOS 0x48, active vbuckets; per collection for a filtered
 *   stream) for `from: 'now'` and `to: 'now'`,
 *   and a vbucket's failover log (GET_FAILOVER_LOG 0x96; DCP_GET_FAILOVER_LOG 0x54 if the server
 *   does not know 0x96), whose newest uuid a from-now stream request must carry.
 */
import {
  DcpControlKey,
  DcpOpenFlag,
  Opcode,
  Status,
  VbucketStateFilter,
  decodeAllVbSeqnosResponse,
  decodeFailoverLogResponse,
  encodeAllVbSeqnosRequest,
  encodeDcpControlRequest,
  encodeDcpOpenRequest,
  encodeFailoverLogRequest,
} from '../codec/index.js';
import type { FailoverEntry } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { expectSuccess } from '../client/conn-errors.js';
import { ConsumerError } from './errors.js';
import type { ResolvedDataSourceOptions } from './options.js';
import type { BucketDataSourceStats } from './stats.js';

export interface ControlSpec {
  readonly key: string;
  readonly value: string;
  readonly required: boolean;
}

export function dcpOpenFlags(
  o: Pick<ResolvedDataSourceOptions, 'includeXAttrs' | 'keysOnly'> & Partial<Pick<ResolvedDataSourceOptions, 'includeDeleteTimes' | 'includeDeletedUserXattrs'>>,
): number {
  return (
    DcpOpenFlag.Producer |
    (o.includeXAttrs ? DcpOpenFlag.IncludeXattrs : 0) |
    (o.keysOnly ? DcpOpenFlag.NoValue : 0) |
    (o.includeDeleteTimes ? DcpOpenFlag.IncludeDeleteTimes : 0) |
    (o.includeDeletedUserXattrs ? DcpOpenFlag.IncludeDeletedUserXattrs : 0)
  );
}

export function controlsFor(o: Pick<ResolvedDataSourceOptions, 'feedBufferSizeBytes' | 'noopTimeIntervalSecs'> & Partial<Pick<ResolvedDataSourceOptions, 'expiryOpcode'>>): ControlSpec[] {
  const out: ControlSpec[] = [];
  if (o.feedBufferSizeBytes > 0) out.push({ key: DcpControlKey.ConnectionBufferSize, value: String(o.feedBufferSizeBytes), required: true });
  if (o.noopTimeIntervalSecs > 0) {
    out.push({ key: DcpControlKey.EnableNoop, value: 'true', required: true });
    out.push({ key: DcpControlKey.SetNoopInterval, value: String(o.noopTimeIntervalSecs), required: true });
  }
  if (o.expiryOpcode) out.push({ key: DcpControlKey.EnableExpiryOpcode, value: 'true', required: true });
  out.push({ key: DcpControlKey.SendStreamEndOnClientCloseStream, value: 'true', required: false });
  return out;
}

export interface OpenedDcp {
  /** The producer will send STREAM_END(Closed) after our CLOSE_STREAM. */
  readonly streamEndOnClose: boolean;
}

/** DCP_OPEN then the controls (pipelined); throws CONSUMER_HANDSHAKE on a refusal that matters. */
export async function openDcp(conn: KvConnection, o: ResolvedDataSourceOptions, stats: BucketDataSourceStats): Promise<OpenedDcp> {
  const open = await conn.request(encodeDcpOpenRequest({ name: o.name, flags: dcpOpenFlags(o) }));
  if (open.status !== Status.Success) {
    stats.totWorkerUPROpenErr++;
    throw new ConsumerError('HANDSHAKE', `DCP_OPEN refused: status 0x${open.status.toString(16)}`, { status: open.status });
  }
  stats.totWorkerUPROpenOk++;
  const controls = controlsFor(o);
  const replies = await Promise.all(controls.map((c) => conn.request(encodeDcpControlRequest({ key: c.key, value: c.value }))));
  let streamEndOnClose = false;
  controls.forEach((c, i) => {
    stats.totUPRControl++;
    const ok = replies[i]!.status === Status.Success;
    if (c.key === DcpControlKey.SendStreamEndOnClientCloseStream) streamEndOnClose = ok;
    if (ok) return;
    if (!c.required) {
      stats.totUPRControlOptionalRefused++;
      return;
    }
    stats.totUPRControlErr++;
    throw new ConsumerError('HANDSHAKE', `DCP_CONTROL ${c.key}=${c.value} refused: status 0x${replies[i]!.status.toString(16)}`, {
      key: c.key,
      status: replies[i]!.status,
    });
  });
  return { streamEndOnClose };
}

/**
 * High seqno of every active vbucket on the node. With `collectionIds` (a filtered,
 * collection-aware stream), the highest of those collections' high seqnos per vbucket
 * (GET_ALL_VB_SEQNOS with the collection id in the 8-byte extras form, one request each), as
 * go-dcp takes the max over its collections: "now" for the stream is the last seqno it could
 * have delivered. Without them, the vbucket's own high seqno.
 */
export async function activeHighSeqnos(conn: KvConnection, collectionIds: readonly number[] = []): Promise<Map<number, number>> {
  if (collectionIds.length === 0) {
    const res = expectSuccess(await conn.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Active })));
    return new Map(decodeAllVbSeqnosResponse(res).map((e) => [e.vbucket, e.seqno]));
  }
  const replies = await Promise.all(collectionIds.map((collectionId) => conn.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Active, collectionId }))));
  const out = new Map<number, number>();
  for (const res of replies) for (const e of decodeAllVbSeqnosResponse(expectSuccess(res))) out.set(e.vbucket, Math.max(out.get(e.vbucket) ?? 0, e.seqno));
  return out;
}

/** A vbucket's failover log, newest first. */
export async function failoverLogOf(conn: KvConnection, vb: number): Promise<FailoverEntry[]> {
  let res = await conn.request(encodeFailoverLogRequest(vb, Opcode.GetFailoverLog));
  if (res.status === Status.UnknownCommand) res = await conn.request(encodeFailoverLogRequest(vb, Opcode.DcpGetFailoverLog));
  return decodeFailoverLogResponse(expectSuccess(res));
}
