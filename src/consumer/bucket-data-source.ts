/**
 * BucketDataSource: stream a whole bucket (or a vbucket subset) from every node that serves it,
 * without the application handling connections, reconnections, topology changes, rebalance or
 * failover: cbdatasource's promise (dcp.md §4), with its inputs, options, Receiver contract,
 * metadata JSON and counters, and the additions of dcp.md §5.3.
 *
 *   const ds = new BucketDataSource({ seeds: ['http://127.0.0.1:8091'], bucket: 'default',
 *     credentials: { username, password }, receiver });
 *   ds.start(); ... ds.kick('why'); ds.stats(); await ds.close();
 *
 * Structure: a refresh loop (cbdatasource's refreshCluster + refreshWorkers) waits for a kick,
 * fetches the map from the seeds (MapSource) with cluster-manager backoff, and hands each active
 * node its vbuckets; one NodeWorker per node keeps one DCP connection with a stream per vbucket.
 * Kicks come from start, NOT_MY_VBUCKET and other stream-request failures, unexpected stream
 * ends, lost connections, a wanted vbucket without an active node (retried after backoff), and,
 * for REST seeds, every document of the streaming config `/pools/default/bs/BUCKET`.
 */
import { Backoff, sleep } from '../common/backoff.js';
import { assignVBuckets, isNewerMap, isOlderMap, sameRouting, type ClusterMap } from './cluster-map.js';
import { AllServerURLsConnectBucketError, ConsumerError, asError } from './errors.js';
import { MapSource } from './map-source.js';
import { NodeWorker } from './node-worker.js';
import { resolveOptions, type BucketDataSourceOptions, type ResolvedDataSourceOptions } from './options.js';
import { ReceiverCalls } from './receiver-calls.js';
import { bucketFromSeeds, parseSeeds, seedsWantTls, type Seed } from './seeds.js';
import { StatusEmitter, type StatusListener } from './status.js';
import { CollectionNames } from './collections.js';
import { copyStats, newStats, type BucketDataSourceStats } from './stats.js';
import { StreamPlan } from './stream-plan.js';
import { watchStreamingConfig } from './rest-config.js';
import type { Credentials } from './kv-connect.js';
import type { Receiver } from './receiver.js';

export interface BucketDataSourceParams {
  /** REST seeds (`http://host:8091`, `https://host:18091`) and/or `couchbase[s]://host[:kvport][/bucket]`. */
  readonly seeds: readonly string[];
  /** Defaults to the bucket named in a couchbase:// seed. */
  readonly bucket?: string;
  /** When set, a map whose bucket uuid differs is refused (cbdatasource's bucketUUID check). */
  readonly bucketUuid?: string;
  /** Only these vbuckets; default every vbucket of the map. */
  readonly vbuckets?: readonly number[];
  readonly credentials?: Credentials;
  readonly receiver: Receiver;
  readonly options?: BucketDataSourceOptions;
  /** The ns_server pool; only "default" exists. */
  readonly pool?: string;
}

export class BucketDataSource {
  readonly bucket: string;
  readonly options: ResolvedDataSourceOptions;
  /**
   * Collection id -> names, learnt from manifests and system events (collection-aware sources:
   * options `collections` / `scope`; a legacy source knows only `_default`).
   */
  readonly collections = new CollectionNames();
  readonly #stats: BucketDataSourceStats = newStats();
  readonly #status = new StatusEmitter();
  readonly #seeds: readonly Seed[];
  readonly #params: BucketDataSourceParams;
  readonly #calls: ReceiverCalls;
  readonly #plan: StreamPlan;
  readonly #maps: MapSource;
  readonly #workers = new Map<string, NodeWorker>();
  readonly #abort = new AbortController();
  #map: ClusterMap | undefined;
  #kickPending = false;
  #kickReason = '';
  #wake: (() => void) | undefined;
  #loops: Promise<unknown>[] = [];
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(params: BucketDataSourceParams) {
    this.#params = params;
    this.#seeds = parseSeeds(params.seeds);
    this.options = resolveOptions(params.options, seedsWantTls(this.#seeds));
    const bucket = params.bucket ?? bucketFromSeeds(this.#seeds);
    if (!bucket) throw new ConsumerError('BAD_SEED', 'no bucket: pass `bucket` or name it in a couchbase:// seed');
    this.bucket = bucket;
    this.#calls = new ReceiverCalls(params.receiver, this.#stats, this.options.collectionFilter ? this.collections : undefined);
    this.#plan = new StreamPlan(
      this.options,
      () => this.#onComplete(),
      () => this.#pokeWorkers(),
    );
    this.#maps = new MapSource(this.#seeds, bucket, params.pool ?? 'default', params.credentials, this.options, this.#stats);
  }

  /** Start connecting; receiver calls follow. Idempotent. */
  start(): void {
    if (this.#started) return;
    if (this.#abort.signal.aborted) throw new ConsumerError('CLOSED', 'the data source is closed');
    this.#started = true;
    this.#stats.totStart++;
    this.kick('start');
    this.#loops.push(this.#refreshLoop());
    if (this.options.streamingConfig) for (const seed of this.#seeds) if (seed.kind === 'rest') this.#loops.push(this.#streamingLoop(seed));
  }

  /** Ask for a cluster-map refresh (asynchronous; concurrent kicks coalesce). */
  kick(reason: string): void {
    this.#stats.totKick++;
    if (this.#kickPending) {
      this.#stats.totKickDeduped++;
      return;
    }
    this.#kickPending = true;
    this.#kickReason = reason;
    this.#stats.totKickOk++;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** An immutable snapshot of the counters. */
  stats(): Readonly<BucketDataSourceStats> {
    return copyStats(this.#stats);
  }

  onStatus(listener: StatusListener): () => void {
    return this.#status.on(listener);
  }

  /** True once every wanted vbucket reached its end seqno (`to: 'now'` or seqEnd). */
  get complete(): boolean {
    return this.#plan.complete;
  }

  /** Bytes read from the network and not yet processed, over all connections. */
  get bufferedBytes(): number {
    let n = 0;
    for (const w of this.#workers.values()) n += w.bufferedBytes;
    return n;
  }

  /** The map in use, if any. */
  get clusterMap(): ClusterMap | undefined {
    return this.#map;
  }

  /** Stop every connection and loop; pending receiver calls finish first. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#wake?.();
      await Promise.all([...this.#workers.values()].map((w) => w.stop()));
      this.#workers.clear();
      await Promise.allSettled(this.#loops);
      await this.#maps.close();
      this.#status.emit({ type: 'closed' });
    })();
    return this.#closing;
  }

  async #refreshLoop(): Promise<void> {
    const o = this.options;
    const signal = this.#abort.signal;
    const backoff = new Backoff(o.clusterManagerSleepInitMS, o.clusterManagerBackoffFactor, o.clusterManagerSleepMaxMS);
    while (!signal.aborted) {
      if (!this.#kickPending) await new Promise<void>((resolve) => (this.#wake = resolve));
      if (signal.aborted) break;
      const reason = this.#kickReason;
      this.#kickPending = false;
      this.#stats.totRefreshCluster++;
      const got = await this.#maps.fetch(signal);
      if (signal.aborted) break;
      let retry = false;
      if (!got.map) {
        this.#stats.totRefreshClusterAllServerURLsConnectBucketErr++;
        this.#error(new AllServerURLsConnectBucketError(this.#params.seeds, { cause: got.errors[got.errors.length - 1] }));
        retry = true;
      } else if (this.#params.bucketUuid && got.map.uuid !== this.#params.bucketUuid) {
        this.#stats.totRefreshClusterBucketUUIDErr++;
        this.#error(new ConsumerError('BUCKET_UUID', `bucket ${this.bucket} has uuid ${got.map.uuid}, expected ${this.#params.bucketUuid}`, { uuid: got.map.uuid }));
        retry = true;
      } else {
        const changed = !sameRouting(got.map, this.#map);
        const map = isOlderMap(got.map, this.#map) ? this.#map! : got.map;
        this.#map = map;
        this.#status.emit({ type: 'map', rev: map.rev, revEpoch: map.revEpoch, servers: map.serverList, source: got.source?.url ?? '' });
        const unassigned = this.#applyMap(map);
        // A failure kick that brought no new map, or vbuckets without an active node, retry after
        // a growing sleep, so a stale map cannot turn NOT_MY_VBUCKET into a busy loop.
        retry = unassigned || (!changed && reason !== 'start' && reason !== 'streaming-config');
        if (changed && !unassigned) backoff.reset();
      }
      this.#stats.totRefreshClusterDone++;
      if (retry) {
        if (!(await sleep(backoff.next(), signal))) break;
        if (got.map === undefined || this.#params.bucketUuid || this.#hasUnassigned()) this.kick('retry');
      }
    }
    this.#stats.totRefreshClusterStopped++;
  }

  #hasUnassigned(): boolean {
    const map = this.#map;
    return map !== undefined && assignVBuckets(map, this.#params.vbuckets).problems.length > 0;
  }

  /** Give every node its vbuckets; returns true when some wanted vbucket has no active node. */
  #applyMap(map: ClusterMap): boolean {
    const s = this.#stats;
    s.totRefreshWorkers++;
    const { byServer, problems } = assignVBuckets(map, this.#params.vbuckets);
    for (const p of problems) {
      if (p.problem === 'vbucket-id') s.totRefreshWorkersVBucketIDErr++;
      else if (p.problem === 'bad-server-index' || p.problem === 'empty-server') s.totRefreshWorkersMasterServerErr++;
      else s.totRefreshWorkersMasterIdxErr++;
    }
    if (problems.length > 0) {
      const list = problems.map((p) => `${p.vbucket}(${p.problem})`).join(', ');
      // `beyond`: vbuckets the bucket does not have (its vbucket count never changes), which no
      // retry can fix; a command line reports them as fatal (cli/tail-run.ts fatalCause).
      const beyond = problems.filter((p) => p.problem === 'vbucket-id').map((p) => p.vbucket);
      this.#error(new ConsumerError('NO_ACTIVE', `no active node for vbuckets: ${list}`, { vbuckets: problems.map((p) => p.vbucket), beyond, numVBuckets: map.vBucketMap.length }));
    }
    this.#plan.setWanted(new Set(this.#params.vbuckets ?? map.vBucketMap.map((_, i) => i)));
    for (const [server, worker] of this.#workers) {
      if (byServer.has(server)) continue;
      s.totRefreshWorkersRemoveWorker++;
      this.#workers.delete(server);
      // A worker's stop only releases its socket; a failure there has no one left to tell.
      void worker.stop().catch(() => undefined);
    }
    for (const [server, vbs] of byServer) {
      const wanted = new Set(vbs);
      const worker = this.#workers.get(server);
      if (worker) {
        s.totRefreshWorkersKickWorker++;
        worker.setWanted(wanted);
        continue;
      }
      s.totRefreshWorkersAddWorker++;
      const w = new NodeWorker(server, wanted, {
        bucket: this.bucket,
        credentials: this.#params.credentials,
        options: this.options,
        stats: s,
        calls: this.#calls,
        status: this.#status,
        plan: this.#plan,
        kick: (r) => this.kick(r),
      });
      this.#workers.set(server, w);
      w.start();
    }
    s.totRefreshClusterKickWorkers++;
    s.totRefreshWorkersDone++;
    return problems.length > 0;
  }

  /** A vbucket was released by one connection: let the others take what they are waiting for. */
  #pokeWorkers(): void {
    for (const w of this.#workers.values()) w.setWanted(w.wanted);
  }

  async #streamingLoop(seed: Extract<Seed, { kind: 'rest' }>): Promise<void> {
    const o = this.options;
    const signal = this.#abort.signal;
    const backoff = new Backoff(o.clusterManagerSleepInitMS, o.clusterManagerBackoffFactor, o.clusterManagerSleepMaxMS);
    while (!signal.aborted) {
      try {
        await watchStreamingConfig(seed.baseUrl, this.bucket, { fetch: o.fetch, signal, tls: o.tls !== undefined, ...(this.#params.credentials ? { auth: this.#params.credentials } : {}) }, (map) => {
          backoff.reset();
          if (!isNewerMap(map, this.#map) && sameRouting(map, this.#map)) return;
          this.#stats.totRefreshClusterStreamingUpdate++;
          this.kick('streaming-config');
        });
      } catch (e) {
        if (signal.aborted) break;
        o.logger.debug({ seed: seed.url, err: asError(e).message }, 'streaming config ended');
      }
      if (!(await sleep(Math.max(backoff.next(), o.clusterManagerSleepInitMS), signal))) break;
    }
  }

  #onComplete(): void {
    this.#stats.totComplete++;
    this.#status.emit({ type: 'complete' });
    const r = this.#params.receiver;
    if (r.onComplete) void this.#calls.run('onComplete', -1, () => r.onComplete!()).catch((e: unknown) => this.#error(asError(e)));
  }

  #error(err: Error): void {
    this.options.logger.warn({ code: err instanceof ConsumerError ? err.code : undefined }, err.message);
    this.#calls.onError(err);
    this.#status.emit({ type: 'error', error: err });
  }
}
