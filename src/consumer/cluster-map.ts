/**
 * The part of a bucket config the consumer uses, and which node serves each wanted vbucket.
 *
 * Only `vBucketServerMap.serverList` and `vBucketMap` matter (dcp.md §4.2-§4.3): for every wanted
 * vbucket the first entry of its row indexes the **active** node in `serverList`; replicas are
 * never streamed. Problems are per vbucket, as in cbdatasource's refreshWorkers (each has its own
 * counter): a vbucket beyond the map, an empty row, an index < 0 (no active node, e.g. a replica or
 * dead vbucket on Freshet) or an index beyond `serverList`. The other vbuckets are still assigned.
 *
 * The same parser reads REST bucket objects and terse CCCP configs; CCCP configs carry "$HOST"
 * where the node only knows itself as localhost, which the client replaces with the address it
 * dialled (gocbcore config.go).
 *
 * Over TLS (`couchbases://`, https seeds, the `tls` option) each server is dialled on its TLS KV
 * port instead: `nodesExt[].services.kvSSL` of the node whose `kv` port is the one in `serverList`
 * (gocbcore BuildRouteConfig picks `kvSSL` the same way when `useSsl`). A node without `kvSSL`
 * becomes an empty server, i.e. an 'empty-server' problem for its vbuckets, never a plain dial.
 */
import { ConsumerError } from './errors.js';

export const HOST_PLACEHOLDER = '$HOST';

export interface ClusterMap {
  readonly rev: number;
  readonly revEpoch: number;
  readonly name: string;
  readonly uuid: string;
  /** "host:kvport" per node. */
  readonly serverList: readonly string[];
  /** Per vbucket: [active, replica...] indexes into serverList. */
  readonly vBucketMap: readonly (readonly number[])[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string): ConsumerError {
  return new ConsumerError('BAD_MAP', message);
}

function placeholderHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The map with each server on its TLS KV port, from a `nodesExt` list (the terse config's, or
 * `/pools/default/nodeServices`' for a verbose REST document, which has none).
 */
export function withTlsPorts(map: ClusterMap, nodesExt: unknown, hostForPlaceholder?: string): ClusterMap {
  const nodes = Array.isArray(nodesExt) ? nodesExt.filter(isRecord) : [];
  const serverList = map.serverList.map((server, i) => {
    if (server === '') return server;
    const { host, port } = splitServer(server);
    const candidates = nodes.filter((n) => isRecord(n.services) && (n.services.kv === port || n.services.kvSSL === port));
    const named = (n: Record<string, unknown>): string | undefined =>
      typeof n.hostname === 'string' && n.hostname !== '' && n.hostname !== HOST_PLACEHOLDER ? n.hostname : undefined;
    const node = candidates.find((n) => named(n) === host) ?? candidates.find((n) => named(n) === undefined) ?? nodes[i];
    const services = node?.services;
    const kvSSL = isRecord(services) ? services.kvSSL : undefined;
    if (typeof kvSSL !== 'number' || !Number.isInteger(kvSSL) || kvSSL < 1 || kvSSL > 65535) return '';
    const nodeHost = node === undefined ? undefined : named(node);
    const out = nodeHost ?? host;
    return `${out.includes(':') ? `[${out}]` : out}:${kvSSL}`;
  });
  return { ...map, serverList: hostForPlaceholder === undefined ? serverList : serverList.map((s) => s.replace(HOST_PLACEHOLDER, placeholderHost(hostForPlaceholder))) };
}

/** Parse a bucket config (REST `/pools/default/buckets/NAME` or terse CCCP JSON). */
export function parseClusterMap(doc: unknown, hostForPlaceholder?: string, opts: { readonly tls?: boolean } = {}): ClusterMap {
  if (!isRecord(doc)) throw bad('bucket config is not a JSON object');
  const vbsm = doc.vBucketServerMap;
  if (!isRecord(vbsm)) throw bad('bucket config has no vBucketServerMap');
  const { serverList, vBucketMap } = vbsm;
  if (!Array.isArray(serverList) || !serverList.every((s) => typeof s === 'string')) throw bad('vBucketServerMap.serverList is not a list of strings');
  if (!Array.isArray(vBucketMap) || !vBucketMap.every((row) => Array.isArray(row) && row.every((i) => Number.isInteger(i)))) {
    throw bad('vBucketServerMap.vBucketMap is not a list of integer rows');
  }
  const servers = (serverList as string[]).map((s) =>
    hostForPlaceholder !== undefined ? s.replace(HOST_PLACEHOLDER, placeholderHost(hostForPlaceholder)) : s,
  );
  const map: ClusterMap = {
    rev: typeof doc.rev === 'number' ? doc.rev : 0,
    revEpoch: typeof doc.revEpoch === 'number' ? doc.revEpoch : 0,
    name: typeof doc.name === 'string' ? doc.name : '',
    uuid: typeof doc.uuid === 'string' ? doc.uuid : '',
    serverList: servers,
    vBucketMap: vBucketMap as number[][],
  };
  return opts.tls === true && doc.nodesExt !== undefined ? withTlsPorts(map, doc.nodesExt, hostForPlaceholder) : map;
}

/** (revEpoch, rev) ordering, as SDKs compare configs (couchbase-sdk-bootstrap.md §1). */
export function isNewerMap(a: ClusterMap, than: ClusterMap | undefined): boolean {
  if (than === undefined) return true;
  return a.revEpoch !== than.revEpoch ? a.revEpoch > than.revEpoch : a.rev > than.rev;
}

/**
 * Older by (revEpoch, rev). Verbose REST bucket documents carry no rev (0), so a map without one
 * is never "older": cbdatasource simply uses whatever the last refresh fetched.
 */
export function isOlderMap(a: ClusterMap, than: ClusterMap | undefined): boolean {
  if (than === undefined || a.rev === 0) return false;
  return a.revEpoch !== than.revEpoch ? a.revEpoch < than.revEpoch : a.rev < than.rev;
}

/** Same nodes and same vbucket rows. */
export function sameRouting(a: ClusterMap, b: ClusterMap | undefined): boolean {
  if (b === undefined || a.serverList.length !== b.serverList.length || a.vBucketMap.length !== b.vBucketMap.length) return false;
  if (a.serverList.some((s, i) => s !== b.serverList[i])) return false;
  return a.vBucketMap.every((row, i) => {
    const other = b.vBucketMap[i]!;
    return row.length === other.length && row.every((x, j) => x === other[j]);
  });
}

export type AssignmentProblem = 'vbucket-id' | 'empty-row' | 'no-active' | 'bad-server-index' | 'empty-server';

export interface Assignment {
  /** server ("host:port") -> vbuckets it is active for, ascending. */
  readonly byServer: ReadonlyMap<string, readonly number[]>;
  readonly problems: readonly { readonly vbucket: number; readonly problem: AssignmentProblem }[];
}

/** Group the wanted vbuckets (all of the map's when undefined) by their active server. */
export function assignVBuckets(map: ClusterMap, wanted: readonly number[] | undefined): Assignment {
  const vbs = wanted ?? map.vBucketMap.map((_, i) => i);
  const byServer = new Map<string, number[]>();
  const problems: { vbucket: number; problem: AssignmentProblem }[] = [];
  for (const vb of vbs) {
    const row = map.vBucketMap[vb];
    if (row === undefined) {
      problems.push({ vbucket: vb, problem: 'vbucket-id' });
      continue;
    }
    const idx = row[0];
    if (idx === undefined) {
      problems.push({ vbucket: vb, problem: 'empty-row' });
      continue;
    }
    if (idx < 0) {
      problems.push({ vbucket: vb, problem: 'no-active' });
      continue;
    }
    const server = map.serverList[idx];
    if (server === undefined) {
      problems.push({ vbucket: vb, problem: 'bad-server-index' });
      continue;
    }
    if (server === '') {
      problems.push({ vbucket: vb, problem: 'empty-server' });
      continue;
    }
    let list = byServer.get(server);
    if (!list) byServer.set(server, (list = []));
    list.push(vb);
  }
  for (const list of byServer.values()) list.sort((a, b) => a - b);
  return { byServer, problems };
}

/** Split "host:port" / "[v6]:port". */
export function splitServer(server: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(server);
  if (!m || m[1] === undefined || m[2] === undefined) throw bad(`server "${server}" is not host:port`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
