/**
 * The DCP connection a node keeps to one active node for one bucket, feeding the replica copies of
 * the vbuckets that node owns (kv_engine's DcpConsumer with one PassiveStream per vbucket, as
 * ns_server sets up "replication:<from>-><to>:<bucket>").
 *
 * One loop takes, in order, the producer's messages and our own events (stream-request replies,
 * close replies, a changed set of wanted vbuckets, retry timers), so a vbucket's messages are
 * applied in the order sent and its stream request's reply is handled where it falls among them.
 *
 * Per vbucket (`VbStream`):
 *   (none) ──request──> open ──STREAM_END / refused──> waiting ──retry time──> (none)
 *                        └──no longer wanted: CLOSE_STREAM──> closing ──reply──> (none)
 *   Success: the active's failover log replaces ours (replica.ts adoptFailoverLog).
 *   Rollback: the copy is reset and streamed again from 0 (replica.ts resetReplica).
 *   NotMyVbucket (the map moved and the source has not caught up, or the other way round) and
 *   STREAM_END(state changed): retried with backoff (50 ms doubling to 1 s) while still wanted.
 *
 * Backpressure: applied items are written through the engine's group commit; at most
 * MAX_OUTSTANDING writes are awaited at once, and socket reads pause while more than
 * HIGH_WATER_BYTES of messages wait (conn-inbox.ts), so a slow disk slows the producer.
 *
 * `release(vb)` is what a promotion waits for: the vbucket is dropped from this connection, its
 * stream is closed and every item received for it is on disk.
 */
import type { Logger } from 'pino';
import type net from 'node:net';
import {
  Opcode,
  Status,
  decodeSnapshotMarker,
  decodeStreamEnd,
  decodeStreamRequestResponse,
  encodeCloseStreamRequest,
  encodeDcpNoopResponse,
  encodeStreamRequest,
  packetSize,
  statusName,
  streamEndReasonName,
} from '../codec/index.js';
import type { Packet, StreamRequestResult } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { Inbox } from '../client/conn-inbox.js';
import type { Bucket } from '../engine/bucket.js';
import { adoptFailoverLog, applyReplicated, noteSnapshot, resetReplica, resumePosition } from '../engine/replica.js';
import { openReplicaConnection } from './replica-handshake.js';
import { replicatedChange } from './replica-items.js';

const MAX_OUTSTANDING = 256;
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const RETRY_INIT_MS = 50;
const RETRY_MAX_MS = 1000;

type VbStream =
  | { readonly kind: 'open'; readonly opaque: number }
  | { readonly kind: 'closing'; readonly opaque: number }
  | { readonly kind: 'waiting'; readonly until: number; readonly attempt: number };

type ReplicaEvent =
  | { readonly kind: 'packet'; readonly p: Packet }
  | { readonly kind: 'reply'; readonly vb: number; readonly opaque: number; readonly result: StreamRequestResult }
  | { readonly kind: 'closed'; readonly vb: number; readonly opaque: number }
  | { readonly kind: 'wake' };

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

export class ReplicaConnection {
  readonly stats: ReplicaConnectionStats = { connects: 0, streamRequests: 0, rollbacks: 0, streamEnds: 0, items: 0 };
  readonly #o: ReplicaConnectionOptions;
  #wanted = new Set<number>();
  readonly #streams = new Map<number, VbStream>();
  readonly #releases = new Map<number, (() => void)[]>();
  #outstanding: Promise<unknown>[] = [];
  #inbox: Inbox<ReplicaEvent> | undefined;
  #conn: KvConnection | undefined;
  #nextOpaque = 1;
  #closed = false;
  #wakeIdle: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #done: Promise<void>;

  constructor(options: ReplicaConnectionOptions) {
    this.#o = options;
    this.#done = this.#run();
  }

  /** The vbuckets to replicate from this node. */
  setWanted(vbs: Iterable<number>): void {
    this.#wanted = new Set(vbs);
    this.#wake();
  }

  get wanted(): ReadonlySet<number> {
    return this.#wanted;
  }

  /** Stop replicating `vb` here; resolves once its stream is closed and its items are on disk. */
  release(vb: number): Promise<void> {
    this.#wanted.delete(vb);
    const done = new Promise<void>((resolve) => {
      let list = this.#releases.get(vb);
      if (list === undefined) this.#releases.set(vb, (list = []));
      list.push(resolve);
    });
    this.#wake();
    void this.#settleReleases();
    return done;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wanted.clear();
    this.#inbox?.close();
    this.#wake();
    void this.#conn?.close();
    await this.#done;
  }

  #wake(): void {
    this.#inbox?.push({ kind: 'wake' });
    this.#wakeIdle?.();
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      if (this.#wanted.size === 0) {
        await new Promise<void>((resolve) => (this.#wakeIdle = resolve));
        this.#wakeIdle = undefined;
        continue;
      }
      let progressed = false;
      try {
        progressed = await this.#session();
      } catch (err) {
        if (!this.#closed) this.#o.logger.warn({ err, source: `${this.#o.host}:${this.#o.port}`, bucket: this.#o.bucket.name }, 'replication connection lost');
      }
      this.#conn = undefined;
      this.#inbox = undefined;
      this.#streams.clear();
      await this.#drain().catch((err: unknown) => this.#o.logger.error({ err, bucket: this.#o.bucket.name }, 'a replicated write failed'));
      await this.#settleReleases();
      if (this.#closed) break;
      attempt = progressed ? 0 : attempt + 1;
      await this.#sleep(Math.min(RETRY_MAX_MS, RETRY_INIT_MS * 2 ** attempt));
    }
    clearTimeout(this.#timer);
    await this.#drain().catch(() => {});
    await this.#settleReleases();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wakeIdle = () => {
        clearTimeout(t);
        resolve();
      };
    }).then(() => {
      this.#wakeIdle = undefined;
    });
  }

  /** One connection's life; true when it got as far as streaming. */
  async #session(): Promise<boolean> {
    let socket: net.Socket | undefined;
    const inbox = new Inbox<ReplicaEvent>({
      highWaterMark: HIGH_WATER_BYTES,
      lowWaterMark: HIGH_WATER_BYTES / 2,
      sizeOf: (e) => (e.kind === 'packet' ? packetSize(e.p) : 0),
      onPause: () => socket?.pause(),
      onResume: () => socket?.resume(),
    });
    const onServerRequest = (p: Packet, conn: KvConnection): void => {
      // Noops are answered at once, ahead of queued data, so a busy replica never looks dead.
      if (p.opcode === Opcode.DcpNoop) conn.send(encodeDcpNoopResponse(p.opaque)).catch(() => {});
      else inbox.push({ kind: 'packet', p });
    };
    const opened = await openReplicaConnection({ ...this.#o, bucket: this.#o.bucket.name, onServerRequest });
    socket = opened.socket;
    const conn = opened.conn;
    conn.onStatus((e) => void (e.type === 'closed' && inbox.close(e.error ?? new Error('replication connection closed'))));
    if (this.#closed) {
      await conn.close();
      return false;
    }
    this.#conn = conn;
    this.#inbox = inbox;
    this.stats.connects++;
    try {
      for (;;) {
        this.#reconcile(conn, inbox);
        const r = await inbox.next();
        if (r.done) return true;
        await this.#handle(r.value);
        if (this.#closed) return true;
      }
    } finally {
      void conn.close();
    }
  }

  /** Open wanted streams that have none (or whose retry time came), close unwanted ones. */
  #reconcile(conn: KvConnection, inbox: Inbox<ReplicaEvent>): void {
    const now = Date.now();
    let nextRetry = Infinity;
    for (const vb of this.#wanted) {
      const s = this.#streams.get(vb);
      if (s?.kind === 'waiting' && s.until > now) nextRetry = Math.min(nextRetry, s.until);
      else if (s === undefined || s.kind === 'waiting') this.#request(conn, inbox, vb);
    }
    for (const [vb, s] of this.#streams) {
      if (this.#wanted.has(vb)) continue;
      if (s.kind === 'waiting') this.#streams.delete(vb);
      else if (s.kind === 'open') {
        this.#streams.set(vb, { kind: 'closing', opaque: s.opaque });
        // No reply (a hung source) ends the connection, and every stream with it, so a promotion
        // waiting in release() is never stuck behind a peer that stopped answering.
        conn.request(encodeCloseStreamRequest({ vbucket: vb })).then(
          () => inbox.push({ kind: 'closed', vb, opaque: s.opaque }),
          () => void conn.close(),
        );
      }
    }
    clearTimeout(this.#timer);
    if (nextRetry !== Infinity) this.#timer = setTimeout(() => inbox.push({ kind: 'wake' }), nextRetry - now);
    void this.#settleReleases();
  }

  #request(conn: KvConnection, inbox: Inbox<ReplicaEvent>, vb: number): void {
    const pos = resumePosition(this.#o.bucket, vb);
    const opaque = this.#nextOpaque++;
    this.#streams.set(vb, { kind: 'open', opaque });
    this.stats.streamRequests++;
    const req = encodeStreamRequest({ vbucket: vb, startSeqno: pos.start, vbUuid: pos.vbUuid, snapStartSeqno: pos.snapStart, snapEndSeqno: pos.snapEnd });
    conn.request(req, { opaque }).then(
      (p) => inbox.push({ kind: 'reply', vb, opaque, result: decodeStreamRequestResponse(p) }),
      () => void conn.close(), // timed out or gone: start over on a new connection
    );
  }

  #retryLater(vb: number): void {
    const prev = this.#streams.get(vb);
    const attempt = prev?.kind === 'waiting' ? prev.attempt + 1 : 0;
    this.#streams.set(vb, { kind: 'waiting', until: Date.now() + Math.min(RETRY_MAX_MS, RETRY_INIT_MS * 2 ** attempt), attempt });
  }

  /** The stream `opaque` is still vbucket `vb`'s current one. */
  #current(vb: number, opaque: number): boolean {
    const s = this.#streams.get(vb);
    return s !== undefined && s.kind !== 'waiting' && s.opaque === opaque;
  }

  async #handle(ev: ReplicaEvent): Promise<void> {
    const { bucket, logger } = this.#o;
    switch (ev.kind) {
      case 'wake':
        return;
      case 'closed':
        if (this.#current(ev.vb, ev.opaque)) this.#streams.delete(ev.vb);
        return;
      case 'reply': {
        if (!this.#current(ev.vb, ev.opaque)) return;
        const r = ev.result;
        if (r.kind === 'ok') {
          if (this.#streams.get(ev.vb)?.kind === 'open') {
            await adoptFailoverLog(bucket, ev.vb, r.failoverLog.map((e) => ({ uuid: e.vbUuid, seqno: e.seqno })));
          }
        } else if (r.kind === 'rollback') {
          this.stats.rollbacks++;
          logger.info({ bucket: bucket.name, vb: ev.vb, rollbackSeqno: r.rollbackSeqno }, 'replica history diverged: resetting the replica copy');
          this.#streams.delete(ev.vb);
          await this.#drain();
          await resetReplica(bucket, ev.vb);
        } else {
          if (r.status !== Status.NotMyVbucket) logger.warn({ bucket: bucket.name, vb: ev.vb, status: statusName(r.status) }, 'replica stream refused');
          this.#retryLater(ev.vb);
        }
        return;
      }
      case 'packet':
        return this.#onMessage(ev.p);
    }
  }

  async #onMessage(p: Packet): Promise<void> {
    const { bucket, logger } = this.#o;
    const vb = p.vbucket;
    if (!this.#current(vb, p.opaque)) return; // a stream we closed or replaced
    switch (p.opcode) {
      case Opcode.DcpSnapshotMarker: {
        const m = decodeSnapshotMarker(p);
        noteSnapshot(bucket, vb, m.startSeqno, m.endSeqno);
        return;
      }
      case Opcode.DcpStreamEnd: {
        const reason = decodeStreamEnd(p).reason;
        this.stats.streamEnds++;
        logger.debug({ bucket: bucket.name, vb, reason: streamEndReasonName(reason) }, 'replica stream ended');
        this.#retryLater(vb);
        return;
      }
      default: {
        const change = replicatedChange(p);
        if (change === undefined) return; // nothing else is sent on a connection opened as ours
        this.stats.items++;
        this.#outstanding.push(applyReplicated(bucket, vb, change));
        if (this.#outstanding.length >= MAX_OUTSTANDING) await this.#drain();
      }
    }
  }

  /** Wait for every applied item to be on disk (a failed write ends the session). */
  async #drain(): Promise<void> {
    const pending = this.#outstanding;
    this.#outstanding = [];
    const results = await Promise.allSettled(pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && !this.#closed) throw failed.reason;
  }

  /** Resolve the releases of vbuckets that have no stream left, once their items are on disk. */
  async #settleReleases(): Promise<void> {
    const ready = [...this.#releases.keys()].filter((vb) => !this.#wanted.has(vb) && !this.#streams.has(vb));
    if (ready.length === 0) return;
    const waiters = ready.flatMap((vb) => {
      const list = this.#releases.get(vb) ?? [];
      this.#releases.delete(vb);
      return list;
    });
    await Promise.allSettled(this.#outstanding);
    for (const w of waiters) w();
  }
}
