/**
 * `stats tap`: the TAP connections and registered cursors of the selected bucket, named after
 * ep-engine's (TapProducer::addStats, tapconnmap.cc; `cbstats tap`): the `ep_tap_*` aggregates,
 * then each connection prefixed `eq_tapq:<name>:`, then each registered client's cursor as
 * `eq_tapq:<name>:cursor_vb_<vb>` (the last seqno the client has). Times are epoch seconds.
 */
import type { StatGroup, StatPairs } from '../kv/command-spec.js';
import { isTapProducer, type TapProducer, type TapSettings } from './producer.js';
import type { Bucket } from '../engine/bucket.js';
import { cursorsOf, tapConnectionsOf } from './registry.js';

const seconds = (ms: number): number => Math.floor(ms / 1000);

function connectionStats(p: TapProducer): StatPairs {
  const at = `eq_tapq:${p.name}:`;
  const plan = p.plan;
  const backfilling = p.backfilling;
  return [
    [`${at}type`, 'producer'],
    [`${at}created`, seconds(p.createdAt)],
    [`${at}connected`, !p.closed],
    [`${at}peer`, p.session.peer],
    [`${at}flags`, `0x${plan.flags.toString(16)}`],
    [`${at}mode`, plan.dump ? 'dump' : plan.mode],
    [`${at}registered`, plan.registered],
    [`${at}support_ack`, plan.supportAck],
    [`${at}keys_only`, plan.keysOnly],
    [`${at}checkpoints`, plan.checkpoints],
    [`${at}vb_filters`, p.streams.length],
    [`${at}vb_filter`, `{ ${p.streams.map((s) => s.vbucket).join(', ')} }`],
    [`${at}items_sent`, p.itemsSent],
    [`${at}deletes_sent`, p.deletesSent],
    [`${at}opaques_sent`, p.opaquesSent],
    [`${at}checkpoint_msgs_sent`, p.checkpointsSent],
    [`${at}messages_sent`, p.messagesSent],
    [`${at}noops_sent`, p.noopsSent],
    [`${at}ack_window`, p.settings.ackWindow],
    [`${at}acks_requested`, p.acksRequested],
    [`${at}acks_received`, p.acksReceived],
    [`${at}acks_pending`, p.awaitingAck === null ? 0 : 1],
    [`${at}ack_seqno`, p.awaitingAck ?? 0],
    [`${at}unacked_items`, p.unackedItems],
    [`${at}unexpected_responses`, p.unexpectedResponses],
    [`${at}pending_backfill`, backfilling > 0],
    [`${at}backfilling_vbuckets`, backfilling],
    [`${at}backfill_completed`, backfilling === 0],
    [`${at}last_sent_time`, seconds(p.lastSendTime)],
    [`${at}last_receive_time`, seconds(p.lastReceiveTime)],
  ];
}

/** The `tap` stat group for a server's TAP settings. */
export function tapStats(settings: TapSettings): StatGroup {
  return (session) => bucketTapStats(session.bucket, settings);
}

function bucketTapStats(bucket: Bucket | null, settings: TapSettings): StatPairs {
  if (!bucket) return [];
  const producers = tapConnectionsOf(bucket, isTapProducer);
  const cursors = cursorsOf(bucket);
  const sum = (f: (p: TapProducer) => number): number => producers.reduce((n, p) => n + f(p), 0);
  const pairs: StatPairs = [
    ['ep_tap_count', producers.length],
    ['ep_tap_user_count', cursors.length],
    ['ep_tap_total_fetched', sum((p) => p.messagesSent)],
    ['ep_tap_deletes', sum((p) => p.deletesSent)],
    ['ep_tap_noop_interval', settings.noopIntervalMs / 1000],
    ['ep_tap_ack_window_size', settings.ackWindow],
    ...producers.flatMap(connectionStats),
  ];
  for (const c of cursors) {
    const at = `eq_tapq:${c.name}:`;
    pairs.push([`${at}registered_cursor`, c.attached === null ? 'disconnected' : 'connected']);
    for (const [vb, seqno] of [...c.positions].sort((a, b) => a[0] - b[0])) pairs.push([`${at}cursor_vb_${vb}`, seqno]);
  }
  return pairs;
}
