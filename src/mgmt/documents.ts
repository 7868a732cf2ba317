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

/** No `basicStats`: Freshet does not track ns_server's figures (itemCount, memUsed, ...). */
const BUCKET_STATS: BucketStatsInput = { ramQuota: REPORTED_RAM_QUOTA };

export function poolsDoc(topology: Topology, isAdmin: boolean, localAddr: string): PoolsJson {
  return buildPools({ clusterUuid: topology.clusterUuid, isAdmin, isIPv6: localAddr.startsWith('[') });
}

export function defaultPoolDoc(ctx: { readonly engine: Engine }, topology: Topology, localAddr: string): DefaultPoolJson {
  return buildDefaultPool(
    { ...topology.globalInput(), bucketNames: ctx.engine.buckets().map((b) => b.name) },
    { clusterUuid: topology.clusterUuid, localAddr },
  );
}

export function verboseBucketDoc(topology: Topology, bucket: Bucket, localAddr: string): VerboseBucketJson {
  return buildVerboseBucket({ ...topology.bucketInput(bucket), ...BUCKET_STATS, maxTTL: bucket.maxTTL, conflictResolutionType: bucket.conflictResolution, durabilityMinLevel: bucket.durabilityMinLevel, flushEnabled: bucket.flushEnabled }, { clusterUuid: topology.clusterUuid, localAddr });
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
    .map((b) => ({ ...topology.bucketInput(b), ...BUCKET_STATS, maxTTL: b.maxTTL, conflictResolutionType: b.conflictResolution, durabilityMinLevel: b.durabilityMinLevel, flushEnabled: b.flushEnabled }));
  return buildBucketList(inputs, { clusterUuid: topology.clusterUuid, localAddr });
}

/** `/pools/default/b/NAME`: the CCCP config text with "$HOST" replaced. */
export function terseBucketText(topology: Topology, bucket: Bucket, localAddr: string): string {
  return replaceHost(topology.bucketConfigJson(bucket.name), localAddr);
}

export function nodeServicesText(topology: Topology, localAddr: string): string {
  return replaceHost(topology.globalConfigJson(), localAddr);
}
