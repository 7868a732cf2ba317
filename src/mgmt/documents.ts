/**
 * The REST documents of this server, built from the topology with the pure builders
 * (cluster-config.ts, pools.ts). Shared by the one-shot endpoints and their streaming twins.
 *
 * Host substitution follows ns_server: the terse config and nodeServices are built with "$HOST"
 * and the placeholder is replaced by the request's local address (bucket_info_cache
 * `terse_bucket_info_with_local_addr`); the verbose documents get the local address directly.
 */
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import { HOST_PLACEHOLDER } from '../topology/cluster-config.js';
import {
  buildBucketList,
  buildDefaultPool,
  buildPools,
  buildVerboseBucket,
  type BucketStatsInput,
  type DefaultPoolJson,
  type PoolsJson,
  type VerboseBucketJson,
} from './pools.js';
import type { Topology } from '../topology/topology.js';

/**
 * Reported as each bucket's RAM quota. Freshet keeps documents in LMDB, not in a memory quota, and
 * ignores `ramQuotaMB` on create; 100 MiB is ns_server's minimum, and the SDK's bucket manager
 * needs `quota.rawRAM` to be present (couchbase-cxx-client bucket_settings_json.hxx).
 */
export const REPORTED_RAM_QUOTA = 100 * 1024 * 1024;

export function replaceHost(json: string, localAddr: string): string {
  return json.replaceAll(HOST_PLACEHOLDER, localAddr);
}

/**
 * A bucket's settings and, for the one-shot documents, its `basicStats` with ns_server's keys
 * (menelaus_stats `basic_stats`, which tools such as testrunner's RestConnection index without
 * checking): `itemCount` the live documents (engine/doc-counts.ts, as KV `curr_items`),
 * `diskUsed` and `dataUsed` the bytes its store holds (KV `ep_db_data_size`). Freshet keeps no
 * per-bucket memory (no cache, no quota, no ejection) and counts no rates, so `memUsed`,
 * `quotaPercentUsed`, `opsPerSec`, `diskFetches` and `vbActiveNumNonResident` are 0. The
 * streaming document has no `basicStats`, as ns_server's (`build_dynamic_bucket_info(streaming)`).
 */
function bucketStats(bucket: Bucket, withStats: boolean): BucketStatsInput {
  const settings = {
    ramQuota: REPORTED_RAM_QUOTA,
    maxTTL: bucket.maxTTL,
    conflictResolutionType: bucket.conflictResolution,
    durabilityMinLevel: bucket.durabilityMinLevel,
    flushEnabled: bucket.flushEnabled,
  };
  if (!withStats) return settings;
  const disk = bucket.diskBytes();
  const basicStats = {
    quotaPercentUsed: 0,
    opsPerSec: 0,
    diskFetches: 0,
    itemCount: bucket.docCounts().docCount,
    diskUsed: disk,
    dataUsed: disk,
    memUsed: 0,
    vbActiveNumNonResident: 0,
  };
  return { ...settings, basicStats };
}

export function poolsDoc(topology: Topology, isAdmin: boolean, localAddr: string): PoolsJson {
  return buildPools({ clusterUuid: topology.clusterUuid, isAdmin, isIPv6: localAddr.startsWith('[') });
}

export function defaultPoolDoc(ctx: { readonly engine: Engine }, topology: Topology, localAddr: string): DefaultPoolJson {
  return buildDefaultPool(
    { ...topology.globalInput(), bucketNames: ctx.engine.buckets().map((b) => b.name) },
    { clusterUuid: topology.clusterUuid, localAddr },
  );
}

/** `/pools/default/buckets/NAME`; `withStats` (the one-shot document) adds `basicStats`. */
export function verboseBucketDoc(topology: Topology, bucket: Bucket, localAddr: string, withStats = false): VerboseBucketJson {
  return buildVerboseBucket({ ...topology.bucketInput(bucket), ...bucketStats(bucket, withStats) }, { clusterUuid: topology.clusterUuid, localAddr });
}

/** The buckets `visible` lets through, sorted by name (ns_server filters by settings!read). */
export function bucketListDoc(
  ctx: { readonly engine: Engine },
  topology: Topology,
  localAddr: string,
  visible: (name: string) => boolean,
): VerboseBucketJson[] {
  const inputs = ctx.engine
    .buckets()
    .filter((b) => visible(b.name))
    .map((b) => ({ ...topology.bucketInput(b), ...bucketStats(b, true) }));
  return buildBucketList(inputs, { clusterUuid: topology.clusterUuid, localAddr });
}

/** `/pools/default/b/NAME`: the CCCP config text with "$HOST" replaced. */
export function terseBucketText(topology: Topology, bucket: Bucket, localAddr: string): string {
  return replaceHost(topology.bucketConfigJson(bucket.name), localAddr);
}

export function nodeServicesText(topology: Topology, localAddr: string): string {
  return replaceHost(topology.globalConfigJson(), localAddr);
}
