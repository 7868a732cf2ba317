/**
 * Seeds: where the consumer learns the cluster map.
 *
 * - `http://host:8091` (or https): a cluster-manager REST endpoint, walked the way cbdatasource
 *   does (dcp.md §4.3: /pools -> pool uri -> buckets uri -> bucket uri).
 * - `couchbase://host[:kvport][/bucket]`: a data node; the map comes over KV with
 *   GET_CLUSTER_CONFIG 0xb5 after authenticating (couchbase-sdk-bootstrap.md §3.5). A list of
 *   hosts separated by commas is several seeds. The default KV port is 11210.
 * - `couchbases://host[:kvport][/bucket]`: the same over TLS, default port 11207 (Couchbase's
 *   connection-string scheme). A TLS seed (this one or https://) makes every data connection TLS.
 */
import { ConsumerError } from './errors.js';

export const DEFAULT_KV_PORT = 11210;
export const DEFAULT_KV_TLS_PORT = 11207;

export type Seed =
  | { readonly kind: 'rest'; readonly url: string; readonly baseUrl: string; readonly tls: boolean }
  | { readonly kind: 'kv'; readonly url: string; readonly host: string; readonly port: number; readonly bucket?: string; readonly tls: boolean };

function hostPort(spec: string, url: string, defaultPort: number): { host: string; port: number } {
  // [v6]:port, host:port, host
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec);
  if (!m || m[1] === undefined) throw new ConsumerError('BAD_SEED', `bad host in seed ${url}`, { seed: url });
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConsumerError('BAD_SEED', `bad port in seed ${url}`, { seed: url });
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Parse one seed string; a couchbase:// string with several hosts yields several seeds. */
export function parseSeed(url: string): Seed[] {
  const s = url.trim();
  if (/^https?:\/\//i.test(s)) {
    let parsed: URL;
    try {
      parsed = new URL(s);
    } catch (e) {
      throw new ConsumerError('BAD_SEED', `bad REST seed ${url}`, { seed: url }, { cause: e });
    }
    return [{ kind: 'rest', url: s, baseUrl: `${parsed.protocol}//${parsed.host}`, tls: parsed.protocol === 'https:' }];
  }
  const m = /^couchbase(s?):\/\/([^/?]+)(?:\/([^?]*))?(?:\?.*)?$/i.exec(s);
  if (!m || m[2] === undefined) throw new ConsumerError('BAD_SEED', `seed must be http(s):// or couchbase(s)://, got ${url}`, { seed: url });
  const tls = m[1] !== '';
  const bucket = m[3] ? decodeURIComponent(m[3]) : undefined;
  return m[2].split(',').map((spec) => {
    const { host, port } = hostPort(spec.trim(), url, tls ? DEFAULT_KV_TLS_PORT : DEFAULT_KV_PORT);
    return bucket === undefined ? { kind: 'kv', url: s, host, port, tls } : { kind: 'kv', url: s, host, port, bucket, tls };
  });
}

export function parseSeeds(urls: readonly string[]): Seed[] {
  if (urls.length === 0) throw new ConsumerError('BAD_SEED', 'at least one seed is required');
  return urls.flatMap(parseSeed);
}

/** True when a seed asks for TLS (couchbases://, https://). */
export function seedsWantTls(seeds: readonly Seed[]): boolean {
  return seeds.some((s) => s.tls);
}

/** The bucket named by the first couchbase:// seed that names one. */
export function bucketFromSeeds(seeds: readonly Seed[]): string | undefined {
  for (const s of seeds) if (s.kind === 'kv' && s.bucket) return s.bucket;
  return undefined;
}
