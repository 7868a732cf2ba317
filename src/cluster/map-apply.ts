/**
 * Applying a cluster map to one node, in the order ns_server drives a vbucket move, so that at no
 * point does this node accept a write for a vbucket it is giving up:
 *
 *   1. topology: the map's rev as revEpoch, the node list with this node's index, the owners of
 *      every bucket (what GET_CLUSTER_CONFIG, NOT_MY_VBUCKET bodies and /pools now advertise);
 *   2. buckets the map names and this node lacks are created;
 *   3. demotions: a vbucket active here that the map gives elsewhere becomes a replica, which ends
 *      its DCP streams with STREAM_END "state changed" and makes KV answer NOT_MY_VBUCKET with the
 *      new config (Bucket.setVBucketState; src/dcp/stream.ts END_REASONS);
 *   4. replication: every vbucket owned by another node is replicated from it (replica-feeds.ts);
 *   5. promotions: a vbucket the map gives to this node stops replicating (its items on disk) and
 *      becomes active with a failover entry at its last complete snapshot (engine/replica.ts).
 *
 * Vbuckets with no owner (-1) stay replicas and are not replicated. A bucket whose vbucket count
 * differs from the map's is left alone and reported: vbucket counts cannot change.
 */
import type { Logger } from '../common/logger.js';
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import { clearSnapshot, promotionSeqno } from '../engine/replica.js';
import type { Ports } from '../topology/addresses.js';
import { advertisedHostname, type Topology } from '../topology/topology.js';
import type { ClusterNodeInput } from '../topology/cluster-config.js';
import { ClusterMapFileError, type ClusterMapFile, type MapBucket, type MapNode } from './map-file.js';
import type { ReplicaFeeds } from './replica-feeds.js';

/** What applying a map changes and reads: the server's engine, cluster map and bound ports. */
export interface ClusterDeps {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly topology: Topology;
  readonly ports: Readonly<Ports>;
}

export interface ApplyTarget {
  readonly ctx: ClusterDeps;
  readonly replicaFeeds: ReplicaFeeds;
  readonly nodeIndex: number;
  readonly logger: Logger;
}

export interface ApplySummary {
  readonly rev: number;
  readonly promoted: number;
  readonly demoted: number;
  readonly replicated: number;
  readonly skippedBuckets: readonly string[];
}

function nodeInput(n: MapNode): ClusterNodeInput {
  const hostname = advertisedHostname(n.hostname);
  return {
    ...(hostname === undefined ? {} : { hostname }),
    kvPort: n.kvPort,
    mgmtPort: n.mgmtPort,
    ...(n.httpPort === undefined ? {} : { httpPort: n.httpPort }),
  };
}

export async function applyClusterMap(t: ApplyTarget, map: ClusterMapFile): Promise<ApplySummary> {
  const { ctx, nodeIndex } = t;
  if (nodeIndex >= map.nodes.length) {
    throw new ClusterMapFileError('nodes', `this node is index ${nodeIndex}, the map lists ${map.nodes.length} nodes`);
  }
  const self = map.nodes[nodeIndex]!;
  if (self.kvPort !== ctx.ports.kv || self.mgmtPort !== ctx.ports.mgmt) {
    // Clients and the other nodes will dial what the map says; say so rather than guess.
    t.logger.warn({ nodeIndex, map: { kvPort: self.kvPort, mgmtPort: self.mgmtPort }, listening: { kvPort: ctx.ports.kv, mgmtPort: ctx.ports.mgmt } }, 'the cluster map lists other ports for this node');
  }
  const { topology } = ctx;
  topology.setRevEpoch(map.rev);
  topology.setNodes(map.nodes.map(nodeInput), nodeIndex);

  const summary = { rev: map.rev, promoted: 0, demoted: 0, replicated: 0, skippedBuckets: [] as string[] };
  for (const [name, spec] of map.buckets) {
    const bucket = ctx.engine.bucket(name) ?? (await ctx.engine.createBucket(name, { numVBuckets: spec.numVBuckets }));
    if (bucket.numVBuckets !== spec.numVBuckets) {
      t.logger.error({ bucket: name, have: bucket.numVBuckets, map: spec.numVBuckets }, 'the cluster map gives this bucket another vbucket count; bucket left alone');
      summary.skippedBuckets.push(name);
      continue;
    }
    topology.setOwners(name, spec.owners);
    const r = await applyBucket(t, bucket, spec, map.nodes);
    summary.promoted += r.promoted;
    summary.demoted += r.demoted;
    summary.replicated += r.replicated;
  }
  return summary;
}

async function applyBucket(t: ApplyTarget, bucket: Bucket, spec: MapBucket, nodes: readonly MapNode[]): Promise<{ promoted: number; demoted: number; replicated: number }> {
  const me = t.nodeIndex;
  let demoted = 0;
  for (let vb = 0; vb < bucket.numVBuckets; vb++) {
    const state = bucket.vbucketState(vb);
    if (spec.owners[vb] === me || state === 'replica') continue;
    if (state === 'active') demoted++;
    await bucket.setVBucketState(vb, 'replica');
  }

  const sources = new Map<number, MapNode>();
  spec.owners.forEach((owner, vb) => {
    if (owner >= 0 && owner !== me) sources.set(vb, nodes[owner]!);
  });
  await t.replicaFeeds.update(bucket, sources);

  let promoted = 0;
  for (let vb = 0; vb < bucket.numVBuckets; vb++) {
    if (spec.owners[vb] !== me || bucket.vbucketState(vb) === 'active') continue;
    await t.replicaFeeds.release(bucket, vb);
    const branchSeqno = promotionSeqno(bucket, vb);
    clearSnapshot(bucket, vb);
    await bucket.setVBucketState(vb, 'active', { branchSeqno });
    promoted++;
  }
  return { promoted, demoted, replicated: sources.size };
}
