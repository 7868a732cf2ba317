/**
 * `stats dcp`: the DCP connections of the selected bucket, per connection and per stream, named as
 * kv_engine names them so `cbstats dcp` habits carry over (engines/ep/src/dcp/producer.cc
 * `DcpProducer::addStats`, stream.cc `Stream::addStats`, active_stream.cc `ActiveStream::addStats`;
 * connections are prefixed `eq_dcpq:<name>:` as DcpConnMap names them), plus the `ep_dcp_*`
 * aggregates. Times are epoch seconds (kv prints its own relative clock). A stream opened with a
 * stream id is listed as `stream_<vb>_sid<sid>_...`. The server hands this group to the KV listener
 * (src/server/freshet-server.ts).
 *
 * `stats dcpagg [sep]` aggregates the connections by type, as kv's `doConnAggStats` (ep_engine.cc,
 * stat names from stats.def.h `connagg_*`): the type is the part of `eq_dcpq:<name>` between the
 * first ':' and the next separator (default ':'; ns_server and cbstats send `dcpagg :`), so
 * `replication:ns_1@a->ns_1@b:default` counts under `replication:`; every connection also counts
 * under `<sep>total`, and a name without a separator only there.
 */
import type { Bucket } from '../engine/bucket.js';
import type { StatPairs } from '../kv/command-spec.js';
import type { Session } from '../kv/session.js';
import { DcpProducer, isDcpProducer } from './producer.js';
import { producersOf } from './registry.js';
import type { ProducerStream } from './stream.js';

const U64_MAX = '18446744073709551615';
const seconds = (ms: number): number => Math.floor(ms / 1000);
const seqno = (n: number): string | number => (Number.isFinite(n) ? n : U64_MAX);

function streamStats(prefix: string, s: ProducerStream): StatPairs {
  const p = s.params;
  const at = `${prefix}stream_${s.vbucket}_${s.streamId === undefined ? '' : `sid${s.streamId}_`}`;
  return [
    [`${at}flags`, p.flags],
    [`${at}opaque`, p.opaque],
    [`${at}start_seqno`, p.start],
    [`${at}end_seqno`, seqno(p.end)],
    [`${at}vb_uuid`, p.vbUuid],
    [`${at}snap_start_seqno`, p.snapStart],
    [`${at}snap_end_seqno`, p.snapEnd],
    // kv's stream states (ActiveStream::getStateName) have no 'ending': a stream whose STREAM_END
    // is queued is already dead there.
    [`${at}state`, s.state.kind === 'ending' ? 'dead' : s.state.kind],
    [`${at}backfill_disk_items`, s.backfillItems],
    [`${at}backfill_sent`, s.backfillItems],
    [`${at}memory_phase`, s.memoryItems],
    // Freshet's own: times the stream went back to disk after memory (kv counts these bucket-wide).
    [`${at}cursor_drops`, s.cursorDrops],
    [`${at}last_sent_seqno`, s.lastSentSeqno],
    [`${at}last_read_seqno`, s.lastReadSeqno],
    [`${at}markers_sent`, s.markersSent],
    [`${at}seqno_advances_sent`, s.seqnoAdvancesSent],
    [`${at}items_ready`, s.hasOutput()],
    [`${at}items_remaining`, s.itemsRemaining],
  ];
}

function producerStats(p: DcpProducer): StatPairs {
  const prefix = `eq_dcpq:${p.name}:`;
  const s = p.settings;
  const pairs: StatPairs = [
    [`${prefix}type`, 'producer'],
    [`${prefix}created`, seconds(p.createdAt)],
    [`${prefix}flags`, `0x${s.openFlags.toString(16)}`],
    [`${prefix}peer`, p.session.peer],
    [`${prefix}pending_disconnect`, p.closed],
    [`${prefix}paused`, p.flow.full],
    [`${prefix}priority`, s.priority],
    [`${prefix}items_sent`, p.itemsSent],
    [`${prefix}messages_sent`, p.messagesSent],
    [`${prefix}total_bytes_sent`, p.totalBytesSent],
    [`${prefix}last_sent_time`, seconds(p.lastSendTime)],
    [`${prefix}last_receive_time`, seconds(p.liveness.lastReceiveTime)],
    [`${prefix}noop_enabled`, s.noopEnabled],
    [`${prefix}noop_interval`, s.noopIntervalMs / 1000],
    [`${prefix}noop_wait`, p.liveness.waitingForReply],
    [`${prefix}noops_sent`, p.liveness.noopsSent],
    [`${prefix}enable_expiry_opcode`, s.expiryOpcode],
    [`${prefix}send_stream_end_on_client_close_stream`, s.sendStreamEndOnClientClose],
    // Booleans since kv 7.0 (DcpProducer::addStats); 6.x printed ELIGIBLE / enabled strings.
    [`${prefix}cursor_dropping`, s.cursorDropping],
    [`${prefix}enable_stream_id`, s.streamIds],
    [`${prefix}force_value_compression`, false],
    [`${prefix}synchronous_replication`, false],
    [`${prefix}synchronous_writes`, false],
    [`${prefix}stream_requests`, p.streamRequests],
    [`${prefix}stream_request_rollbacks`, p.rollbacks],
    [`${prefix}stream_request_refusals`, p.refusals],
  ];
  if (p.flow.enabled) {
    pairs.push(
      [`${prefix}max_buffer_bytes`, p.flow.size],
      [`${prefix}unacked_bytes`, p.flow.unacked],
      [`${prefix}total_acked_bytes`, p.flow.totalAcked],
      [`${prefix}flow_control_pauses`, p.flow.pauses],
      [`${prefix}flow_control`, 'enabled'],
    );
  } else {
    pairs.push([`${prefix}flow_control`, 'disabled']);
  }
  const streams = [...p.streams.values()];
  for (const stream of streams) pairs.push(...streamStats(prefix, stream));
  pairs.push([`${prefix}num_streams`, streams.length], [`${prefix}items_remaining`, producerItemsRemaining(p)]);
  return pairs;
}

/** The seqnos a producer's streams have still to send (kv's per-connection `items_remaining`). */
export function producerItemsRemaining(p: DcpProducer): number {
  let n = 0;
  for (const s of p.streams.values()) n += s.itemsRemaining;
  return n;
}

/** One DCP connection as the metrics and `freshet stats` report it. */
export interface DcpConnectionSummary {
  readonly bucket: string;
  readonly name: string;
  readonly streams: number;
  readonly itemsSent: number;
  readonly itemsRemaining: number;
  /** Bytes sent and not yet acknowledged under flow control (kv's `unacked_bytes`). */
  readonly bytesBuffered: number;
  readonly bytesSent: number;
  readonly paused: boolean;
}

/** The open DCP connections of a bucket (the producers `stats dcp` lists). */
export function dcpConnections(bucket: Bucket): DcpConnectionSummary[] {
  return producersOf(bucket, isDcpProducer).map((p) => ({
    bucket: bucket.name,
    name: p.name,
    streams: p.streams.size,
    itemsSent: p.itemsSent,
    itemsRemaining: producerItemsRemaining(p),
    bytesBuffered: p.flow.enabled ? p.flow.unacked : 0,
    bytesSent: p.totalBytesSent,
    paused: p.flow.full,
  }));
}

/** One type's line of `stats dcpagg` (kv ConnCounter as a producer aggregates into it). */
interface ConnAgg {
  count: number;
  producers: number;
  itemsSent: number;
  itemsRemaining: number;
  totalBytes: number;
}

export function dcpAggStats(session: Session, args: string[]): StatPairs {
  const bucket = session.bucket;
  if (!bucket) return [];
  const sep = args[0] ?? ':';
  const total = `${sep}total`;
  const groups = new Map<string, ConnAgg>([[total, { count: 0, producers: 0, itemsSent: 0, itemsRemaining: 0, totalBytes: 0 }]]);
  for (const p of producersOf(bucket, isDcpProducer)) {
    const name = `eq_dcpq:${p.name}`;
    const first = name.indexOf(':');
    const end = name.indexOf(sep, first + 1);
    const types = end === -1 ? [total] : [total, name.slice(first + 1, end)];
    for (const type of types) {
      let agg = groups.get(type);
      if (!agg) groups.set(type, (agg = { count: 0, producers: 0, itemsSent: 0, itemsRemaining: 0, totalBytes: 0 }));
      agg.count++;
      agg.producers++;
      agg.itemsSent += p.itemsSent;
      agg.itemsRemaining += producerItemsRemaining(p);
      agg.totalBytes += p.totalBytesSent;
    }
  }
  return [...groups].flatMap(([type, a]): StatPairs => [
    [`${type}:count`, a.count],
    // kv counts consumer back-offs here; a producer never backs off.
    [`${type}:backoff`, 0],
    [`${type}:producer_count`, a.producers],
    [`${type}:items_sent`, a.itemsSent],
    [`${type}:items_remaining`, a.itemsRemaining],
    [`${type}:total_bytes`, a.totalBytes],
    // Values are never compressed on the wire here: uncompressed equals sent.
    [`${type}:total_uncompressed_data_size`, a.totalBytes],
  ]);
}

export function dcpStats(session: Session): StatPairs {
  const bucket = session.bucket;
  if (!bucket) return [];
  const producers = producersOf(bucket, isDcpProducer);
  const sum = (f: (p: DcpProducer) => number): number => producers.reduce((n, p) => n + f(p), 0);
  return [
    ['ep_dcp_count', producers.length],
    ['ep_dcp_producer_count', producers.length],
    ['ep_dcp_consumer_count', 0],
    ['ep_dcp_items_sent', sum((p) => p.itemsSent)],
    ['ep_dcp_total_bytes', sum((p) => p.totalBytesSent)],
    ['ep_dcp_num_streams', sum((p) => p.streams.size)],
    ['ep_dcp_items_remaining', sum(producerItemsRemaining)],
    ...producers.flatMap(producerStats),
  ];
}
