/**
 * What the consumer does with each message a producer can send, and with each stream-request
 * status and stream-end reason: tables, read by the session (practice 4).
 *
 * Departures from cbdatasource (dcp.md §4.5), which treats anything it does not expect as fatal:
 * - an opcode that is not in the table, or a request magic we did not negotiate (0x82 pushes),
 *   is logged, counted for flow control, and skipped: a consumer must never die on a message it
 *   does not know (the first seed's tap.py crashed on an empty no-op);
 * - known messages that only exist with features we do not enable (OSO, takeover
 *   set-vbucket-state, sync-write traffic) are skipped the same way; system events and
 *   seqno-advanced are too unless the source is collection-aware (the session downgrades them);
 * - V2.x snapshot markers are understood (the codec decodes them), not fatal;
 * - STREAM_END reasons are acted on (cbdatasource ignores the reason and always refreshes).
 */
import { Opcode, Status, StreamEndReason } from '../codec/index.js';

export type MessageKind = 'data' | 'system-event' | 'seqno-advanced' | 'marker' | 'stream-end' | 'noop' | 'unsupported';

/** Kinds that carry a seqno of the vbucket's history (by_seqno first in their extras). */
export type SeqnoKind = 'data' | 'system-event' | 'seqno-advanced';

export const DCP_MESSAGE_TABLE = [
  { opcode: Opcode.DcpMutation, kind: 'data' },
  { opcode: Opcode.DcpDeletion, kind: 'data' },
  { opcode: Opcode.DcpExpiration, kind: 'data' },
  { opcode: Opcode.DcpSnapshotMarker, kind: 'marker' },
  { opcode: Opcode.DcpStreamEnd, kind: 'stream-end' },
  { opcode: Opcode.DcpNoop, kind: 'noop' },
  { opcode: Opcode.DcpSystemEvent, kind: 'system-event' }, // collection-aware sources only
  { opcode: Opcode.DcpSeqnoAdvanced, kind: 'seqno-advanced' }, // collection-aware sources only
  { opcode: Opcode.DcpOsoSnapshot, kind: 'unsupported' }, // enable_out_of_order_snapshots only
  { opcode: Opcode.DcpSetVbucketState, kind: 'unsupported' }, // takeover streams only
  { opcode: Opcode.DcpPrepare, kind: 'unsupported' }, // enable_sync_writes only
  { opcode: Opcode.DcpCommit, kind: 'unsupported' },
  { opcode: Opcode.DcpAbort, kind: 'unsupported' },
  { opcode: Opcode.DcpSeqnoAcknowledged, kind: 'unsupported' },
  { opcode: Opcode.DcpFlush, kind: 'unsupported' }, // obsolete
] as const satisfies readonly { opcode: number; kind: MessageKind }[];

const KIND = new Map<number, MessageKind>(DCP_MESSAGE_TABLE.map((r) => [r.opcode, r.kind]));

/** Client request magics a producer uses for stream traffic: 0x80, and 0x08 with frame infos. */
const STREAM_MAGICS = new Set([0x80, 0x08]);

/**
 * The message's kind, or undefined for one we do not know (to be skipped). System events and
 * seqno-advanced are 'unsupported' on a connection that did not negotiate collections.
 */
export function messageKind(magic: number, opcode: number, collectionAware = false): MessageKind | undefined {
  const kind = STREAM_MAGICS.has(magic) ? KIND.get(opcode) : undefined;
  if (!collectionAware && (kind === 'system-event' || kind === 'seqno-advanced')) return 'unsupported';
  return kind;
}

/** Consumer action for a STREAM_REQ reply status (dcp.md §3.5, §4.6). */
export type StreamReqAction = 'ok' | 'rollback' | 'rollback-to-zero' | 'refresh';

export const STREAM_REQ_STATUS_ACTIONS: ReadonlyMap<number, StreamReqAction> = new Map<number, StreamReqAction>([
  [Status.Success, 'ok'],
  [Status.Rollback, 'rollback'],
  // cbdatasource: "Not sure what else to do here on ERANGE ... besides rollback to zero"
  [Status.Erange, 'rollback-to-zero'],
]);

export function streamReqAction(status: number): StreamReqAction {
  return STREAM_REQ_STATUS_ACTIONS.get(status) ?? 'refresh'; // NotMyVbucket, Enomem, Etmpfail, ...
}

/**
 * Consumer action for a STREAM_END reason (dcp_stream_end_status.h, dcp.md §2.4):
 * - `end`: the requested range was sent (Ok); the vbucket is done if it had an end seqno;
 * - `closed`: the answer to our own CLOSE_STREAM;
 * - `rerequest`: ask the same node again from where we are (Rollback: the new request gets the
 *   rollback status; Slow: the cursor was dropped, a new stream backfills);
 * - `refresh`: the vbucket moved or the stream cannot go on here: re-read the map, then re-request;
 * - `filter-empty`: every collection of the stream's filter was dropped (kv ends it at the drop's
 *   system event): nothing can ever match again, so the vbucket is done, not re-requested.
 */
export type StreamEndAction = 'end' | 'closed' | 'rerequest' | 'refresh' | 'filter-empty';

export const STREAM_END_ACTIONS: ReadonlyMap<number, StreamEndAction> = new Map<number, StreamEndAction>([
  [StreamEndReason.Ok, 'end'],
  [StreamEndReason.Closed, 'closed'],
  [StreamEndReason.StateChanged, 'refresh'],
  [StreamEndReason.Disconnected, 'refresh'],
  [StreamEndReason.Slow, 'rerequest'],
  [StreamEndReason.BackfillFail, 'refresh'],
  [StreamEndReason.Rollback, 'rerequest'],
  [StreamEndReason.FilterEmpty, 'filter-empty'],
  [StreamEndReason.LostPrivileges, 'refresh'],
]);

export function streamEndAction(reason: number): StreamEndAction {
  return STREAM_END_ACTIONS.get(reason) ?? 'refresh';
}

/** The by_seqno of a mutation/deletion/expiration: the first 8 extras bytes in all versions. */
export function dataSeqno(extras: Buffer): number | undefined {
  if (extras.length < 8) return undefined;
  const hi = extras.readUInt32BE(0);
  if (hi >= 0x200000) return undefined; // >= 2^53: not a real seqno (dcp/common.ts number policy)
  return hi * 0x100000000 + extras.readUInt32BE(4);
}
