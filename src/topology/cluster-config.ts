/**
 * Terse cluster-map JSON ("CCCP" config) builders: the reply to GET_CLUSTER_CONFIG (0xb5), the
 * body of NOT_MY_VBUCKET, and `/pools/default/b/NAME`, `/pools/default/nodeServices`.
 *
 * Shapes follow ns_server src/bucket_info_cache.erl (`compute_bucket_info_with_config`,
 * `build_nodes_ext`, `do_build_node_services`) and were checked against the parsers that read them:
 * gocbcore config.go (`cfgBucket`, `BuildRouteConfig`) and the C++ SDK core
 * (couchbase-sdk-bootstrap.md §3.6). Points that matter:
 * - `"$HOST"` goes exactly where ns_server puts it for a node it only knows as localhost:
 *   `nodes[].hostname`, `nodes[].couchApiBase` and `vBucketServerMap.serverList`. In `nodesExt`
 *   ns_server omits `hostname` for such a node (`maybe_build_ext_hostname`); every client then
 *   uses the address it dialled. ns_server replaces "$HOST" with the request's local address when
 *   it serves the same JSON over HTTP, which is what `localAddr` does here.
 * - Every `nodesExt` entry must have `services` (the C++ SDK aborts without it), and gocbcore
 *   drops a KV node whose index is beyond `nodes`, so `nodes` and `nodesExt` list the same nodes in
 *   the same order; `vBucketMap` indexes `serverList`, which follows that order too.
 * - Only capabilities Freshet implements are advertised (see BUCKET_CAPABILITIES); `collections`
 *   is one (gocbcore's HasCollectionsSupport reads it), and the manifest uid goes right after the
 *   capabilities as `collectionsManifestUid`, where bucket_info_cache.erl
 *   `build_short_bucket_info` puts it.
 * - `mgmt` is advertised because Freshet serves the REST API; the SDK's `ping()` then sends
 *   `GET /` to it and hangs unless something answers (couchbase-sdk-bootstrap.md §1).
 * - TLS ports go where ns_server puts them (service_ports.erl: `kvSSL` 11207, `mgmtSSL` 18091,
 *   `capiSSL` 18092 in `nodesExt[].services`; `httpsMgmt`/`httpsCAPI` in the verbose node's
 *   `ports`): `couchbases://` clients read them from the config the plain or TLS port served.
 *   A port given as 0 does not listen (`--tls-only`) and is left out, for the same ping reason;
 *   the legacy `serverList` and `nodes[].hostname` then name the TLS ports, the only ones there are.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

/** The placeholder clients replace with the address they connected to (gocbcore `parseConfig`). */
export const HOST_PLACEHOLDER = '$HOST';

/**
 * Bucket capabilities in ns_server's order (`build_bucket_capabilities`). `default: true` marks the
 * ones Freshet supports out of the box; the rest are advertised only when a caller asks for them.
 */
export const BUCKET_CAPABILITIES = {
  collections: { default: true, why: 'collection-aware KV and DCP (HELLO 0x12)' },
  durableWrite: { default: true, why: 'SyncWrites: durability levels (issue #16)' },
  tombstonedUserXAttrs: { default: false, why: 'user xattrs kept on deleted documents' },
  couchapi: { default: false, why: 'the CAPI (XDCR target) endpoints on the capi port, the CouchDB face; topology.ts adds it when that face listens' },
  dcp: { default: true, why: 'DCP producer' },
  cbhello: { default: true, why: 'HELLO feature negotiation' },
  touch: { default: true, why: 'TOUCH and GAT' },
  cccp: { default: true, why: 'GET_CLUSTER_CONFIG on the KV port' },
  xdcrCheckpointing: { default: false, why: 'XDCR checkpoint endpoints (_pre_replicate...) on the capi port; added with couchapi' },
  nodesExt: { default: true, why: 'configs carry nodesExt' },
  xattr: { default: false, why: 'extended attributes (HELLO 0x06)' },
  rangeScan: { default: true, why: 'KV range scans, RANGE_SCAN_CREATE/CONTINUE/CANCEL (0xDA-0xDC), Couchbase 7.6' },
  'subdoc.ReplicaRead': { default: true, why: 'sub-document lookups on replicas (doc flag ReplicaRead), the SDK\'s lookupIn*Replica' },
} as const;

export type BucketCapability = keyof typeof BUCKET_CAPABILITIES;

export const DEFAULT_BUCKET_CAPABILITIES: readonly BucketCapability[] = (
  Object.keys(BUCKET_CAPABILITIES) as BucketCapability[]
).filter((c) => BUCKET_CAPABILITIES[c].default);

export interface ClusterNodeInput {
  /** Absent: the node is only known locally and is addressed as "$HOST" (or `localAddr`). */
  readonly hostname?: string;
  /** 0: no plain KV listener (TLS only; kvTlsPort is then required). */
  readonly kvPort: number;
  /** The REST port serving /pools (ns_server's 8091); 0 like kvPort. */
  readonly mgmtPort: number;
  /** The CouchDB HTTP face, advertised as the capi service / couchApiBase (ns_server's 8092). */
  readonly httpPort?: number;
  /** TLS listeners: `kvSSL`, `mgmtSSL`, `capiSSL` (ns_server's 11207, 18091, 18092). */
  readonly kvTlsPort?: number;
  readonly mgmtTlsPort?: number;
  readonly httpTlsPort?: number;
  readonly nodeUuid?: string;
  /** Runtime facts for the verbose REST shapes (pools.ts); all optional. */
  readonly uptimeSeconds?: number;
  readonly memoryTotal?: number;
  readonly memoryFree?: number;
  readonly os?: string;
}

export interface BucketInput {
  readonly name: string;
  readonly uuid: string;
  readonly numVBuckets: number;
  readonly numReplicas: number;
  readonly capabilities?: readonly BucketCapability[];
  /** The collections manifest uid (engine/manifest.ts), advertised as `collectionsManifestUid`. */
  readonly collectionsManifestUid?: number;
}

export interface GlobalConfigInput {
  readonly rev: number;
  readonly revEpoch?: number;
  readonly nodes: readonly ClusterNodeInput[];
  /** Index of the node answering (marked `thisNode`). */
  readonly thisNode?: number;
}

export interface ClusterConfigInput extends GlobalConfigInput {
  readonly bucket: BucketInput;
  /** Active node index per vbucket; -1 for none. Length must equal numVBuckets. */
  readonly vbucketOwners: readonly number[];
}

export interface HostOptions {
  /** Replace the placeholder with this address (HTTP replies); omit for CCCP. */
  readonly localAddr?: string;
}

export interface NodeServicesJson {
  readonly kv?: number;
  readonly kvSSL?: number;
  readonly mgmt?: number;
  readonly mgmtSSL?: number;
  readonly capi?: number;
  readonly capiSSL?: number;
}

export interface NodeExtJson {
  readonly services: NodeServicesJson;
  readonly thisNode?: true;
  readonly hostname?: string;
}

export interface TerseNodeJson {
  readonly couchApiBase?: string;
  readonly hostname: string;
  /** Without `direct` when no plain KV port listens. */
  readonly ports: { readonly direct?: number };
}

export interface VBucketServerMapJson {
  readonly hashAlgorithm: 'CRC';
  readonly numReplicas: number;
  readonly serverList: readonly string[];
  readonly vBucketMap: readonly (readonly number[])[];
}

export interface GlobalConfigJson {
  readonly rev: number;
  readonly revEpoch?: number;
  readonly nodesExt: readonly NodeExtJson[];
  readonly clusterCapabilitiesVer: readonly [1, 0];
  readonly clusterCapabilities: Readonly<Record<string, readonly string[]>>;
}

export interface TerseBucketConfigJson {
  readonly rev: number;
  readonly revEpoch?: number;
  readonly name: string;
  readonly nodeLocator: 'vbucket';
  readonly bucketType: 'membase';
  readonly uuid: string;
  readonly uri: string;
  readonly streamingUri: string;
  readonly bucketCapabilitiesVer: '';
  readonly bucketCapabilities: readonly BucketCapability[];
  /** Lower-case hex, no 0x (ns_server collections.erl `convert_uid_to_memcached`). */
  readonly collectionsManifestUid?: string;
  readonly vBucketServerMap: VBucketServerMapJson;
  readonly nodes: readonly TerseNodeJson[];
  readonly nodesExt: readonly NodeExtJson[];
  readonly clusterCapabilitiesVer: readonly [1, 0];
  readonly clusterCapabilities: Readonly<Record<string, readonly string[]>>;
}

export const TOPOLOGY_ERRORS = {
  CONFIG_INVALID: 'a cluster-map input (nodes, ports, bucket, vbucket owners) that cannot form a valid config',
} as const;

registerErrorCodes('TOPOLOGY', 'src/topology/cluster-config.ts', TOPOLOGY_ERRORS);

export class ClusterConfigError extends FreshetError<'TOPOLOGY_CONFIG_INVALID'> {
  constructor(message: string) {
    super(errorCode('TOPOLOGY', 'CONFIG_INVALID'), message);
    this.name = 'ClusterConfigError';
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ClusterConfigError(message);
}

const isPort = (p: unknown): boolean => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536;
const isCount = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0;

/** Bucket names as ns_server allows them; they also go unescaped into some JSON paths. */
export const BUCKET_NAME = /^[A-Za-z0-9_%-][A-Za-z0-9._%-]{0,99}$/;

export function validateGlobalInput(input: GlobalConfigInput): void {
  check(isCount(input.rev), `rev must be a non-negative integer, got ${input.rev}`);
  check(input.revEpoch === undefined || isCount(input.revEpoch), 'revEpoch must be a non-negative integer');
  check(input.nodes.length > 0, 'a config needs at least one node');
  input.nodes.forEach((n, i) => {
    const optional = (p: number | undefined): boolean => p === undefined || isPort(p);
    check(optional(n.kvTlsPort) && optional(n.mgmtTlsPort) && optional(n.httpTlsPort), `node ${i} has an invalid TLS port`);
    check(isPort(kvPortOf(n)) && isPort(mgmtPortOf(n)), `node ${i} has an invalid port`);
    check((n.kvPort === 0 || isPort(n.kvPort)) && (n.mgmtPort === 0 || isPort(n.mgmtPort)), `node ${i} has an invalid port`);
    check(n.httpPort === undefined || isPort(n.httpPort), `node ${i} has an invalid httpPort`);
    check(n.hostname === undefined || /^[^\s$"\\/]+$/.test(n.hostname), `node ${i} has an invalid hostname`);
  });
  check(
    input.thisNode === undefined || (Number.isInteger(input.thisNode) && input.thisNode >= 0 && input.thisNode < input.nodes.length),
    `thisNode ${input.thisNode} is not a node index`,
  );
}

export function validateClusterInput(input: ClusterConfigInput): void {
  validateGlobalInput(input);
  const { bucket } = input;
  check(BUCKET_NAME.test(bucket.name), `invalid bucket name ${JSON.stringify(bucket.name)}`);
  check(/^[A-Za-z0-9_-]{1,64}$/.test(bucket.uuid), `invalid bucket uuid ${JSON.stringify(bucket.uuid)}`);
  check(Number.isInteger(bucket.numVBuckets) && bucket.numVBuckets >= 1 && bucket.numVBuckets <= 65536,
    `numVBuckets must be 1..65536, got ${bucket.numVBuckets}`);
  check(isCount(bucket.numReplicas) && bucket.numReplicas <= 3, `numReplicas must be 0..3, got ${bucket.numReplicas}`);
  check(input.vbucketOwners.length === bucket.numVBuckets,
    `vbucketOwners has ${input.vbucketOwners.length} entries for ${bucket.numVBuckets} vbuckets`);
  input.vbucketOwners.forEach((owner, vb) =>
    check(Number.isInteger(owner) && owner >= -1 && owner < input.nodes.length, `vbucket ${vb} has owner ${owner}`));
  for (const cap of bucket.capabilities ?? []) check(cap in BUCKET_CAPABILITIES, `unknown capability ${cap}`);
}

/** The KV port a legacy client dials (`serverList`, `ports.direct`): plain, else TLS (TLS only). */
export function kvPortOf(node: ClusterNodeInput): number {
  return node.kvPort > 0 ? node.kvPort : (node.kvTlsPort ?? 0);
}

/** The REST port in `nodes[].hostname`: plain, else TLS. */
export function mgmtPortOf(node: ClusterNodeInput): number {
  return node.mgmtPort > 0 ? node.mgmtPort : (node.mgmtTlsPort ?? 0);
}

/** The host a node is advertised under: its own name, else the placeholder or `localAddr`. */
export function advertisedHost(node: ClusterNodeInput, opts: HostOptions = {}): string {
  return node.hostname ?? opts.localAddr ?? HOST_PLACEHOLDER;
}

/** "host:port", bracketing IPv6 literals like ns_server's `misc:join_host_port`. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * ns_server capi_utils `capi_bucket_url_bin`: http://HOST:CAPI/ + url-encoded "NAME+UUID", so the
 * '+' travels as %2B (gocbcore cuts the capi endpoint at "%2B"). Without a bucket: http://HOST:CAPI/.
 */
export function couchApiBase(host: string, httpPort: number, bucket?: { name: string; uuid: string }, scheme: 'http' | 'https' = 'http'): string {
  const base = `${scheme}://${hostPort(host, httpPort)}/`;
  return bucket === undefined ? base : base + encodeURIComponent(`${bucket.name}+${bucket.uuid}`);
}

/** ns_server `build_pools_uri`: /pools/default/<segments>?bucket_uuid=UUID */
export function bucketUri(kind: 'buckets' | 'bucketsStreaming', bucket: { name: string; uuid: string }): string {
  return `/pools/default/${kind}/${encodeURIComponent(bucket.name)}?bucket_uuid=${encodeURIComponent(bucket.uuid)}`;
}

export function bucketCapabilities(bucket: BucketInput): BucketCapability[] {
  const wanted = new Set(bucket.capabilities ?? DEFAULT_BUCKET_CAPABILITIES);
  return (Object.keys(BUCKET_CAPABILITIES) as BucketCapability[]).filter((c) => wanted.has(c));
}

export function buildNodesExt(input: GlobalConfigInput): NodeExtJson[] {
  return input.nodes.map((node, i) => {
    // Only ports that listen (`service_ports:get_ports_for_services` skips undefined ones).
    const entries: [keyof NodeServicesJson, number | undefined][] = [
      ['kv', node.kvPort], ['kvSSL', node.kvTlsPort],
      ['mgmt', node.mgmtPort], ['mgmtSSL', node.mgmtTlsPort],
      ['capi', node.httpPort], ['capiSSL', node.httpTlsPort],
    ];
    const services: NodeServicesJson = Object.fromEntries(entries.filter(([, p]) => p !== undefined && p > 0));
    return {
      services,
      ...(i === input.thisNode ? { thisNode: true as const } : {}),
      ...(node.hostname === undefined ? {} : { hostname: node.hostname }),
    };
  });
}

/** Rows are [active, replica...]; replicas are not kept, so they are -1 like ns_server's padding. */
export function buildVBucketServerMap(input: ClusterConfigInput, opts: HostOptions = {}): VBucketServerMapJson {
  const replicas: number[] = new Array<number>(input.bucket.numReplicas).fill(-1);
  return {
    hashAlgorithm: 'CRC',
    numReplicas: input.bucket.numReplicas,
    serverList: input.nodes.map((n) => hostPort(advertisedHost(n, opts), kvPortOf(n))),
    vBucketMap: input.vbucketOwners.map((owner) => [owner, ...replicas]),
  };
}

/** Bucket-less GET_CLUSTER_CONFIG reply and /pools/default/nodeServices (`do_build_node_services`). */
export function buildGlobalConfig(input: GlobalConfigInput): GlobalConfigJson {
  validateGlobalInput(input);
  return {
    rev: input.rev,
    ...(input.revEpoch === undefined ? {} : { revEpoch: input.revEpoch }),
    nodesExt: buildNodesExt(input),
    clusterCapabilitiesVer: [1, 0],
    clusterCapabilities: {},
  };
}

/** GET_CLUSTER_CONFIG with a bucket selected, NOT_MY_VBUCKET bodies and /pools/default/b/NAME. */
export function buildTerseBucketConfig(input: ClusterConfigInput, opts: HostOptions = {}): TerseBucketConfigJson {
  validateClusterInput(input);
  const { bucket } = input;
  const nodes = input.nodes.map((node): TerseNodeJson => {
    const host = advertisedHost(node, opts);
    const hostname = hostPort(host, mgmtPortOf(node));
    const ports = node.kvPort > 0 ? { direct: node.kvPort } : {};
    return node.httpPort === undefined
      ? { hostname, ports }
      : { couchApiBase: couchApiBase(host, node.httpPort, bucket), hostname, ports };
  });
  return {
    rev: input.rev,
    ...(input.revEpoch === undefined ? {} : { revEpoch: input.revEpoch }),
    name: bucket.name,
    nodeLocator: 'vbucket',
    bucketType: 'membase',
    uuid: bucket.uuid,
    uri: bucketUri('buckets', bucket),
    streamingUri: bucketUri('bucketsStreaming', bucket),
    bucketCapabilitiesVer: '',
    bucketCapabilities: bucketCapabilities(bucket),
    ...(bucket.collectionsManifestUid === undefined ? {} : { collectionsManifestUid: bucket.collectionsManifestUid.toString(16) }),
    vBucketServerMap: buildVBucketServerMap(input, opts),
    nodes,
    nodesExt: buildNodesExt(input),
    clusterCapabilitiesVer: [1, 0],
    clusterCapabilities: {},
  };
}
