/**
 * The cluster map this server advertises: which nodes exist, which node owns each vbucket of each
 * bucket, and the map's revision. Every face reads it from here: GET_CLUSTER_CONFIG and
 * NOT_MY_VBUCKET bodies on the KV port, `/pools/...` and the streaming configs on the REST port.
 * It lives below the faces: the server creates it, starts it watching the engine, and hands it to
 * the KV and REST faces and to the development cluster (src/cluster/), so no face depends on
 * another having started.
 *
 * - Owners. By default this node is the only node and owns exactly the vbuckets that are active
 *   here; a replica, pending or dead vbucket gets -1, so a client routes nowhere rather than to a
 *   node that will answer NOT_MY_VBUCKET forever (couchbase-sdk-bootstrap.md §3.6: `vBucketMap[vb][0]`
 *   is the active index, -1 for none; dcp.md §4.2: cbdatasource reports index < 0 as an error for
 *   that vbucket only). A multi-node test topology (several processes sharing one map) replaces the
 *   node list with `setNodes` and the per-bucket owners with `setOwners`.
 * - Revision. `rev` is bumped on every change (bucket created/deleted, vbucket state
 *   change, simulated failover, node or owner change, collections manifest change) and a 'change' event is emitted, which the
 *   streaming endpoints (and KV clustermap notifications) listen to. Clients accept a config only
 *   when `(revEpoch, rev)` grows (couchbase-sdk-bootstrap.md §1 item 4), and `rev` restarts at 1 with
 *   the process, so `revEpoch` is a persisted counter raised at every start: a client that kept an
 *   old config across a restart of the server still takes the new one.
 */
import { EventEmitter } from 'node:events';
import { arch, freemem, platform, totalmem } from 'node:os';
import { EngineError } from '../engine/errors.js';
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import type { NodeAddresses } from './addresses.js';
import {
  buildGlobalConfig,
  buildTerseBucketConfig,
  DEFAULT_BUCKET_CAPABILITIES,
  type BucketCapability,
  type ClusterConfigInput,
  type ClusterNodeInput,
  type GlobalConfigInput,
} from './cluster-config.js';

/** Key of the revEpoch counter in the engine's system database. */
const REV_EPOCH_KEY = 'mgmt.revEpoch';

export type TopologyChangeReason = 'bucket-created' | 'bucket-deleted' | 'vbucket-state' | 'failover' | 'nodes' | 'owners' | 'collections';

export interface TopologyChange {
  readonly rev: number;
  readonly reason: TopologyChangeReason;
  /** The bucket concerned; absent for node-list changes, which concern every bucket. */
  readonly bucket?: string;
}

/**
 * Addresses a client must not be sent to (wildcards) or that only mean "this machine" are left out
 * of the map, so every client substitutes the address it dialled, as ns_server does for a node it
 * knows only as 127.0.0.1 (cluster-config.ts header).
 */
export function advertisedHostname(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h === '' || h === '0.0.0.0' || h === '::' || h === '::1' || h === 'localhost' || h.startsWith('127.')) return undefined;
  return host;
}

/** What a topology follows: the engine's buckets and this node's addresses. */
export interface TopologyDeps {
  readonly engine: Engine;
  readonly addresses: NodeAddresses;
}

/** What the KV face reads of the map: the configs for GET_CLUSTER_CONFIG and NOT_MY_VBUCKET. */
export type ClusterConfigSource = Pick<Topology, 'bucketConfigJson' | 'globalConfigJson' | 'rev' | 'revEpoch'>;

export class Topology extends EventEmitter {
  readonly #engine: Engine;
  readonly #addresses: NodeAddresses;
  readonly #startedAt = Date.now();
  #rev = 1;
  #nodes: readonly ClusterNodeInput[] | undefined;
  #thisNode = 0;
  readonly #owners = new Map<string, readonly number[]>();
  #revEpoch: number;
  #detach: (() => void) | undefined;
  readonly #cache = new Map<string, { key: string; json: string }>();

  /** The revEpoch starts at the stored one; `startWatching` raises it for this run. */
  constructor(deps: TopologyDeps) {
    super();
    this.#engine = deps.engine;
    this.#addresses = deps.addresses;
    const stored = deps.engine.store.system.get(REV_EPOCH_KEY);
    this.#revEpoch = typeof stored === 'number' && stored > 0 ? stored : 1;
  }

  /** Cluster-map revision: bumped whenever the map (buckets, vbucket states, nodes) changes. */
  get rev(): number {
    return this.#rev;
  }

  get revEpoch(): number {
    return this.#revEpoch;
  }

  get thisNode(): number {
    return this.#thisNode;
  }

  /** Cluster uuid: the engine's stable identity (also CouchDB's `GET /` uuid). */
  get clusterUuid(): string {
    return this.#engine.uuid;
  }

  /** The nodes in map order. Default: this node alone, with the ports it really listens on. */
  nodes(): readonly ClusterNodeInput[] {
    if (this.#nodes !== undefined) return this.#nodes;
    const { host, ports } = this.#addresses;
    const hostname = advertisedHostname(host);
    return [
      {
        ...(hostname === undefined ? {} : { hostname }),
        kvPort: ports.kv,
        mgmtPort: ports.mgmt,
        ...(ports.http > 0 ? { httpPort: ports.http } : {}),
        ...(ports.kvTls > 0 ? { kvTlsPort: ports.kvTls } : {}),
        ...(ports.mgmtTls > 0 ? { mgmtTlsPort: ports.mgmtTls } : {}),
        ...(ports.httpTls > 0 ? { httpTlsPort: ports.httpTls } : {}),
        nodeUuid: this.#engine.uuid,
        uptimeSeconds: (Date.now() - this.#startedAt) / 1000,
        memoryTotal: totalmem(),
        memoryFree: freemem(),
        os: `${arch()}-${platform()}`,
      },
    ];
  }

  /** Active node index per vbucket; -1 where no node is active. */
  vbucketOwners(bucket: Bucket): readonly number[] {
    const fixed = this.#owners.get(bucket.name);
    if (fixed !== undefined) return fixed;
    const here = this.#thisNode;
    return Array.from({ length: bucket.numVBuckets }, (_, vb) => (bucket.vbucketState(vb) === 'active' ? here : -1));
  }

  /** Replace the node list (multi-node topologies); `undefined` returns to "this node only". */
  setNodes(nodes: readonly ClusterNodeInput[] | undefined, thisNode = 0): void {
    if (nodes !== undefined && (thisNode < 0 || thisNode >= nodes.length)) {
      throw new RangeError(`thisNode ${thisNode} is not an index of the ${nodes.length} nodes`);
    }
    this.#nodes = nodes === undefined ? undefined : [...nodes];
    this.#thisNode = nodes === undefined ? 0 : thisNode;
    this.bump('nodes');
  }

  /** Fix the owners of one bucket's vbuckets; `undefined` returns to "active here means mine". */
  setOwners(bucket: string, owners: readonly number[] | undefined): void {
    if (owners === undefined) this.#owners.delete(bucket);
    else this.#owners.set(bucket, [...owners]);
    this.bump('owners', bucket);
  }

  /**
   * Cluster mode (src/cluster/): the map file's rev becomes the revEpoch, the one counter every node
   * of a development cluster shares, so clients order the configs of all nodes alike; within an
   * epoch each node's own `rev` still grows. Bumps the revision.
   */
  setRevEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 1) throw new RangeError(`revEpoch ${epoch} is not a positive integer`);
    this.#revEpoch = epoch;
    this.#cache.clear();
    this.bump('nodes');
  }

  /** Raise the revision and tell the listeners. */
  bump(reason: TopologyChangeReason, bucket?: string): void {
    this.#rev += 1;
    const change: TopologyChange = { rev: this.#rev, reason, ...(bucket === undefined ? {} : { bucket }) };
    this.emit('change', change);
  }

  globalInput(): GlobalConfigInput {
    return { rev: this.rev, revEpoch: this.#revEpoch, nodes: this.nodes(), thisNode: this.#thisNode };
  }

  /**
   * XDCR's CAPI target (src/http/capi-*.ts) is served by the CouchDB face, so a bucket advertises
   * `couchapi` and `xdcrCheckpointing` (goxdcr reads both, ns_server sets them on couchbase
   * buckets) only while some node has one.
   */
  #capabilities(nodes: readonly ClusterNodeInput[]): BucketCapability[] | undefined {
    if (!nodes.some((n) => n.httpPort !== undefined || n.httpTlsPort !== undefined)) return undefined;
    return [...DEFAULT_BUCKET_CAPABILITIES, 'couchapi', 'xdcrCheckpointing'];
  }

  bucketInput(bucket: Bucket): ClusterConfigInput {
    const global = this.globalInput();
    const capabilities = this.#capabilities(global.nodes);
    return {
      ...global,
      bucket: {
        name: bucket.name, uuid: bucket.uuid, numVBuckets: bucket.numVBuckets, numReplicas: 0, collectionsManifestUid: bucket.manifest.uid,
        ...(capabilities === undefined ? {} : { capabilities }),
      },
      vbucketOwners: this.vbucketOwners(bucket),
    };
  }

  /**
   * The terse bucket config with "$HOST" left in (CCCP, NOT_MY_VBUCKET). Cached per revision:
   * a burst of NOT_MY_VBUCKET replies after a state change reuses one serialization.
   */
  bucketConfigJson(name: string): string {
    const bucket = this.#engine.bucket(name);
    if (bucket === undefined) throw new EngineError('NO_BUCKET', `no bucket named ${name}`);
    const { kv, mgmt, http, kvTls, mgmtTls, httpTls } = this.#addresses.ports;
    const key = `${this.#revEpoch}:${this.rev}:${kv}:${mgmt}:${http}:${kvTls}:${mgmtTls}:${httpTls}:${bucket.uuid}:${bucket.manifest.uid}`;
    const cached = this.#cache.get(name);
    if (cached?.key === key) return cached.json;
    const json = JSON.stringify(buildTerseBucketConfig(this.bucketInput(bucket)));
    this.#cache.set(name, { key, json });
    return json;
  }

  /** The bucket-less (GCCCP) config: nodesExt only, as `/pools/default/nodeServices` serves it. */
  globalConfigJson(): string {
    return JSON.stringify(buildGlobalConfig(this.globalInput()));
  }

  /**
   * Start following the engine: every bucket's vbucket-state and failover events, buckets created
   * later, and deletions. Raises the persisted revEpoch first. Idempotent; `stopWatching` undoes it.
   */
  async startWatching(): Promise<void> {
    if (this.#detach !== undefined) return;
    const engine = this.#engine;
    const stored = engine.store.system.get(REV_EPOCH_KEY);
    this.#revEpoch = (typeof stored === 'number' && Number.isInteger(stored) && stored > 0 ? stored : 0) + 1;
    await engine.store.system.put(REV_EPOCH_KEY, this.#revEpoch);
    this.#cache.clear();

    const perBucket = new Map<string, () => void>();
    const follow = (bucket: Bucket): void => {
      const onState = (): void => this.bump('vbucket-state', bucket.name);
      const onFailover = (): void => this.bump('failover', bucket.name);
      // A manifest change is a bucket config change in ns_server (the uid is in the config).
      const onManifest = (): void => this.bump('collections', bucket.name);
      bucket.on('vbucket-state', onState);
      bucket.on('failover', onFailover);
      bucket.on('manifest', onManifest);
      perBucket.get(bucket.name)?.();
      perBucket.set(bucket.name, () => {
        bucket.off('vbucket-state', onState);
        bucket.off('failover', onFailover);
        bucket.off('manifest', onManifest);
      });
    };
    const onCreated = (bucket: Bucket): void => {
      follow(bucket);
      this.bump('bucket-created', bucket.name);
    };
    const onDeleted = (name: string): void => {
      perBucket.get(name)?.();
      perBucket.delete(name);
      this.#owners.delete(name);
      this.#cache.delete(name);
      this.bump('bucket-deleted', name);
    };
    for (const bucket of engine.buckets()) follow(bucket);
    engine.on('bucket-created', onCreated);
    engine.on('bucket-deleted', onDeleted);
    this.#detach = () => {
      engine.off('bucket-created', onCreated);
      engine.off('bucket-deleted', onDeleted);
      for (const off of perBucket.values()) off();
      perBucket.clear();
    };
  }

  stopWatching(): void {
    this.#detach?.();
    this.#detach = undefined;
  }
}
