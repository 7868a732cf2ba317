/**
 * KvConnection: a memcached-binary client connection (KV and DCP consumer side).
 *
 * - Transport kept separate: the constructor takes any connected Duplex; `connect()` is a
 *   thin net.Socket helper (practice 10).
 * - Pipelining: requests are written as they come and matched to responses by opaque
 *   (InflightTable); at most `maxInFlight` are outstanding, further callers wait for a
 *   slot, and at most `maxQueued` may wait (QueueFullError beyond).
 * - Per-request timeout (RequestTimeoutError) through an injectable clock.
 * - Quiet commands (`requestQuiet`) resolve with null once a later request's response
 *   shows the server has moved past them (kv docs/BinaryProtocol.md, quiet commands).
 * - Server-initiated requests (magic 0x80/0x08 from a DCP producer, 0x82 Duplex pushes)
 *   go to `onServerRequest` or to the `serverRequests()` async iterator, which pauses
 *   socket reads above a byte high-water mark.
 * - Writes respect socket backpressure: once the socket needs 'drain', further packets
 *   wait in an in-process queue and `send()` promises resolve only when written.
 * - `request()` resolves any status (a Rollback or NotMyVbucket reply is data); use
 *   `expectSuccess` or the bootstrap helpers to turn failures into KvStatusError.
 * - `close()`, a peer close, a socket error or a malformed frame reject everything
 *   in flight with ConnectionClosedError (the ProtocolError as `cause`).
 */
import type { Duplex } from 'node:stream';
import { PacketParser, encodePacket, isQuietOpcode, isRequestMagic, packetSize } from '../codec/index.js';
import type { Bytes, ErrorMap, KnownConfigVersion, Packet, StatEntry } from '../codec/index.js';
import * as boot from './conn-bootstrap.js';
import type { KvRequester, RequestOptions, SaslResult } from './conn-bootstrap.js';
import { dial } from './conn-dial.js';
import type { KvConnectOptions } from './conn-dial.js';
import { ConnectionClosedError, KvClientError, RequestTimeoutError } from './conn-errors.js';
import { Inbox } from './conn-inbox.js';
import { InflightTable } from './conn-inflight.js';
import { SlotPool } from './conn-slots.js';
import { CLIENT_MAX_BODY_LENGTH, newConnectionStats, systemTimerClock } from './conn-types.js';
import type { TimerClock, ConnectionState, ConnectionStatusEvent, KvConnectionOptions, KvConnectionStats } from './conn-types.js';
import { WriteQueue } from './conn-writer.js';

export type { KvRequester, RequestOptions, SaslResult } from './conn-bootstrap.js';
export {
  ConnectionClosedError,
  KV_CLIENT_ERROR_CODES,
  KvClientError,
  KvStatusError,
  QueueFullError,
  RequestTimeoutError,
  expectSuccess,
} from './conn-errors.js';
export type { KvClientErrorCode, KvClientErrorKind, KvErrorContext } from './conn-errors.js';
export type { KvConnectOptions, KvTlsOptions } from './conn-dial.js';
export type { TimerClock, ConnectionState, ConnectionStatusEvent, KvConnectionOptions, KvConnectionStats } from './conn-types.js';

export class KvConnection implements KvRequester {
  readonly stats: KvConnectionStats = newConnectionStats();

  readonly #stream: Duplex;
  readonly #parser: PacketParser;
  readonly #inflight = new InflightTable();
  readonly #slots: SlotPool;
  readonly #clock: TimerClock;
  readonly #timeoutMs: number;
  readonly #hwm: number;
  readonly #onServerRequest: KvConnectionOptions['onServerRequest'];
  readonly #listeners = new Set<(e: ConnectionStatusEvent) => void>();
  readonly #closed: Promise<void>;
  readonly #writes: WriteQueue;
  #inbox: Inbox<Packet> | undefined;
  #state: ConnectionState = 'open';
  #closeReason: Error | undefined;
  #nextOpaque = 0;
  #features = new Set<number>();

  /** Dial TCP (conn-dial.ts) and wrap the socket. */
  static async connect(opts: KvConnectOptions, options: KvConnectionOptions = {}): Promise<KvConnection> {
    return new KvConnection(await dial(opts), options);
  }

  constructor(stream: Duplex, options: KvConnectionOptions = {}) {
    this.#stream = stream;
    this.#parser = new PacketParser({ maxBodyLength: options.maxBodyLength ?? CLIENT_MAX_BODY_LENGTH });
    this.#slots = new SlotPool(options.maxInFlight ?? 1024, options.maxQueued ?? 4096);
    this.#clock = options.clock ?? systemTimerClock;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#hwm = options.serverRequestHighWaterMark ?? 8 * 1024 * 1024;
    this.#onServerRequest = options.onServerRequest;
    this.#writes = new WriteQueue(stream, this.stats);
    this.#closed = new Promise((resolve) => {
      if (stream.destroyed) resolve();
      else stream.once('close', () => resolve());
    });
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', (e: Error) => this.#teardown(new ConnectionClosedError(`socket error: ${e.message}`, {}, { cause: e }), e));
    stream.on('end', () => this.#teardown(new ConnectionClosedError('connection closed by peer')));
    stream.on('close', () => this.#teardown(new ConnectionClosedError('connection closed')));
    if (stream.destroyed) this.#teardown(new ConnectionClosedError('stream already destroyed'));
    // after the caller's synchronous setup (and the await of connect()), so listeners see it
    setImmediate(() => {
      if (this.#state === 'open') this.#emit({ type: 'connected' });
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Resolves once the underlying stream has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  get inFlight(): number {
    return this.#inflight.size;
  }

  /** Packets waiting in this process for the socket to drain. */
  get queuedWrites(): number {
    return this.#writes.length;
  }

  /** Features enabled by the last successful hello(). */
  hasFeature(code: number): boolean {
    return this.#features.has(code);
  }

  /** Subscribe to status events; returns the unsubscribe function. */
  onStatus(listener: (e: ConnectionStatusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Send a non-quiet request and resolve with its response (any status). The connection
   * assigns the opaque (increasing, skipping 0 and opaques in flight) unless
   * `options.opaque` is given; `p.opaque` is ignored.
   */
  async request(p: Packet, options: RequestOptions = {}): Promise<Packet> {
    if (isQuietOpcode(p.opcode)) throw new KvClientError('INVALID_ARGUMENT', 'quiet opcode: use requestQuiet()', { opcode: p.opcode });
    const r = await this.#dispatch(p, false, undefined, options);
    return r.packet as Packet;
  }

  /** Send a quiet request: resolves with its response, or null if the server stayed silent. */
  async requestQuiet(p: Packet, options: RequestOptions = {}): Promise<Packet | null> {
    if (!isQuietOpcode(p.opcode)) throw new KvClientError('INVALID_ARGUMENT', 'not a quiet opcode', { opcode: p.opcode });
    return (await this.#dispatch(p, true, undefined, options)).packet;
  }

  /** Send a request answered by several packets (e.g. STAT); resolves when `isLast` holds. */
  async requestMulti(p: Packet, isLast: (p: Packet) => boolean, options: RequestOptions = {}): Promise<Packet[]> {
    return (await this.#dispatch(p, false, isLast, options)).all;
  }

  /** Write a packet that expects no reply (DCP NOOP reply, buffer-ack). Resolves once written to the socket. */
  send(p: Packet): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#closedError(p.opcode));
    return this.#write(encodePacket(p));
  }

  /**
   * Server-initiated requests as an async iterator (single reader). Requests that arrive
   * while no iterator exists (and no onServerRequest handler) are dropped and reported.
   */
  serverRequests(): AsyncIterableIterator<Packet> {
    if (this.#inbox === undefined || (this.#inbox.done && this.#state === 'open')) {
      this.#inbox = new Inbox<Packet>({
        highWaterMark: this.#hwm,
        lowWaterMark: Math.floor(this.#hwm / 2),
        sizeOf: packetSize,
        onPause: () => {
          this.stats.readPauses++;
          this.#stream.pause();
        },
        onResume: () => {
          if (this.#state === 'open') this.#stream.resume();
        },
      });
      if (this.#state !== 'open') this.#inbox.close(this.#closeReason);
    }
    return this.#inbox;
  }

  /** Close the connection; everything in flight rejects with ConnectionClosedError. */
  close(): Promise<void> {
    this.#teardown(new ConnectionClosedError('connection closed by client'), undefined, true);
    return this.#closed;
  }

  // --- bootstrap helpers (conn-bootstrap.ts) ------------------------------------

  async hello(agent: Bytes, features: readonly number[]): Promise<number[]> {
    const enabled = await boot.hello(this, agent, features);
    this.#features = new Set(enabled);
    return enabled;
  }

  listMechs(): Promise<string[]> {
    return boot.listMechs(this);
  }

  saslAuth(mechanism: string, payload: Bytes): Promise<SaslResult> {
    return boot.saslAuth(this, mechanism, payload);
  }

  saslStep(mechanism: string, payload: Bytes): Promise<SaslResult> {
    return boot.saslStep(this, mechanism, payload);
  }

  saslPlain(user: string, password: string): Promise<void> {
    return boot.saslPlain(this, user, password);
  }

  selectBucket(bucket: string): Promise<void> {
    return boot.selectBucket(this, bucket);
  }

  getErrorMap(version = 2): Promise<ErrorMap> {
    return boot.getErrorMap(this, version);
  }

  getClusterConfig(known?: KnownConfigVersion): Promise<string> {
    return boot.getClusterConfig(this, known);
  }

  stat(group = ''): Promise<StatEntry[]> {
    return boot.stats(this, group);
  }

  noop(): Promise<void> {
    return boot.noop(this);
  }

  // --- internals -------------------------------------------------------------------

  async #dispatch(
    p: Packet,
    quiet: boolean,
    isLast: ((p: Packet) => boolean) | undefined,
    options: RequestOptions,
  ): Promise<{ packet: Packet | null; all: Packet[] }> {
    if (this.#state !== 'open') throw this.#closedError(p.opcode);
    const ac = new AbortController();
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timer =
      timeoutMs > 0
        ? this.#clock.setTimeout(() => {
            this.stats.timeouts++;
            ac.abort(new RequestTimeoutError(timeoutMs, { opcode: p.opcode }));
          }, timeoutMs)
        : undefined;
    const onUserAbort = (): void => ac.abort(new KvClientError('ABORTED', 'request aborted', { opcode: p.opcode }));
    if (options.signal?.aborted) onUserAbort();
    options.signal?.addEventListener('abort', onUserAbort, { once: true });
    try {
      await this.#slots.acquire(ac.signal);
      try {
        return await this.#register(p, quiet, isLast, options.opaque, ac.signal);
      } finally {
        this.#slots.release();
      }
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onUserAbort);
    }
  }

  #register(
    p: Packet,
    quiet: boolean,
    isLast: ((p: Packet) => boolean) | undefined,
    fixedOpaque: number | undefined,
    signal: AbortSignal,
  ): Promise<{ packet: Packet | null; all: Packet[] }> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      if (this.#state !== 'open') return reject(this.#closedError(p.opcode));
      if (fixedOpaque !== undefined && this.#inflight.has(fixedOpaque)) {
        return reject(new KvClientError('INVALID_ARGUMENT', `opaque ${fixedOpaque} already in flight`, { opcode: p.opcode }));
      }
      const opaque = fixedOpaque ?? this.#allocOpaque();
      let bytes: Buffer;
      try {
        bytes = encodePacket({ ...p, opaque });
      } catch (e) {
        return reject(e as Error);
      }
      this.#inflight.add({
        opaque,
        opcode: p.opcode,
        quiet,
        ...(isLast === undefined ? {} : { isLast }),
        resolve: (packet, all) => resolve({ packet, all: all ?? [] }),
        reject,
      });
      signal.addEventListener(
        'abort',
        () => {
          if (this.#inflight.remove(opaque)) reject(signal.reason as Error);
        },
        { once: true },
      );
      this.stats.requestsSent++;
      this.#write(bytes).catch((e: Error) => {
        if (this.#inflight.remove(opaque)) reject(e);
      });
    });
  }

  #allocOpaque(): number {
    do {
      this.#nextOpaque = (this.#nextOpaque + 1) >>> 0;
    } while (this.#nextOpaque === 0 || this.#inflight.has(this.#nextOpaque));
    return this.#nextOpaque;
  }

  #write(bytes: Buffer): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#closedError());
    return this.#writes.write(bytes);
  }

  #onData(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    this.stats.bytesRead += chunk.length;
    let packets: Packet[];
    try {
      packets = this.#parser.push(chunk);
    } catch (e) {
      const err = e as Error;
      this.#emit({ type: 'error', error: err });
      this.#teardown(new ConnectionClosedError(`protocol error: ${err.message}`, {}, { cause: err }), err);
      return;
    }
    for (const p of packets) {
      if (this.#state !== 'open') return;
      if (isRequestMagic(p.magic)) this.#onServerRequestPacket(p);
      else this.#onResponse(p);
    }
  }

  #onResponse(p: Packet): void {
    this.stats.responses++;
    if (!this.#inflight.onResponse(p)) {
      this.stats.unmatchedResponses++;
      this.#emit({ type: 'unmatched-response', packet: p });
    }
  }

  #onServerRequestPacket(p: Packet): void {
    this.stats.serverRequests++;
    if (this.#onServerRequest !== undefined) {
      try {
        this.#onServerRequest(p, this);
      } catch (e) {
        this.#emit({ type: 'error', error: e as Error });
      }
      return;
    }
    if (this.#inbox !== undefined && !this.#inbox.done) {
      this.#inbox.push(p);
      return;
    }
    this.stats.serverRequestsDropped++;
    this.#emit({ type: 'server-request-dropped', packet: p });
  }

  #closedError(opcode?: number): ConnectionClosedError {
    const reason = this.#closeReason;
    return new ConnectionClosedError(reason?.message ?? 'connection closed', opcode === undefined ? {} : { opcode }, {
      cause: reason,
    });
  }

  #teardown(reason: ConnectionClosedError, error?: Error, byClient = false): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeReason = reason;
    this.#inflight.rejectAll(
      (e) => new ConnectionClosedError(reason.message, { opcode: e.opcode, opaque: e.opaque }, { cause: reason.cause ?? reason }),
    );
    this.#slots.rejectWaiters(reason);
    this.#writes.close(reason);
    // a client close ends the iterator normally; anything else surfaces as an error
    this.#inbox?.close(byClient ? undefined : reason);
    this.#stream.destroy();
    this.#emit(error === undefined ? { type: 'closed' } : { type: 'closed', error });
  }

  #emit(e: ConnectionStatusEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        process.emitWarning(`KvConnection status listener threw: ${String(err)}`);
      }
    }
  }
}
