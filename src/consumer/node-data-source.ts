/**
 * NodeDataSource: stream chosen vbuckets from one named data node, with no cluster map: one
 * NodeWorker (connect, authenticate, DCP_OPEN, a stream per vbucket, reconnect with backoff) under
 * the Receiver contract and options of BucketDataSource. For a caller that already knows which node
 * is active for which vbuckets: the development cluster's replicas read it from their map file
 * (src/cluster/replica-connection.ts), as ns_server tells each replicator its source node.
 *
 * Where BucketDataSource would refresh the map (a kick: a refused stream request, a stream ended
 * by the producer, a lost connection), the parked vbuckets are requested again from the same node
 * after a backoff (the cluster-manager sleeps), reset as soon as a stream starts.
 *
 * `release(vb)` stops streaming one vbucket here and resolves once its stream is closed and every
 * receiver call for it has returned (StreamPlan ownership), so another connection may take it.
 */
import { Backoff } from '../common/backoff.js';
import { NodeWorker } from './node-worker.js';
import { resolveOptions, type BucketDataSourceOptions, type ResolvedDataSourceOptions } from './options.js';
import { ReceiverCalls } from './receiver-calls.js';
import { StatusEmitter, type StatusListener } from './status.js';
import { CollectionNames } from './collections.js';
import { copyStats, newStats, type BucketDataSourceStats } from './stats.js';
import { StreamPlan } from './stream-plan.js';
import type { Credentials } from './kv-connect.js';
import type { Receiver } from './receiver.js';

export interface NodeDataSourceParams {
  /** The data node, `host:port` (its KV port). */
  readonly server: string;
  readonly bucket: string;
  readonly credentials?: Credentials;
  readonly receiver: Receiver;
  readonly options?: BucketDataSourceOptions;
}

export class NodeDataSource {
  readonly server: string;
  readonly options: ResolvedDataSourceOptions;
  readonly #stats: BucketDataSourceStats = newStats();
  readonly #status = new StatusEmitter();
  readonly #plan: StreamPlan;
  readonly #worker: NodeWorker;
  readonly #retry: Backoff;
  #wanted: ReadonlySet<number> = new Set();
  #retryTimer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;

  constructor(params: NodeDataSourceParams) {
    this.server = params.server;
    const o = (this.options = resolveOptions(params.options));
    this.#plan = new StreamPlan(o, () => {});
    this.#retry = new Backoff(o.clusterManagerSleepInitMS, o.clusterManagerBackoffFactor, o.clusterManagerSleepMaxMS);
    this.#status.on((e) => {
      if (e.type === 'stream-started') this.#retry.reset();
    });
    this.#worker = new NodeWorker(params.server, this.#wanted, {
      bucket: params.bucket,
      credentials: params.credentials,
      options: o,
      stats: this.#stats,
      calls: new ReceiverCalls(params.receiver, this.#stats, o.collectionFilter ? new CollectionNames() : undefined),
      status: this.#status,
      plan: this.#plan,
      kick: (reason) => this.#kick(reason),
    });
  }

  /** The vbuckets streamed from this node. */
  get wanted(): ReadonlySet<number> {
    return this.#wanted;
  }

  /** Stream exactly these vbuckets (the first call with any starts the connection). */
  setWanted(vbs: Iterable<number>): void {
    if (this.#closed) return;
    this.#wanted = new Set(vbs);
    this.#worker.setWanted(this.#wanted);
    if (!this.#started && this.#wanted.size > 0) {
      this.#started = true;
      this.#worker.start();
    }
  }

  /** Stop streaming `vb`; resolves once its stream is closed and the receiver is done with it. */
  release(vb: number): Promise<void> {
    if (this.#wanted.has(vb)) this.setWanted([...this.#wanted].filter((v) => v !== vb));
    return this.#plan.whenFree(vb);
  }

  stats(): Readonly<BucketDataSourceStats> {
    return copyStats(this.#stats);
  }

  onStatus(listener: StatusListener): () => void {
    return this.#status.on(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#worker.stop();
  }

  /** Request parked vbuckets again after the backoff (one timer at a time). */
  #kick(reason: string): void {
    this.options.logger.debug({ server: this.server, reason }, 'vbuckets to request again');
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) this.#worker.setWanted(this.#wanted);
    }, this.#retry.next());
  }
}
