/**
 * What a bucket form's reply carries besides its errors, as ns_server's menelaus_web_buckets.erl
 * builds it for every validation (`parse_bucket_params_without_warnings`): `summaries` with a
 * `ramSummary` (`interpret_ram_quota`: the cluster's RAM quota, what the other buckets hold, this
 * bucket's per-node quota in MiB and in total) and an `hddSummary` (`interpret_hdd_quota`: the
 * data disk), and the replica warnings of `num_replicas_warnings_validation`, reported under
 * `replicaNumber` when the form has errors or is only validated (`just_validate=1`), unless
 * `ignore_warnings=1`.
 *
 * Freshet has no RAM quota: each bucket reports REPORTED_RAM_QUOTA (documents.ts), and the
 * cluster's total is the memcached reservation `/pools/default` shows (80% of the RAM). The disk
 * is the data directory's filesystem, as `/nodes/self` reports it, of which the buckets' stores
 * hold their `diskBytes` (`otherBuckets`, `thisUsed`) and anything else is `otherData`.
 */
import { statfsSync } from 'node:fs';
import { REPORTED_RAM_QUOTA } from './documents.js';
import type { RestContext } from './rest-route.js';

const MIB = 1024 * 1024;

export interface DiskUsage {
  readonly total: number;
  readonly free: number;
  readonly used: number;
}

/** The filesystem holding `path` (0 bytes when it cannot be read: the store checks and logs it). */
export function diskUsage(path: string): DiskUsage {
  try {
    const fs = statfsSync(path);
    const total = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    return { total, free, used: total - free };
  } catch {
    return { total: 0, free: 0, used: 0 };
  }
}

export interface BucketSummaries {
  readonly ramSummary: {
    total: number;
    otherBuckets: number;
    nodesCount: number;
    perNodeMegs: number;
    thisAlloc: number;
    thisUsed: number;
    free: number;
  };
  readonly hddSummary: { total: number; otherData: number; otherBuckets: number; thisUsed: number; free: number };
}

/**
 * The summaries for a form asking `ramQuotaMiB` per node (0 when a create gives none, the
 * bucket's current quota for an edit) for bucket `current` (undefined on create).
 */
export function bucketSummaries(rc: RestContext, ramQuotaMiB: number, current: string | undefined): BucketSummaries {
  const nodes = rc.topology.globalInput().nodes;
  const nodesCount = nodes.length;
  const memoryTotal = nodes.reduce((sum, n) => sum + (n.memoryTotal ?? 0), 0);
  const total = Math.floor((memoryTotal * 4) / 5 / MIB) * MIB;
  const others = rc.server.engine.buckets().filter((b) => b.name !== current).length;
  const otherBuckets = others * REPORTED_RAM_QUOTA * nodesCount;
  const thisAlloc = ramQuotaMiB * MIB * nodesCount;
  const disk = diskUsage(rc.server.engine.options.dataDir);
  // What the buckets' stores hold of the disk's used bytes (ns_server's `usedByData`).
  const byBucket = rc.server.engine.buckets().map((b) => ({ name: b.name, bytes: b.diskBytes() }));
  const usedByData = Math.min(disk.used, byBucket.reduce((sum, b) => sum + b.bytes, 0));
  const thisUsed = Math.min(usedByData, byBucket.find((b) => b.name === current)?.bytes ?? 0);
  const otherData = disk.used - usedByData;
  const otherDiskBuckets = usedByData - thisUsed;
  return {
    ramSummary: { total, otherBuckets, nodesCount, perNodeMegs: ramQuotaMiB, thisAlloc, thisUsed: 0, free: total - otherBuckets - thisAlloc },
    hddSummary: { total: disk.total, otherData, otherBuckets: otherDiskBuckets, thisUsed, free: disk.total - otherData - otherDiskBuckets },
  };
}

/**
 * `num_replicas_warnings_validation`: a replica count beyond what the KV nodes can place (one
 * node places none), and on an edit a change of it; one message under `replicaNumber`.
 */
export function replicaWarnings(rc: RestContext, replicas: number | undefined, currentReplicas: number | undefined): Record<string, string> {
  if (replicas === undefined) return {};
  const maxReplicas = rc.topology.globalInput().nodes.length - 1;
  const warnings: string[] = [];
  if (replicas > maxReplicas) warnings.push('you do not have enough data servers or server groups to support this number of replicas');
  if (currentReplicas !== undefined && currentReplicas !== replicas) warnings.push('changing replica number may require rebalance');
  return warnings.length === 0 ? {} : { replicaNumber: `Warning: ${warnings.join(' and ')}.` };
}
