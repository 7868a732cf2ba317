/**
 * Verbose management REST shapes: `/pools`, `/pools/default`, `/pools/default/buckets` and
 * `/pools/default/buckets/NAME`, as cbdatasource walks them (dcp.md §4.3) through go-couchbase.
 *
 * Shapes follow ns_server menelaus_web_pools.erl (`handle_pools`, `do_build_pool_info`,
 * `build_buckets_info`), menelaus_web_buckets.erl (`build_bucket_info`) and menelaus_web_node.erl
 * (`build_nodes_info`), trimmed to what Freshet can honour, and typed so that go-couchbase
 * pools.go decodes them: `Pools`, `Pool` (its `buckets` object must hold only strings, since it
 * decodes into map[string]string), `Bucket`, and `Node`, whose `uptime` is a *string*
 * (`json:"uptime,string"`) and whose `ports` values are numbers. Unlike the terse config these
 * use the request's local address instead of "$HOST" (ns_server passes `LocalAddr` throughout).
 * The SDK's bucket manager also reads a bucket with `at()` (throwing when a key is missing):
 * `quota.rawRAM`, `evictionPolicy`, `conflictResolutionType`, `controllers` and per node `status`,
 * `hostname`, `version`, `services`, `ports` (couchbase-cxx-client bucket_settings_json.hxx).
 */

import { COUCHBASE_VERSION_STRING } from '../common/version.js';
import type { DurabilityLevel } from '../engine/types.js';
import {
  advertisedHost,
  bucketCapabilities,
  bucketUri,
  buildVBucketServerMap,
  couchApiBase,
  hostPort,
  mgmtPortOf,
  validateClusterInput,
  validateGlobalInput,
  type BucketCapability,
  type ClusterConfigInput,
  type ClusterNodeInput,
  type GlobalConfigInput,
  type VBucketServerMapJson,
} from '../topology/cluster-config.js';

/**
 * Reported as ns_server's version string ("major.minor.patch-build-edition"; clients read the
 * leading major.minor.patch): the Couchbase version Freshet follows, then ours
 * (src/common/version.ts).
 */
export const DEFAULT_IMPLEMENTATION_VERSION = COUCHBASE_VERSION_STRING;

/** REST paths advertised in these documents; the HTTP router should serve the same ones. */
export const MGMT_PATHS = {
  pools: '/pools',
  defaultPool: '/pools/default',
  poolStreaming: '/poolsStreaming/default',
  buckets: '/pools/default/buckets',
  bucket: '/pools/default/buckets/:bucket',
  bucketStreaming: '/pools/default/bucketsStreaming/:bucket',
  terseBucket: '/pools/default/b/:bucket',
  terseBucketStreaming: '/pools/default/bs/:bucket',
  nodeServices: '/pools/default/nodeServices',
  nodeServicesStreaming: '/pools/default/nodeServicesStreaming',
} as const;

export interface ServerIdentity {
  readonly clusterUuid: string;
  readonly implementationVersion?: string;
}

export interface VerboseOptions extends ServerIdentity {
  /** The address the HTTP client connected to; replaces "$HOST" for locally-known nodes. */
  readonly localAddr: string;
}

export interface VerboseNodeJson {
  readonly couchApiBase?: string;
  readonly couchApiBaseHTTPS?: string;
  readonly clusterMembership: 'active';
  readonly recoveryType: 'none';
  readonly status: 'healthy';
  readonly thisNode?: true;
  readonly hostname: string;
  readonly configuredHostname: string;
  readonly nodeUUID?: string;
  readonly clusterCompatibility: number;
  readonly version: string;
  readonly os: string;
  readonly uptime: string;
  readonly memoryTotal: number;
  readonly memoryFree: number;
  readonly mcdMemoryReserved: number;
  readonly mcdMemoryAllocated: number;
  readonly interestingStats: Readonly<Record<string, number>>;
  /** ns_server menelaus_web_node: `httpsMgmt`/`httpsCAPI` when TLS listens; `direct` when plain KV does. */
  readonly ports: { readonly direct?: number; readonly httpsMgmt?: number; readonly httpsCAPI?: number };
  readonly services: readonly ['kv'];
}

export interface PoolsJson {
  readonly isAdminCreds: boolean;
  readonly isROAdminCreds: false;
  readonly isEnterprise: false;
  readonly allowedServices: readonly ['kv'];
  readonly isIPv6: boolean;
  readonly isDeveloperPreview: false;
  readonly pools: readonly { readonly name: 'default'; readonly uri: string; readonly streamingUri: string }[];
  readonly uuid: string;
  readonly implementationVersion: string;
  readonly componentsVersion: Readonly<Record<string, string>>;
}

export interface DefaultPoolJson {
  readonly name: 'default';
  readonly nodes: readonly VerboseNodeJson[];
  readonly buckets: { readonly uri: string; readonly terseBucketsBase: string; readonly terseStreamingBucketsBase: string };
  readonly rebalanceStatus: 'none';
  readonly balanced: true;
  readonly clusterName: string;
}

export interface VerboseBucketJson {
  readonly name: string;
  readonly nodeLocator: 'vbucket';
  readonly bucketType: 'membase';
  readonly uuid: string;
  readonly uri: string;
  readonly streamingUri: string;
  readonly authType: 'sasl';
  readonly saslPassword: '';
  readonly replicaNumber: number;
  readonly replicaIndex: false;
  /** The bucket's XDCR conflict resolution (engine/with-meta.ts): revid ('seqno') or 'lww'. */
  readonly conflictResolutionType: 'seqno' | 'lww';
  readonly evictionPolicy: 'valueOnly';
  readonly compressionMode: 'off';
  /** The bucket's maximum TTL in seconds, 0 for none (ns_server `max_ttl`). */
  readonly maxTTL: number;
  /** The least durability of every write (ns_server `durability_min_level`), 'none' by default. */
  readonly durabilityMinLevel: DurabilityLevel;
  readonly bucketCapabilitiesVer: '';
  readonly bucketCapabilities: readonly BucketCapability[];
  readonly ddocs?: { readonly uri: string };
  readonly quota?: { readonly ram: number; readonly rawRAM: number };
  readonly basicStats?: Readonly<Record<string, number>>;
  /** Operation URIs (`bucketControllers`); no `flush` means flush is disabled. */
  readonly controllers: Readonly<Record<string, string>>;
  readonly nodes: readonly VerboseNodeJson[];
  readonly vBucketServerMap: VBucketServerMapJson;
}

/** ns_server's `clusterCompatibility`: major * 0x10000 + minor (7.0 -> 458752). */
export function clusterCompatibility(version: string): number {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (m === null) throw new RangeError(`version ${JSON.stringify(version)} is not major.minor...`);
  return Number(m[1]) * 0x10000 + Number(m[2]);
}

function versionOf(opts: ServerIdentity): string {
  return opts.implementationVersion ?? DEFAULT_IMPLEMENTATION_VERSION;
}

export function buildVerboseNode(
  node: ClusterNodeInput,
  index: number,
  input: GlobalConfigInput,
  opts: VerboseOptions,
  bucket?: { name: string; uuid: string },
): VerboseNodeJson {
  const host = advertisedHost(node, opts);
  const version = versionOf(opts);
  const memoryTotal = node.memoryTotal ?? 0;
  // ns_server reports 80% of RAM as the memcached reservation when no quota is configured.
  const reserved = Math.floor((memoryTotal * 4) / (5 * 1048576));
  return {
    ...(node.httpPort === undefined ? {} : { couchApiBase: couchApiBase(host, node.httpPort, bucket) }),
    ...(node.httpTlsPort === undefined ? {} : { couchApiBaseHTTPS: couchApiBase(host, node.httpTlsPort, bucket, 'https') }),
    clusterMembership: 'active',
    recoveryType: 'none',
    status: 'healthy',
    ...(index === input.thisNode ? { thisNode: true as const } : {}),
    hostname: hostPort(host, mgmtPortOf(node)),
    // ns_server's build_node_info: the address the node was configured with (no alternate names
    // here, so the same as `hostname`); consistency utilities of the SDKs read it.
    configuredHostname: hostPort(host, mgmtPortOf(node)),
    ...(node.nodeUuid === undefined ? {} : { nodeUUID: node.nodeUuid }),
    clusterCompatibility: clusterCompatibility(version),
    version,
    os: node.os ?? 'unknown',
    uptime: String(Math.max(0, Math.floor(node.uptimeSeconds ?? 0))),
    memoryTotal,
    memoryFree: node.memoryFree ?? 0,
    mcdMemoryReserved: reserved,
    mcdMemoryAllocated: reserved,
    interestingStats: {},
    ports: {
      ...(node.kvPort > 0 ? { direct: node.kvPort } : {}),
      ...(node.mgmtTlsPort === undefined ? {} : { httpsMgmt: node.mgmtTlsPort }),
      ...(node.httpTlsPort === undefined ? {} : { httpsCAPI: node.httpTlsPort }),
    },
    services: ['kv'],
  };
}

/** GET /pools. `isAdmin` reflects the request's credentials. */
export function buildPools(opts: ServerIdentity & { readonly isAdmin: boolean; readonly isIPv6?: boolean }): PoolsJson {
  const uuid = encodeURIComponent(opts.clusterUuid);
  const version = versionOf(opts);
  return {
    isAdminCreds: opts.isAdmin,
    isROAdminCreds: false,
    isEnterprise: false,
    allowedServices: ['kv'],
    isIPv6: opts.isIPv6 ?? false,
    isDeveloperPreview: false,
    pools: [
      {
        name: 'default',
        uri: `${MGMT_PATHS.defaultPool}?uuid=${uuid}`,
        streamingUri: `${MGMT_PATHS.poolStreaming}?uuid=${uuid}`,
      },
    ],
    uuid: opts.clusterUuid,
    implementationVersion: version,
    componentsVersion: { ns_server: version },
  };
}

/**
 * ns_server's `BucketsVer`: a cache buster in `buckets.uri` that changes when the set of buckets
 * or of node host/status pairs does. Here FNV-1a (32 bit) over the sorted names and nodes.
 */
export function bucketsVersion(bucketNames: readonly string[], nodes: readonly VerboseNodeJson[]): number {
  const text = JSON.stringify([[...bucketNames].sort(), nodes.map((n) => [n.hostname, n.status])]);
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** GET /pools/default */
export function buildDefaultPool(
  input: GlobalConfigInput & { readonly bucketNames: readonly string[]; readonly clusterName?: string },
  opts: VerboseOptions,
): DefaultPoolJson {
  validateGlobalInput(input);
  const nodes = input.nodes.map((n, i) => buildVerboseNode(n, i, input, opts));
  const v = bucketsVersion(input.bucketNames, nodes);
  return {
    name: 'default',
    nodes,
    buckets: {
      uri: `${MGMT_PATHS.buckets}?v=${v}&uuid=${encodeURIComponent(opts.clusterUuid)}`,
      terseBucketsBase: '/pools/default/b/',
      terseStreamingBucketsBase: '/pools/default/bs/',
    },
    rebalanceStatus: 'none',
    balanced: true,
    clusterName: input.clusterName ?? '',
  };
}

export interface BucketStatsInput {
  /** RAM quota in bytes (ns_server `quota.ram` / `quota.rawRAM`). */
  readonly ramQuota?: number;
  /** Numbers only: go-couchbase decodes them generically, ns_server sends itemCount, diskUsed, ... */
  readonly basicStats?: Readonly<Record<string, number>>;
  /** The bucket's maxTTL setting in seconds; 0 when absent. */
  readonly maxTTL?: number;
  /** The bucket's conflict resolution setting; 'seqno' when absent. */
  readonly conflictResolutionType?: 'seqno' | 'lww';
  /** The bucket's durabilityMinLevel; 'none' when absent. */
  readonly durabilityMinLevel?: DurabilityLevel;
  /** Whether the bucket may be flushed: its `controllers` then list `flush`. */
  readonly flushEnabled?: boolean;
}

/**
 * A bucket's `controllers` (menelaus_web_buckets `build_controllers`): the compaction ones Freshet
 * serves (bucket-routes.ts; ns_server's `startRecovery` is not served and left out), and `flush`
 * only for a flushable bucket: the SDK's bucket manager reads flushEnabled from its presence.
 */
export function bucketControllers(name: string, flushEnabled: boolean): Record<string, string> {
  const uri = (controller: string): string => `/pools/default/buckets/${encodeURIComponent(name)}/controller/${controller}`;
  return {
    compactAll: uri('compactBucket'),
    compactDB: uri('compactDatabases'),
    purgeDeletes: uri('unsafePurgeBucket'),
    ...(flushEnabled ? { flush: uri('doFlush') } : {}),
  };
}

/** GET /pools/default/buckets/NAME */
export function buildVerboseBucket(
  input: ClusterConfigInput & BucketStatsInput,
  opts: VerboseOptions,
): VerboseBucketJson {
  validateClusterInput(input);
  const { bucket } = input;
  return {
    name: bucket.name,
    nodeLocator: 'vbucket',
    bucketType: 'membase',
    uuid: bucket.uuid,
    uri: bucketUri('buckets', bucket),
    streamingUri: bucketUri('bucketsStreaming', bucket),
    authType: 'sasl',
    saslPassword: '',
    replicaNumber: bucket.numReplicas,
    replicaIndex: false,
    conflictResolutionType: input.conflictResolutionType ?? 'seqno',
    evictionPolicy: 'valueOnly',
    compressionMode: 'off',
    maxTTL: input.maxTTL ?? 0,
    durabilityMinLevel: input.durabilityMinLevel ?? 'none',
    bucketCapabilitiesVer: '',
    bucketCapabilities: bucketCapabilities(bucket),
    // bucket_info_cache build_ddocs: where a bucket that can have views lists them (ddocs-routes.ts);
    // go-couchbase's GetDDocs reads this uri.
    ...(bucketCapabilities(bucket).includes('couchapi') ? { ddocs: { uri: `/pools/default/buckets/${encodeURIComponent(bucket.name)}/ddocs` } } : {}),
    ...(input.ramQuota === undefined ? {} : { quota: { ram: input.ramQuota, rawRAM: input.ramQuota } }),
    ...(input.basicStats === undefined ? {} : { basicStats: { ...input.basicStats } }),
    controllers: bucketControllers(bucket.name, input.flushEnabled === true),
    nodes: input.nodes.map((n, i) => buildVerboseNode(n, i, input, opts, bucket)),
    vBucketServerMap: buildVBucketServerMap(input, opts),
  };
}

/** GET /pools/default/buckets: the buckets the caller may see, sorted by name like ns_server. */
export function buildBucketList(
  inputs: readonly (ClusterConfigInput & BucketStatsInput)[],
  opts: VerboseOptions,
): VerboseBucketJson[] {
  return [...inputs]
    .sort((a, b) => (a.bucket.name < b.bucket.name ? -1 : a.bucket.name > b.bucket.name ? 1 : 0))
    .map((input) => buildVerboseBucket(input, opts));
}
