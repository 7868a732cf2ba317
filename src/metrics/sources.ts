/**
 * What the metrics read, and the readers every output shares (Prometheus collectors, the
 * `/freshet/stats` summary, CouchDB `_stats`): one reading per concept, over the counters the
 * engine and the faces already keep (KvStats, BucketStats, the group committer, the DCP
 * producers, the HTTP face's feeds, the replication manager, the login throttle, the store's
 * health). Nothing here counts anything itself.
 */
import type { AuthThrottle } from '../auth/throttle.js';
import { dcpConnections, type DcpConnectionSummary } from '../dcp/stats.js';
import type { Engine } from '../engine/engine.js';
import type { HttpFace } from '../http/face.js';
import type { KvStats } from '../kv/stats-counters.js';
import { OP_KINDS } from '../kv/op-counters.js';

export interface MetricSources {
  readonly engine: Engine;
  readonly authThrottle: AuthThrottle;
  /** Set once the KV listener is up. */
  kv?: KvStats;
  /** Set once the CouchDB listener is up. */
  http?: HttpFace;
}

export interface BucketSummary {
  readonly name: string;
  readonly items: number;
  readonly tombstones: number;
  readonly bytes: number;
  readonly highSeqnoSum: number;
  readonly persistedSeqnoSum: number;
  /** highSeqnoSum - persistedSeqnoSum: changes acknowledged to nobody yet (not on disk). */
  readonly persistenceLag: number;
  readonly numVBuckets: number;
  /** Reads of a current version served from memory (engine/record-cache.ts) and from LMDB. */
  readonly recordCacheHits: number;
  readonly bgFetches: number;
}

export function bucketSummaries(src: MetricSources): BucketSummary[] {
  return src.engine.buckets().map((b) => {
    const counts = b.docCounts();
    const { high, persisted } = b.seqnoTotals();
    return {
      name: b.name,
      items: counts.docCount,
      tombstones: counts.delCount,
      bytes: b.diskBytes(),
      highSeqnoSum: high,
      persistedSeqnoSum: persisted,
      persistenceLag: high - persisted,
      numVBuckets: b.numVBuckets,
      recordCacheHits: b.stats.recordCacheHits,
      bgFetches: b.stats.bgFetches,
    };
  });
}

export function dcpSummaries(src: MetricSources): DcpConnectionSummary[] {
  return src.engine.buckets().flatMap((b) => dcpConnections(b));
}

export function kvSummary(kv: KvStats | undefined): Record<string, number> {
  if (!kv) return { total: 0 };
  const out: Record<string, number> = { total: 0 };
  for (const [kind, ops] of Object.entries(OP_KINDS)) out[kind] = kv.ops.total(ops);
  for (let op = 0; op < 256; op++) out.total! += kv.ops.byOpcode[op]!;
  out.getHits = kv.ops.getHits;
  out.getMisses = kv.ops.getMisses;
  out.connections = kv.connections;
  out.errors = kv.errors;
  return out;
}
