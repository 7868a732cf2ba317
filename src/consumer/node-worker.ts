/**
 * One data node: connect, authenticate, open DCP, run a session, and when it ends reconnect with
 * exponential backoff, in one readable loop (nats.js `dodialLoop`, practice 11; cbdatasource's
 * worker goroutine under ExponentialBackoffLoop with the DataManager* options, dcp.md §4.1).
 *
 * Every failure is reported (Receiver.onError, a status event, a counter) and kicks a map refresh
 * (cbdatasource kick reasons "worker-connect-err", "worker-auth-client", "recvEndCh"), because a
 * node that went away usually means the map changed. A session that made progress resets the
 * backoff. The loop ends only when the data source stops the worker.
 */
import { Backoff, sleep } from '../common/backoff.js';
import { DcpSession, type SessionEnd } from './dcp-session.js';
import { AuthFailError, ConsumerError, asError, isConsumerError } from './errors.js';
import { closeOnAbort, connectKvNode, type Credentials } from './kv-connect.js';
import { splitServer } from './cluster-map.js';
import { openDcp } from './stream-setup.js';
import { fetchManifest, resolveFilter, type ResolvedFilter } from './collections.js';
import type { KvConnection } from '../client/connection.js';
import type { ReceiverCalls } from './receiver-calls.js';
import type { ResolvedDataSourceOptions } from './options.js';
import type { StatusEmitter } from './status.js';
import type { BucketDataSourceStats } from './stats.js';
import type { StreamPlan } from './stream-plan.js';

export interface NodeWorkerDeps {
  readonly bucket: string;
  readonly credentials: Credentials | undefined;
  readonly options: ResolvedDataSourceOptions;
  readonly stats: BucketDataSourceStats;
  readonly calls: ReceiverCalls;
  readonly status: StatusEmitter;
  readonly plan: StreamPlan;
  readonly kick: (reason: string) => void;
}

export class NodeWorker {
  readonly server: string;
  readonly #d: NodeWorkerDeps;
  readonly #abort = new AbortController();
  #wanted: ReadonlySet<number>;
  #session: DcpSession | undefined;
  #done: Promise<void> | undefined;

  constructor(server: string, wanted: ReadonlySet<number>, deps: NodeWorkerDeps) {
    this.server = server;
    this.#wanted = wanted;
    this.#d = deps;
  }

  get wanted(): ReadonlySet<number> {
    return this.#wanted;
  }

  get bufferedBytes(): number {
    return this.#session?.bufferedBytes ?? 0;
  }

  start(): void {
    this.#done ??= this.#loop();
  }

  setWanted(vbs: ReadonlySet<number>): void {
    this.#wanted = vbs;
    this.#session?.setWanted(vbs);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#session?.stop();
    await this.#done;
  }

  async #loop(): Promise<void> {
    const { options: o, stats, status } = this.#d;
    const signal = this.#abort.signal;
    const backoff = new Backoff(o.dataManagerSleepInitMS, o.dataManagerBackoffFactor, o.dataManagerSleepMaxMS);
    stats.totWorkerStart++;
    while (!signal.aborted) {
      stats.totWorkerBody++;
      status.emit({ type: 'connecting', server: this.server, attempt: backoff.attempt });
      const end = await this.#attempt();
      if (signal.aborted) break;
      if (end.progressed) backoff.reset();
      if (end.reason !== 'stopped') {
        this.#d.calls.onError(end.error);
        status.emit({ type: 'disconnected', server: this.server, error: end.error });
      }
      this.#d.kick('recvEndCh');
      const delayMs = backoff.next();
      stats.totWorkerReconnectSleep++;
      status.emit({ type: 'reconnecting', server: this.server, delayMs, attempt: backoff.attempt });
      if (!(await sleep(delayMs, signal))) break;
    }
    stats.totWorkerDone++;
  }

  /** One connection, from dial to its end; never throws. */
  async #attempt(): Promise<SessionEnd> {
    const { options: o, stats } = this.#d;
    let node;
    try {
      const { host, port } = splitServer(this.server);
      stats.totWorkerConnect++;
      node = await connectKvNode({
        host,
        port,
        bucket: this.#d.bucket,
        ...(this.#d.credentials ? { credentials: this.#d.credentials } : {}),
        agent: `freshet-dcp/${o.name}`,
        includeXAttrs: o.includeXAttrs,
        collections: o.collectionFilter !== undefined,
        ...(o.connect ? { connect: o.connect } : {}),
        connectTimeoutMs: o.connectTimeoutMS,
        requestTimeoutMs: o.requestTimeoutMS,
        onServerRequest: (p) => this.#session?.accept(p),
        signal: this.#abort.signal,
      });
      stats.totWorkerConnectOk++;
      if (node.mechanism !== undefined) {
        stats.totWorkerAuth++;
        stats.totWorkerAuthOk++;
      }
    } catch (e) {
      if (this.#abort.signal.aborted) return { reason: 'stopped', progressed: false };
      return { reason: 'failed', error: this.#classify(e), progressed: false };
    }
    // stop() while the manifest, DCP_OPEN or the controls are unanswered closes the connection
    const unsubscribe = closeOnAbort(node.conn, this.#abort.signal);
    try {
      const filter = await this.#resolveFilter(node.conn);
      const opened = await openDcp(node.conn, o, stats);
      if (this.#abort.signal.aborted) {
        await node.conn.close();
        return { reason: 'stopped', progressed: false };
      }
      this.#session = new DcpSession({ ...this.#d, server: this.server, conn: node.conn, socket: node.socket, streamEndOnClose: opened.streamEndOnClose, filter });
      this.#d.status.emit({ type: 'connected', server: this.server });
      return await this.#session.run(this.#wanted);
    } catch (e) {
      await node.conn.close();
      if (this.#abort.signal.aborted) return { reason: 'stopped', progressed: false };
      stats.totHandShakeErr++;
      return { reason: 'failed', error: asError(e), progressed: false };
    } finally {
      unsubscribe();
      this.#session = undefined;
      stats.totWorkerClientClose++;
    }
  }

  /**
   * A collection-aware source looks its names up on every new connection (the manifest may have
   * changed while it was away): GET_COLLECTIONS_MANIFEST, learnt by the shared name registry.
   */
  async #resolveFilter(conn: KvConnection): Promise<ResolvedFilter | undefined> {
    const { options: o, stats, calls } = this.#d;
    if (o.collectionFilter === undefined) return undefined;
    stats.totCollectionsManifest++;
    try {
      const manifest = await fetchManifest(conn);
      calls.names?.learnManifest(manifest);
      return resolveFilter(manifest, o.collectionFilter);
    } catch (e) {
      stats.totCollectionsManifestErr++;
      throw e;
    }
  }

  #classify(e: unknown): Error {
    const { stats } = this.#d;
    if (e instanceof AuthFailError) {
      stats.totWorkerAuth++;
      stats.totWorkerAuthFail++;
      this.#d.kick('worker-auth-client');
      return e;
    }
    if (isConsumerError(e, 'BUCKET_NOT_FOUND')) {
      stats.totSelectBucketErr++;
      return e;
    }
    if (isConsumerError(e, 'COLLECTIONS_UNSUPPORTED')) {
      stats.totCollectionsManifestErr++;
      return e;
    }
    if (isConsumerError(e, 'CONNECTION')) {
      stats.totWorkerConnectErr++;
      this.#d.kick('worker-connect-err');
      return e;
    }
    stats.totWorkerAuthErr++;
    return e instanceof Error ? e : new ConsumerError('CONNECTION', String(e));
  }
}
