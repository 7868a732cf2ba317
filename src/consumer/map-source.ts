/**
 * Where the data source gets its cluster map: the seeds, tried in order until one answers
 * (cbdatasource's refreshCluster over serverURLs, dcp.md §4.3), REST seeds with the four GETs,
 * couchbase:// seeds with GET_CLUSTER_CONFIG over a KV connection that is kept open between
 * refreshes (one SASL exchange, not one per refresh) and replaced when it fails.
 */
import type { KvConnection } from '../client/connection.js';
import { AuthFailError, ConsumerError, asError } from './errors.js';
import { closeOnAbort, connectKvNode, fetchConfigOverKv, type Credentials } from './kv-connect.js';
import { fetchBucketOverRest } from './rest-config.js';
import type { ClusterMap } from './cluster-map.js';
import type { ResolvedDataSourceOptions } from './options.js';
import type { Seed } from './seeds.js';
import type { BucketDataSourceStats } from './stats.js';

export interface MapFetch {
  readonly map?: ClusterMap;
  readonly source?: Seed;
  /** One error per seed tried, in order. */
  readonly errors: readonly Error[];
}

export class MapSource {
  readonly #seeds: readonly Seed[];
  readonly #bucket: string;
  readonly #pool: string;
  readonly #credentials: Credentials | undefined;
  readonly #options: ResolvedDataSourceOptions;
  readonly #stats: BucketDataSourceStats;
  #kv: { seed: Seed; conn: KvConnection } | undefined;

  constructor(seeds: readonly Seed[], bucket: string, pool: string, credentials: Credentials | undefined, options: ResolvedDataSourceOptions, stats: BucketDataSourceStats) {
    this.#seeds = seeds;
    this.#bucket = bucket;
    this.#pool = pool;
    this.#credentials = credentials;
    this.#options = options;
    this.#stats = stats;
  }

  async fetch(signal: AbortSignal): Promise<MapFetch> {
    const errors: Error[] = [];
    for (const seed of this.#seeds) {
      if (signal.aborted) break;
      this.#stats.totRefreshClusterConnectBucket++;
      try {
        const map = await this.#fetchFrom(seed, signal);
        this.#stats.totRefreshClusterConnectBucketOk++;
        return { map, source: seed, errors };
      } catch (e) {
        this.#stats.totRefreshClusterConnectBucketErr++;
        errors.push(asError(e));
      }
    }
    return { errors };
  }

  async close(): Promise<void> {
    const kv = this.#kv;
    this.#kv = undefined;
    await kv?.conn.close();
  }

  async #fetchFrom(seed: Seed, signal: AbortSignal): Promise<ClusterMap> {
    const o = this.#options;
    if (seed.kind === 'rest') {
      return fetchBucketOverRest(seed.baseUrl, this.#pool, this.#bucket, {
        fetch: o.fetch,
        timeoutMs: o.requestTimeoutMS,
        tls: o.tls !== undefined,
        signal,
        ...(this.#credentials ? { auth: this.#credentials } : {}),
      });
    }
    if (this.#kv && (this.#kv.seed !== seed || this.#kv.conn.state !== 'open')) await this.close();
    if (!this.#kv) {
      const node = await connectKvNode({
        host: seed.host,
        port: seed.port,
        bucket: this.#bucket,
        ...(this.#credentials ? { credentials: this.#credentials } : {}),
        agent: `freshet-dcp-config/${o.name}`,
        ...(o.connect ? { connect: o.connect } : {}),
        connectTimeoutMs: o.connectTimeoutMS,
        requestTimeoutMs: o.requestTimeoutMS,
        signal,
      });
      this.#kv = { seed, conn: node.conn };
    }
    // the data source closing while GET_CLUSTER_CONFIG is unanswered ends it at once
    const unsubscribe = closeOnAbort(this.#kv.conn, signal);
    try {
      return await fetchConfigOverKv(this.#kv.conn, seed.host, o.tls !== undefined);
    } catch (e) {
      await this.close();
      if (signal.aborted) throw new ConsumerError('CLOSED', `map fetch from ${seed.url} aborted: the data source is closing`, { seed: seed.url });
      if (e instanceof AuthFailError || e instanceof ConsumerError) throw e;
      throw new ConsumerError('CONNECTION', `GET_CLUSTER_CONFIG from ${seed.url} failed: ${asError(e).message}`, { seed: seed.url }, { cause: e });
    } finally {
      unsubscribe();
    }
  }
}
