/**
 * The cluster map from a cluster-manager REST seed, fetched the way cbdatasource does (dcp.md §4.3):
 *
 *   GET /pools                     -> pools[] entry whose name is the pool -> its uri
 *   GET <pool uri>                 -> buckets.uri
 *   GET <buckets uri>              -> JSON array; the entry whose name is the bucket -> its uri
 *   GET <bucket uri>               -> the bucket object (uuid, vBucketServerMap)
 *
 * Each GET carries Basic auth and must answer 200 within the request timeout. Paths from one
 * reply are used verbatim for the next. A 401 becomes AuthFailError. Over TLS the verbose bucket
 * document names only plain KV ports, so `/pools/default/nodeServices` (ns_server's nodesExt with
 * `kvSSL`) is fetched too and the servers moved to their TLS ports (cluster-map.ts withTlsPorts).
 *
 * `watchStreamingConfig` follows `/pools/default/bs/NAME` (ns_server's streaming terse config:
 * documents separated by "\n\n\n\n") and calls back on each new document, which the data source
 * turns into a map refresh (gocbcore's HTTP config controller does the same).
 */
import { AuthFailError, ConsumerError } from './errors.js';
import { parseClusterMap, withTlsPorts, type ClusterMap } from './cluster-map.js';

export interface RestAuth {
  readonly username: string;
  readonly password: string;
}

export interface RestFetchOptions {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly auth?: RestAuth;
  readonly signal?: AbortSignal;
  /** Dial the data nodes on their TLS KV ports. */
  readonly tls?: boolean;
}

function headers(auth: RestAuth | undefined): Record<string, string> {
  return auth ? { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
}

async function getJson(baseUrl: string, path: string, o: RestFetchOptions): Promise<unknown> {
  const url = new URL(path, baseUrl).toString();
  const signals = [AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])];
  const res = await o.fetch(url, { headers: headers(o.auth), signal: AbortSignal.any(signals) });
  const text = await res.text();
  if (res.status === 401) throw new AuthFailError(baseUrl, o.auth?.username ?? '');
  if (res.status === 404) throw new ConsumerError('BUCKET_NOT_FOUND', `GET ${path}: 404`, { url });
  if (res.status !== 200) throw new ConsumerError('CONNECTION', `GET ${path}: HTTP ${res.status}`, { url, status: res.status });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConsumerError('BAD_MAP', `GET ${path}: reply is not JSON`, { url }, { cause: e });
  }
}

function field(doc: unknown, ...path: string[]): unknown {
  let cur = doc;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function named(list: unknown, name: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.find((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && (e as Record<string, unknown>).name === name);
}

/** The bucket object and its parsed map, via the four GETs. */
export async function fetchBucketOverRest(baseUrl: string, pool: string, bucket: string, o: RestFetchOptions): Promise<ClusterMap> {
  const pools = await getJson(baseUrl, '/pools', o);
  const poolUri = named(field(pools, 'pools'), pool)?.uri;
  if (typeof poolUri !== 'string') throw new ConsumerError('BAD_MAP', `no pool named ${pool}`, { baseUrl });
  const poolDoc = await getJson(baseUrl, poolUri, o);
  const bucketsUri = field(poolDoc, 'buckets', 'uri');
  if (typeof bucketsUri !== 'string') throw new ConsumerError('BAD_MAP', 'pool has no buckets.uri', { baseUrl });
  const entry = named(await getJson(baseUrl, bucketsUri, o), bucket);
  if (!entry) throw new ConsumerError('BUCKET_NOT_FOUND', `no bucket named ${bucket}`, { baseUrl, bucket });
  const bucketUri = entry.uri;
  const doc = typeof bucketUri === 'string' ? await getJson(baseUrl, bucketUri, o) : entry;
  const map = parseClusterMap(doc, undefined, { tls: o.tls === true });
  if (o.tls !== true || field(doc, 'nodesExt') !== undefined) return map;
  const hostOfSeed = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
  return withTlsPorts(map, field(await getJson(baseUrl, '/pools/default/nodeServices', o), 'nodesExt'), hostOfSeed);
}

/**
 * Follow the streaming terse config until `signal` aborts or the reply ends; `onMap` gets every
 * document. Resolves when the stream ends (the caller decides whether to reopen it).
 */
export async function watchStreamingConfig(
  baseUrl: string,
  bucket: string,
  o: Omit<RestFetchOptions, 'timeoutMs'> & { readonly signal: AbortSignal },
  onMap: (map: ClusterMap) => void,
): Promise<void> {
  const url = new URL(`/pools/default/bs/${encodeURIComponent(bucket)}`, baseUrl).toString();
  const res = await o.fetch(url, { headers: headers(o.auth), signal: o.signal });
  if (res.status === 401) throw new AuthFailError(baseUrl, o.auth?.username ?? '');
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    throw new ConsumerError('CONNECTION', `GET ${url}: HTTP ${res.status}`, { url, status: res.status });
  }
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    for (let i = pending.indexOf('\n\n\n\n'); i >= 0; i = pending.indexOf('\n\n\n\n')) {
      const text = pending.slice(0, i).trim();
      pending = pending.slice(i + 4);
      if (text !== '') onMap(parseClusterMap(JSON.parse(text) as unknown, undefined, { tls: o.tls === true }));
    }
  }
}
