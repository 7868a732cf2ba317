/**
 * The STAT groups cbstats users reach for beyond the vbucket ones (kv_engine docs/stats.org and
 * include/statistics/stats.def.h name them):
 * - general additions: `curr_items`, `curr_temp_items`, `mem_used`, `cmd_get`, `cmd_set`,
 *   `get_hits`/`get_misses` (client GETs of this listener only; the engine's read counters also
 *   see internal lookups), `ep_*` persistence figures, and XDCR's with-meta counters
 *   (`ep_num_ops_{set,del}_meta` and the conflict-resolution losses `..._res_fail`);
 *   see internal lookups), `ep_*` persistence figures, `cmd_lock` and the `lock_*` outcomes;
 * - `memory`: the process's memory as kv names it (`mem_used`, `total_heap_bytes`, ...);
 * - `timings`: per-kind latency histograms in ep-engine's key shape `<kind>_<lo>,<hi>` (µs bucket
 *   bounds, value = requests in the bucket), kinds `get_cmd`, `store_cmd`, `arith_cmd`,
 *   `delete_cmd`, `get_meta_cmd`, and `<opcode>_cmd` for the rest;
 * - `all`: general plus the engine values;
 * - `config`: the bucket's configuration as ep-engine lists it (`ep_<parameter>`,
 *   ep_engine.cc doConfigStats over configuration.json), for the parameters Freshet has.
 */
import { opcodeName } from '../../codec/opcodes.js';
import { HISTOGRAM_BOUNDS_US, LatencyHistogram } from '../../common/histogram.js';
import { OP_KINDS } from '../op-counters.js';
import type { Session } from '../session.js';
import { EngineError } from '../../engine/errors.js';
import type { DurabilityLevel } from '../../engine/types.js';
import type { StatGroup, StatPairs } from '../command-spec.js';

/** General counters derived from the listener's request counters and the selected bucket. */
export const engineGeneral: StatGroup = (session) => {
  const ops = session.stats.ops;
  const pairs: StatPairs = [
    ['cmd_get', ops.total(OP_KINDS.get)],
    ['cmd_set', ops.total(OP_KINDS.set)],
    ['get_hits', ops.getHits],
    ['get_misses', ops.getMisses],
    ['mem_used', memUsed()],
  ];
  const b = session.bucket;
  if (b) {
    const counts = b.docCounts();
    const { high, persisted } = b.seqnoTotals();
    pairs.push(['curr_items', counts.docCount], ['curr_items_tot', counts.docCount], ['curr_temp_items', 0]);
    pairs.push(['ep_num_non_resident', 0], ['vb_active_num_non_resident', 0], ['ep_total_deleted_items', counts.delCount]);
    pairs.push(['ep_queue_size', b.pendingWrites], ['ep_persistence_lag_seqnos', high - persisted], ['ep_db_data_size', b.diskBytes()]);
    const writer = b.store.writer;
    pairs.push(['ep_commit_num', writer.commits], ['ep_items_flushed', writer.committedOps], ['ep_item_commit_failed', writer.failedCommits]);
    const meta = b.withMetaStats;
    pairs.push(['ep_num_ops_set_meta', meta.setMeta], ['ep_num_ops_del_meta', meta.delMeta]);
    pairs.push(['ep_num_ops_set_meta_res_fail', meta.setMetaResolutionFailed], ['ep_num_ops_del_meta_res_fail', meta.delMetaResolutionFailed]);
    // `cmd_lock` is kv's count of locks taken; the lock_* figures are Freshet's (engine/locks.ts).
    const locks = b.lockStats();
    pairs.push(['cmd_lock', locks.locked], ['lock_held', locks.held], ['lock_refused', locks.lockRefused + locks.mutationsRefused]);
    pairs.push(['lock_unlocked', locks.unlocked + locks.releasedByMutation], ['lock_unlock_errors', locks.unlockRefused], ['lock_expired', locks.expired]);
  }
  return pairs;
};

/** RSS is what the process really holds; kv's mem_used is its allocator's count, ours the heap's. */
function memUsed(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export const memoryGroup: StatGroup = () => {
  const m = process.memoryUsage();
  return [
    ['mem_used', m.heapUsed + m.external],
    ['mem_used_estimate', m.heapUsed + m.external],
    ['total_heap_bytes', m.heapTotal],
    ['total_allocated_bytes', m.heapUsed],
    ['total_resident_bytes', m.rss],
    ['total_external_bytes', m.external],
    ['total_array_buffer_bytes', m.arrayBuffers],
    ['ep_max_size', 0],
  ];
};

const KIND_NAMES: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['get_cmd', OP_KINDS.get],
  ['store_cmd', OP_KINDS.set],
  ['arith_cmd', OP_KINDS.arith],
  ['delete_cmd', OP_KINDS.delete],
  ['get_meta_cmd', OP_KINDS.meta],
];

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function timingPairs(kind: string, h: LatencyHistogram): StatPairs {
  const pairs: StatPairs = [];
  let lo = 0;
  HISTOGRAM_BOUNDS_US.forEach((hi, i) => {
    const n = h.counts[i]!;
    if (n > 0) pairs.push([`${kind}_${lo},${hi}`, n]);
    lo = hi;
  });
  const over = h.counts[HISTOGRAM_BOUNDS_US.length]!;
  if (over > 0) pairs.push([`${kind}_${lo},inf`, over]);
  pairs.push([`${kind}_count`, h.count], [`${kind}_mean_us`, h.count === 0 ? 0 : Math.round(h.sumUs / h.count)]);
  return pairs;
}

export const timingsGroup: StatGroup = (session: Session) => {
  const timings = session.stats.ops.timings;
  const grouped = new Set<number>();
  const pairs: StatPairs = [];
  for (const [kind, opcodes] of KIND_NAMES) {
    const merged = new LatencyHistogram();
    for (const op of opcodes) {
      grouped.add(op);
      const h = timings[op];
      if (!h) continue;
      for (let i = 0; i < merged.counts.length; i++) merged.counts[i]! += h.counts[i]!;
      merged.count += h.count;
      merged.sumUs += h.sumUs;
    }
    if (merged.count > 0) pairs.push(...timingPairs(kind, merged));
  }
  timings.forEach((h, op) => {
    if (h && !grouped.has(op)) pairs.push(...timingPairs(`${snake(opcodeName(op))}_cmd`, h));
  });
  return pairs;
};

/** ep-engine's spelling of the durability levels (configuration.json durability_min_level). */
const EP_DURABILITY: Readonly<Record<DurabilityLevel, string>> = {
  none: 'none',
  majority: 'majority',
  majorityAndPersistActive: 'majority_and_persist_on_master',
  persistToMajority: 'persist_to_majority',
};

export const configGroup: StatGroup = (session) => {
  const b = session.bucket;
  if (!b) throw new EngineError('NO_BUCKET', 'select a bucket first');
  return [
    ['ep_bucket_type', 'persistent'],
    ['ep_couch_bucket', b.name],
    ['ep_uuid', b.uuid],
    ['ep_max_vbuckets', b.numVBuckets],
    ['ep_max_num_replicas', 0],
    ['ep_max_ttl', b.maxTTL],
    ['ep_conflict_resolution_type', b.conflictResolution],
    ['ep_durability_min_level', EP_DURABILITY[b.durabilityMinLevel]],
    // Values stay with their documents (Freshet keeps no metadata apart from them).
    ['ep_item_eviction_policy', 'value_only'],
    // Values are not compressed (HELLO does not grant snappy).
    ['ep_compression_mode', 'off'],
  ];
};
