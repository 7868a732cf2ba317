/**
 * The cluster-map file of a development cluster: several `freshet serve` processes read one file
 * that says which nodes exist and which node owns (is active for) each vbucket, the part of
 * Couchbase's cluster_run + ns_server that decides placement. Production scale-out is a real
 * Couchbase cluster; this is for development and tests.
 *
 * ```json
 * {
 *   "rev": 2,
 *   "nodes": [
 *     { "hostname": "127.0.0.1", "kvPort": 12000, "mgmtPort": 9000, "httpPort": 5984 },
 *     { "hostname": "127.0.0.1", "kvPort": 12002, "mgmtPort": 9001 }
 *   ],
 *   "buckets": {
 *     "default": { "numVBuckets": 64, "owners": [0, 0, 1, 1, ...] }
 *   }
 * }
 * ```
 *
 * - `rev`: a positive integer raised on every edit. A node applies a file only when its rev is
 *   above the one it applied last (a file with the same rev and other content, or a lower rev, is
 *   refused). It becomes the `revEpoch` of the configs the nodes advertise, so clients order the
 *   maps of all nodes the same way (couchbase-sdk-bootstrap.md §1 item 4).
 * - `nodes`: in map order; a node's index is what `freshet serve --node-index N` names and what
 *   `owners` refers to. `hostname` is what other nodes dial for replication; a loopback or
 *   wildcard hostname is left out of the advertised config, so clients substitute the address
 *   they dialled (topology.ts `advertisedHostname`). `httpPort` (the CouchDB face) is optional.
 *   No two nodes may share a hostname and KV port.
 * - `buckets`: every bucket the cluster serves; a node creates a missing one with `numVBuckets`
 *   (1-1024). `owners[vb]` is the index of the node active for `vb`, or -1 for none. Every other
 *   node keeps `vb` as a replica fed over DCP from the owner.
 */
import { readFile } from 'node:fs/promises';
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

export interface MapNode {
  readonly hostname: string;
  readonly kvPort: number;
  readonly mgmtPort: number;
  readonly httpPort?: number;
}

export interface MapBucket {
  readonly numVBuckets: number;
  readonly owners: readonly number[];
}

export interface ClusterMapFile {
  readonly rev: number;
  readonly nodes: readonly MapNode[];
  readonly buckets: ReadonlyMap<string, MapBucket>;
}

export const CLUSTER_ERRORS = {
  MAP_INVALID: 'a cluster map file that cannot be used (`path` locates the offending field)',
} as const;

registerErrorCodes('CLUSTER', 'src/cluster/map-file.ts', CLUSTER_ERRORS);

/** A map file that cannot be used; `path` locates the offending field (`nodes[1].kvPort`). */
export class ClusterMapFileError extends FreshetError<'CLUSTER_MAP_INVALID'> {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(errorCode('CLUSTER', 'MAP_INVALID'), path === '' ? message : `${path}: ${message}`);
    this.name = 'ClusterMapFileError';
  }
}

/** engine.ts BUCKET_NAME: the names `Engine.createBucket` accepts. */
const BUCKET_NAME = /^[A-Za-z0-9_.%-]{1,100}$/;
const NODE_FIELDS = new Set(['hostname', 'kvPort', 'mgmtPort', 'httpPort']);
const BUCKET_FIELDS = new Set(['numVBuckets', 'owners']);
const TOP_FIELDS = new Set(['rev', 'nodes', 'buckets']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intIn(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ClusterMapFileError(path, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Unknown fields are refused: a misspelt `owner` must not silently mean "no owners". */
function onlyFields(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new ClusterMapFileError(path === '' ? k : `${path}.${k}`, 'unknown field');
}

function parseNode(v: unknown, path: string): MapNode {
  if (!isObject(v)) throw new ClusterMapFileError(path, 'expected an object');
  onlyFields(v, NODE_FIELDS, path);
  if (typeof v.hostname !== 'string' || v.hostname.trim() === '') throw new ClusterMapFileError(`${path}.hostname`, 'expected a non-empty string');
  const node: MapNode = {
    hostname: v.hostname,
    kvPort: intIn(v.kvPort, `${path}.kvPort`, 1, 65535),
    mgmtPort: intIn(v.mgmtPort, `${path}.mgmtPort`, 1, 65535),
  };
  return v.httpPort === undefined ? node : { ...node, httpPort: intIn(v.httpPort, `${path}.httpPort`, 1, 65535) };
}

function parseBucket(v: unknown, path: string, nodes: number): MapBucket {
  if (!isObject(v)) throw new ClusterMapFileError(path, 'expected an object');
  onlyFields(v, BUCKET_FIELDS, path);
  const numVBuckets = intIn(v.numVBuckets, `${path}.numVBuckets`, 1, 1024);
  if (!Array.isArray(v.owners)) throw new ClusterMapFileError(`${path}.owners`, 'expected an array');
  if (v.owners.length !== numVBuckets) {
    throw new ClusterMapFileError(`${path}.owners`, `expected ${numVBuckets} entries (one per vbucket), got ${v.owners.length}`);
  }
  const owners = v.owners.map((o: unknown, i) => intIn(o, `${path}.owners[${i}]`, -1, nodes - 1));
  return { numVBuckets, owners };
}

/** Validate a parsed JSON document as a cluster map. */
export function validateClusterMap(doc: unknown): ClusterMapFile {
  if (!isObject(doc)) throw new ClusterMapFileError('', 'a cluster map is a JSON object');
  onlyFields(doc, TOP_FIELDS, '');
  const rev = intIn(doc.rev, 'rev', 1, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(doc.nodes) || doc.nodes.length === 0) throw new ClusterMapFileError('nodes', 'expected a non-empty array');
  const nodes = doc.nodes.map((n: unknown, i) => parseNode(n, `nodes[${i}]`));
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    const id = `${n.hostname.toLowerCase()}:${n.kvPort}`;
    if (seen.has(id)) throw new ClusterMapFileError(`nodes[${i}]`, `${id} appears twice`);
    seen.add(id);
  });
  if (!isObject(doc.buckets)) throw new ClusterMapFileError('buckets', 'expected an object of bucket name -> bucket');
  const buckets = new Map<string, MapBucket>();
  for (const [name, b] of Object.entries(doc.buckets)) {
    if (!BUCKET_NAME.test(name)) throw new ClusterMapFileError(`buckets.${name}`, 'bucket names are 1-100 characters of letters, digits, _ . % and -');
    buckets.set(name, parseBucket(b, `buckets.${name}`, nodes.length));
  }
  return { rev, nodes, buckets };
}

/** Parse and validate the text of a map file. */
export function parseClusterMapFile(text: string): ClusterMapFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ClusterMapFileError('', `not JSON: ${(err as Error).message}`);
  }
  return validateClusterMap(doc);
}

/** Read and validate a map file; a missing file is `undefined` (the map may not be written yet). */
export async function readClusterMapFile(file: string): Promise<ClusterMapFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseClusterMapFile(text);
}

/** The JSON text of a map (what a test or a tool writes). */
export function formatClusterMapFile(map: ClusterMapFile): string {
  return `${JSON.stringify({ rev: map.rev, nodes: map.nodes, buckets: Object.fromEntries(map.buckets) }, null, 2)}\n`;
}

/** Same nodes and buckets (the rev aside). */
export function sameMapContent(a: ClusterMapFile, b: ClusterMapFile): boolean {
  return formatClusterMapFile({ ...a, rev: 0 }) === formatClusterMapFile({ ...b, rev: 0 });
}
