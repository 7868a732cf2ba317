/**
 * The DCP connection a node keeps to one active node for one bucket, feeding the replica copies of
 * the vbuckets that node owns (kv_engine's DcpConsumer with one PassiveStream per vbucket, as
 * ns_server sets up "replication:<from>-><to>:<bucket>").
 *
 * The connection itself is the consumer library's (src/consumer/node-data-source.ts: connect,
 * authenticate, DCP_OPEN, one stream per vbucket with stream-request / rollback / close handling,
 * noops, reconnect with backoff). What is a replica's lives here, in its Receiver:
 * - items are applied with the active's metadata (replica-items.ts → engine/replica.ts
 *   applyReplicated), snapshot markers recorded (noteSnapshot);
 * - the stream request's Success body, the active's failover log, replaces ours (streamStarted →
 *   adoptFailoverLog);
 * - where a stream resumes is the engine's vbucket state (getMetaData → engine replicaResumePosition), so
 *   setMetaData has nothing to keep;
 * - Rollback: the copy is reset and streamed again from 0 (rollback → resetReplica).
 * NotMyVbucket (the map moved and the source has not caught up, or the other way round) and a
 * STREAM_END other than our close are retried from the same node with backoff (50 ms doubling to
 * 1 s) while still wanted; so are lost connections.
 *
 * Backpressure: applied items are written through the engine's group commit; at most
 * MAX_OUTSTANDING writes are awaited at once (a returned promise holds the session's loop), and
 * socket reads pause while more than HIGH_WATER_BYTES of messages wait, so a slow disk slows the
 * producer. A failed write ends the session; it reconnects and resumes from what is on disk.
 *
 * `release(vb)` is what a promotion waits for: the vbucket is dropped from this connection, its
 * stream is closed and every item received for it is on disk.
 */
import type { Logger } from '../common/logger.js';
import type { Packet } from '../codec/index.js';
import { NodeDataSource } from '../consumer/node-data-source.js';
import { encodeMetaData, type FailoverPair } from '../consumer/metadata.js';
import type { BucketDataSourceOptions } from '../consumer/options.js';
import type { MetaDataResult, Receiver } from '../consumer/receiver.js';
import type { Bucket } from '../engine/bucket.js';
import { adoptFailoverLog, applyReplicated, applyReplicatedSystemEvent, noteSnapshot, resetReplica, replicaResumePosition } from '../engine/replica.js';
import type { SystemEventData } from '../codec/index.js';
import { REPLICA_DCP_OPTIONS } from './replica-handshake.js';
import { replicatedChange, systemEventInfo } from './replica-items.js';

const MAX_OUTSTANDING = 256;

export interface ReplicaConnectionOptions {
  readonly bucket: Bucket;
  readonly host: string;
  readonly port: number;
  /** DCP connection name; contains "replication". */
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly logger: Logger;
}

export interface ReplicaConnectionStats {
  connects: number;
  streamRequests: number;
  rollbacks: number;
  streamEnds: number;
  items: number;
}

/** The replica side of the stream: applies what the active sends to this node's replica copies. */
class ReplicaReceiver implements Receiver {
  items = 0;
  rollbacks = 0;
  closed = false;
  #outstanding: Promise<unknown>[] = [];

  constructor(
    readonly bucket: Bucket,
    readonly source: string,
    readonly logger: Logger,
  ) {}

  onError(err: Error): void {
    if (!this.closed) this.logger.warn({ err, source: this.source, bucket: this.bucket.name }, 'replication connection lost');
  }

  dataUpdate(vb: number, key: Buffer, _seq: number, req: Packet, collection: number): void | Promise<void> {
    return this.#apply(vb, req, key, collection);
  }

  dataDelete(vb: number, key: Buffer, _seq: number, req: Packet, collection: number): void | Promise<void> {
    return this.#apply(vb, req, key, collection);
  }

  /**
   * A manifest change the active recorded: stored at its seqno, and adopted by this node when it
   * is newer than its own manifest (engine/replica.ts applyReplicatedSystemEvent).
   */
  async systemEvent(vb: number, seq: number, event: SystemEventData, req: Packet): Promise<void> {
    const info = systemEventInfo(event, this.bucket.manifest);
    if (info === undefined) return;
    await this.#drain();
    this.items++;
    await applyReplicatedSystemEvent(this.bucket, vb, seq, req.cas, info);
  }

  #apply(vb: number, p: Packet, key: Buffer, collection: number): void | Promise<void> {
    const change = replicatedChange(p, key, collection);
    if (change === undefined) return;
    this.items++;
    this.#outstanding.push(applyReplicated(this.bucket, vb, change));
    if (this.#outstanding.length >= MAX_OUTSTANDING) return this.#drain();
  }

  snapshotStart(vb: number, snapStart: number, snapEnd: number): void {
    noteSnapshot(this.bucket, vb, snapStart, snapEnd);
  }

  streamStarted(vb: number, log: readonly FailoverPair[]): Promise<void> {
    return adoptFailoverLog(this.bucket, vb, log.map(([uuid, seqno]) => ({ uuid, seqno })));
  }

  /** The engine's vbucket state is the metadata: nothing else to keep. */
  setMetaData(): void {}

  getMetaData(vb: number): MetaDataResult {
    const pos = replicaResumePosition(this.bucket, vb);
    const failOverLog = this.bucket.vbucket(vb).failoverLog.toArray().map((e): FailoverPair => [e.uuid, e.seqno]);
    return { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: pos.snapStart, snapEnd: pos.snapEnd, failOverLog }), lastSeq: pos.start };
  }

  async rollback(vb: number, rollbackSeq: number): Promise<void> {
    this.rollbacks++;
    this.logger.info({ bucket: this.bucket.name, vb, rollbackSeqno: rollbackSeq }, 'replica history diverged: resetting the replica copy');
    await this.#drain();
    await resetReplica(this.bucket, vb);
  }

  /** Wait for every applied item to be on disk (a failed write fails the session). */
  async #drain(): Promise<void> {
    const pending = this.#outstanding;
    this.#outstanding = [];
    const results = await Promise.allSettled(pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && !this.closed) throw failed.reason;
  }

  /** Every item received so far is on disk (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#outstanding);
  }
}

export class ReplicaConnection {
  readonly #receiver: ReplicaReceiver;
  readonly #feed: NodeDataSource;

  constructor(o: ReplicaConnectionOptions) {
    const server = `${o.host}:${o.port}`;
    this.#receiver = new ReplicaReceiver(o.bucket, server, o.logger);
    const options: BucketDataSourceOptions = { ...REPLICA_DCP_OPTIONS, name: o.name, logger: o.logger };
    this.#feed = new NodeDataSource({
      server,
      bucket: o.bucket.name,
      credentials: { username: o.username, password: o.password },
      receiver: this.#receiver,
      options,
    });
  }

  /** The vbuckets to replicate from this node. */
  setWanted(vbs: Iterable<number>): void {
    this.#feed.setWanted(vbs);
  }

  get wanted(): ReadonlySet<number> {
    return this.#feed.wanted;
  }

  get stats(): ReplicaConnectionStats {
    const s = this.#feed.stats();
    return { connects: s.totWorkerUPROpenOk, streamRequests: s.totUPRStreamReq, rollbacks: this.#receiver.rollbacks, streamEnds: s.totUPRStreamEnd, items: this.#receiver.items };
  }

  /** Stop replicating `vb` here; resolves once its stream is closed and its items are on disk. */
  async release(vb: number): Promise<void> {
    await this.#feed.release(vb);
    await this.#receiver.settled();
  }

  async close(): Promise<void> {
    this.#receiver.closed = true;
    await this.#feed.close();
    await this.#receiver.settled();
  }
}
