/**
 * A DCP consumer for the producer's integration tests, built on Freshet's own client
 * (src/client/connection.ts): bootstrap, DCP_OPEN, controls and stream requests go through the
 * client's request/response matching; stream messages arrive through its synchronous
 * `onServerRequest` hook and are decoded into a log the tests inspect. Noops are answered unless
 * the test plays a dead consumer; buffer acks are sent only when the test says so, so flow
 * control stays under the test's control.
 */
import * as c from '../../../src/codec/index.js';
import { KvConnection } from '../../../src/client/connection.js';
import type { TestServer } from '../../helpers/server.js';
import { ADMIN } from '../../helpers/server.js';

interface Common {
  readonly vb: number;
  readonly opaque: number;
  readonly streamId?: number;
  /** Responses the client had received when this message arrived (ordering checks). */
  readonly responsesBefore: number;
  /** Wire size, what flow control counts. */
  readonly size: number;
}

export type DcpEvent =
  | (Common & { readonly type: 'marker'; readonly start: number; readonly end: number; readonly flags: number; readonly version: string })
  | (Common & {
      readonly type: 'mutation';
      readonly key: Buffer;
      readonly seqno: number;
      readonly revSeqno: number;
      readonly value: Buffer;
      readonly datatype: number;
      readonly cas: bigint;
      readonly flags: number;
      readonly expiration: number;
    })
  | (Common & {
      readonly type: 'deletion';
      readonly key: Buffer;
      readonly seqno: number;
      readonly version: 1 | 2;
      readonly deleteTime?: number;
      readonly value: Buffer;
      readonly datatype: number;
      readonly cas: bigint;
    })
  | (Common & { readonly type: 'expiration'; readonly key: Buffer; readonly seqno: number; readonly deleteTime: number })
  | (Common & { readonly type: 'end'; readonly reason: number })
  | (Common & { readonly type: 'seqno-advanced'; readonly seqno: number })
  | (Common & { readonly type: 'system'; readonly seqno: number; readonly version: number; readonly key: Buffer; readonly value: Buffer; readonly data: c.SystemEventData })
  | (Common & { readonly type: 'noop' });

export type ItemEvent = Extract<DcpEvent, { type: 'mutation' | 'deletion' | 'expiration' }>;

export interface ConsumerOptions {
  readonly name?: string;
  /** Bucket to select (default `default`). */
  readonly bucket?: string;
  readonly openFlags?: number;
  /** HELLO features to ask for (default: Xerror only). */
  readonly features?: readonly number[];
  /** DCP_CONTROLs sent right after DCP_OPEN; each must succeed. */
  readonly controls?: Readonly<Record<string, string>>;
  /** Answer DCP_NOOPs (default true). */
  readonly answerNoops?: boolean;
}

let nextName = 1;

function decodeEvent(p: c.Packet, responsesBefore: number): DcpEvent {
  const base = { vb: p.vbucket, opaque: p.opaque, responsesBefore, size: c.packetSize(p) };
  const sid = c.decodeStreamId(p.framingExtras);
  const common = sid === undefined ? base : { ...base, streamId: sid };
  switch (p.opcode) {
    case c.Opcode.DcpSnapshotMarker: {
      const m = c.decodeSnapshotMarker(p);
      return { ...common, type: 'marker', start: m.startSeqno, end: m.endSeqno, flags: m.flags, version: m.version };
    }
    case c.Opcode.DcpMutation: {
      const m = c.decodeDcpMutation(p);
      return {
        ...common,
        type: 'mutation',
        key: Buffer.from(m.key),
        seqno: m.bySeqno,
        revSeqno: m.revSeqno,
        value: Buffer.from(m.value),
        datatype: m.datatype,
        cas: m.cas,
        flags: m.flags,
        expiration: m.expiration,
      };
    }
    case c.Opcode.DcpDeletion: {
      const d = c.decodeDcpDeletion(p);
      return { ...common, type: 'deletion', key: Buffer.from(d.key), seqno: d.bySeqno, version: d.version, deleteTime: d.deleteTime, value: Buffer.from(d.value), datatype: d.datatype, cas: p.cas };
    }
    case c.Opcode.DcpExpiration: {
      const e = c.decodeDcpExpiration(p);
      return { ...common, type: 'expiration', key: Buffer.from(e.key), seqno: e.bySeqno, deleteTime: e.deleteTime };
    }
    case c.Opcode.DcpStreamEnd:
      return { ...common, type: 'end', reason: c.decodeStreamEnd(p).reason };
    case c.Opcode.DcpSeqnoAdvanced:
      return { ...common, type: 'seqno-advanced', seqno: c.decodeSeqnoAdvanced(p).seqno };
    case c.Opcode.DcpNoop:
      return { ...common, type: 'noop' };
    case c.Opcode.DcpSystemEvent: {
      const e = c.decodeSystemEvent(p);
      return { ...common, type: 'system', seqno: e.bySeqno, version: e.version, key: Buffer.from(e.key), value: Buffer.from(e.value), data: c.decodeSystemEventData(e, p) };
    }
    default:
      throw new Error(`unexpected server request opcode 0x${p.opcode.toString(16)}`);
  }
}

export class DcpTestConsumer {
  readonly events: DcpEvent[] = [];
  /** Mutations, deletions and expirations received (kept incrementally: cheap to poll). */
  itemCount = 0;
  /** Bytes of everything flow control counts (all but noops), kept incrementally. */
  countedBytes = 0;
  readonly errors: Error[] = [];
  answerNoops: boolean;
  private waiters = new Set<() => void>();
  private isClosed = false;
  readonly closed: Promise<void>;

  private constructor(
    readonly conn: KvConnection,
    readonly name: string,
    answerNoops: boolean,
  ) {
    this.answerNoops = answerNoops;
    this.closed = new Promise((resolve) => {
      conn.onStatus((e) => {
        if (e.type === 'closed') {
          this.isClosed = true;
          this.notify();
          resolve();
        }
      });
    });
  }

  /**
   * Connect, HELLO, authenticate, select the bucket, DCP_OPEN and the controls. `server` is an
   * in-process test server or the KV port of one in a child process.
   */
  static async open(server: TestServer | { readonly kvPort: number }, opts: ConsumerOptions = {}): Promise<DcpTestConsumer> {
    const name = opts.name ?? `test-consumer-${process.pid}-${nextName++}`;
    let consumer: DcpTestConsumer | undefined;
    const conn = await KvConnection.connect(
      { port: 'server' in server ? server.server.ports.kv : server.kvPort },
      { onServerRequest: (p) => consumer?.onServerRequest(p), requestTimeoutMs: 20_000 },
    );
    consumer = new DcpTestConsumer(conn, name, opts.answerNoops ?? true);
    await conn.hello('dcp-test', opts.features ?? [c.Feature.Xerror]);
    await conn.saslPlain(ADMIN.username, ADMIN.password);
    await conn.selectBucket(opts.bucket ?? 'default');
    const res = await consumer.dcpOpen(name, opts.openFlags ?? c.DcpOpenFlag.Producer);
    if (res.status !== c.Status.Success) throw new Error(`DCP_OPEN failed: ${c.statusName(res.status)}`);
    for (const [key, value] of Object.entries(opts.controls ?? {})) {
      const status = await consumer.control(key, value);
      if (status !== c.Status.Success) throw new Error(`control ${key}=${value} failed: ${c.statusName(status)}`);
    }
    return consumer;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  dcpOpen(name: string, flags: number): Promise<c.Packet> {
    return this.conn.request(c.encodeDcpOpenRequest({ name, flags }));
  }

  async control(key: string, value: string): Promise<number> {
    return (await this.conn.request(c.encodeDcpControlRequest({ key, value }))).status;
  }

  /** DCP_STREAM_REQ with the request's opaque (default 0x10000 + vbucket, clear of the client's own opaques). */
  async streamRequest(req: c.StreamRequest, opaque = 0x10000 + req.vbucket): Promise<{ packet: c.Packet; result: c.StreamRequestResult }> {
    const packet = await this.conn.request(c.encodeStreamRequest(req), { opaque });
    return { packet, result: c.decodeStreamRequestResponse(packet) };
  }

  /** Request a stream from 0 to infinity and insist on Success. */
  async streamFromZero(vbucket: number, extra: Partial<c.StreamRequest> = {}): Promise<c.FailoverEntry[]> {
    const { result } = await this.streamRequest({ vbucket, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0, ...extra });
    if (result.kind !== 'ok') throw new Error(`stream request for vb ${vbucket} failed: ${JSON.stringify(result)}`);
    return result.failoverLog;
  }

  async closeStream(vbucket: number, streamId?: number): Promise<number> {
    const req = c.encodeCloseStreamRequest(streamId === undefined ? { vbucket } : { vbucket, streamId });
    return (await this.conn.request(req)).status;
  }

  async failoverLog(vbucket: number): Promise<c.FailoverEntry[]> {
    const res = await this.conn.request(c.encodeFailoverLogRequest(vbucket, c.Opcode.DcpGetFailoverLog));
    if (res.status !== c.Status.Success) throw new Error(`failover log: ${c.statusName(res.status)}`);
    return c.decodeFailoverLogResponse(res);
  }

  ack(bytes: number): Promise<void> {
    return this.conn.send(c.encodeBufferAck(bytes));
  }

  async stats(group: string): Promise<Map<string, string>> {
    return new Map((await this.conn.stat(group)).map((e) => [e.name, e.value]));
  }

  eventsFor(vb: number): DcpEvent[] {
    return this.events.filter((e) => e.vb === vb && e.type !== 'noop');
  }

  items(vb?: number): ItemEvent[] {
    return this.events.filter(
      (e): e is ItemEvent => (e.type === 'mutation' || e.type === 'deletion' || e.type === 'expiration') && (vb === undefined || e.vb === vb),
    );
  }

  /** Resolve once `predicate` holds; reject after `timeoutMs` or if the connection closes first. */
  waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate()) {
          done();
          resolve();
        } else if (this.isClosed) {
          done();
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what} (${this.events.length} events)`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Wait for a STREAM_END on `vb` and return its reason. */
  async streamEnd(vb: number, timeoutMs?: number): Promise<number> {
    const find = (): DcpEvent | undefined => this.events.find((e) => e.vb === vb && e.type === 'end');
    await this.waitFor(`stream end on vb ${vb}`, () => find() !== undefined, timeoutMs);
    const e = find();
    return e?.type === 'end' ? e.reason : -1;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private onServerRequest(p: c.Packet): void {
    try {
      const event = decodeEvent(p, this.conn.stats.responses);
      this.events.push(event);
      if (event.type !== 'noop') this.countedBytes += event.size;
      if (event.type === 'mutation' || event.type === 'deletion' || event.type === 'expiration') this.itemCount++;
      if (event.type === 'noop' && this.answerNoops) void this.conn.send(c.encodeDcpNoopResponse(p.opaque)).catch(() => {});
    } catch (err) {
      this.errors.push(err as Error);
    }
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
