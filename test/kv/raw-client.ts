/**
 * A deliberately small raw-socket KV client for the server tests: it writes exactly the bytes a
 * test asks for (one `write` per `send`, so pipelining and malformed frames are under the test's
 * control) and hands back response packets in arrival order. It shares only the codec with the
 * server, not the server's connection code, so a server framing bug cannot hide behind it.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  Feature,
  Opcode,
  PacketParser,
  Status,
  decodeHelloResponse,
  encodeHelloRequest,
  encodePacket,
  encodeSaslRequest,
  encodeSelectBucketRequest,
  encodeStatRequest,
  encodeSubdocRequest,
  decodeStatResponse,
  isStatTerminator,
  plainPayload,
  type Packet,
} from '../../src/codec/index.js';
import { ScramClient } from '../../src/auth/scram-client.js';
import type { ScramHash } from '../../src/auth/scram-crypto.js';

export const RESPONSE_TIMEOUT_MS = 5000;

/** The features the official SDK asks for (couchbase-sdk-bootstrap.md §2.1), in its order. */
export const SDK_FEATURES: readonly number[] = [
  0x03, 0x06, 0x07, 0x08, 0x0b, 0x0c, 0x10, 0x0f, 0x11, 0x15, 0x12, 0x17, 0x14, 0x1c, 0x21, 0x0e, 0x0d, 0x1e, 0x0a, 0x04,
];

export class RawKv {
  readonly #socket: Socket;
  readonly #parser = new PacketParser();
  readonly #queue: Packet[] = [];
  #waiter: ((p: Packet | Error) => void) | undefined;
  #ended: Error | undefined;
  #nextOpaque = 1;
  /** Resolves when the server closed (or reset) the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.#parser.push(chunk)) this.#deliver(p);
    });
    socket.on('error', (err) => this.#end(err));
    socket.on('close', () => this.#end(new Error('connection closed')));
  }

  /** `localAddress` binds the client end (e.g. 127.0.0.2, to appear as another client). */
  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawKv> {
    const socket = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    return new RawKv(socket);
  }

  /** Resolves once the server has closed the connection; rejects if it stays open too long. */
  waitClosed(timeoutMs = RESPONSE_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  get isClosed(): boolean {
    return this.#ended !== undefined;
  }

  /** A fresh opaque (tests use distinct opaques to check reply matching). */
  opaque(): number {
    return this.#nextOpaque++;
  }

  /** Write every packet in one socket write (one TCP segment on loopback, normally). */
  send(...packets: Packet[]): void {
    this.sendBytes(Buffer.concat(packets.map(encodePacket)));
  }

  sendBytes(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /** The next response packet; rejects on timeout or when the connection closes first. */
  next(timeoutMs = RESPONSE_TIMEOUT_MS): Promise<Packet> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (p) => {
        clearTimeout(timer);
        if (p instanceof Error) reject(p);
        else resolve(p);
      };
    });
  }

  /** The next `n` responses, in order. */
  async take(n: number): Promise<Packet[]> {
    const out: Packet[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  /** Send one request (with a fresh opaque unless it has one) and return its response. */
  async request(p: Packet): Promise<Packet> {
    const req = p.opaque === 0 ? { ...p, opaque: this.opaque() } : p;
    this.send(req);
    const res = await this.next();
    if (res.opaque !== req.opaque) throw new Error(`reply opaque ${res.opaque} != request opaque ${req.opaque}`);
    return res;
  }

  /** Responses up to and including the first one `isLast` accepts. */
  async collect(isLast: (p: Packet) => boolean): Promise<Packet[]> {
    const out: Packet[] = [];
    for (;;) {
      const p = await this.next();
      out.push(p);
      if (isLast(p)) return out;
    }
  }

  /** Stop reading from the socket (the server's writes then back up). */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    this.#socket.destroy();
  }

  #deliver(p: Packet): void {
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w(p);
    } else {
      this.#queue.push(p);
    }
  }

  #end(err: Error): void {
    this.#ended ??= err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(this.#ended);
  }
}

/** One single-path sub-document request (SUBDOC_GET, DICT_UPSERT, ...) and its reply. */
export async function subdocSingle(
  kv: RawKv,
  vb: number,
  opcode: number,
  key: string,
  path: string,
  more: { value?: string; pathFlags?: number; docFlags?: number; cas?: bigint } = {},
): Promise<Packet> {
  return kv.request(encodeSubdocRequest({ opcode, key, path, vbucket: vb, ...more }));
}

export function expectStatus(p: Packet, status: number, what = ''): Packet {
  if (p.status !== status) {
    const body = p.value.length > 0 ? ` body=${p.value.toString('utf8').slice(0, 200)}` : '';
    throw new Error(`${what || `opcode 0x${p.opcode.toString(16)}`}: status 0x${p.status.toString(16)}, expected 0x${status.toString(16)}${body}`);
  }
  return p;
}

export async function hello(kv: RawKv, features: readonly number[]): Promise<number[]> {
  const res = expectStatus(await kv.request(encodeHelloRequest({ agent: 'freshet-kv-test', features })), Status.Success, 'HELLO');
  return decodeHelloResponse(res).features;
}

export async function authPlain(kv: RawKv, user: string, password: string): Promise<Packet> {
  return kv.request(encodeSaslRequest({ mechanism: 'PLAIN', payload: plainPayload(user, password) }));
}

/**
 * SCRAM with Freshet's own client side (src/auth/scram-client.ts), which also verifies the
 * server signature. Returns the final SASL packet (success or the failure status).
 */
export async function authScram(kv: RawKv, hash: ScramHash, user: string, password: string): Promise<Packet> {
  const client = new ScramClient({ hash, user, password });
  const first = await kv.request(encodeSaslRequest({ opcode: Opcode.SaslAuth, mechanism: client.mechanism, payload: client.start() }));
  if (first.status !== Status.AuthContinue) return first;
  const step = client.respond(first.value.toString('utf8'));
  const final = await kv.request(encodeSaslRequest({ opcode: Opcode.SaslStep, mechanism: client.mechanism, payload: step }));
  if (final.status === Status.Success) client.verify(final.value.toString('utf8'));
  return final;
}

export interface OpenOptions {
  user?: string;
  password?: string;
  bucket?: string | null;
  features?: readonly number[];
}

/** HELLO, PLAIN auth and SELECT_BUCKET: a connection ready for data commands. */
export async function openBucket(port: number, opts: OpenOptions = {}): Promise<RawKv> {
  const kv = await RawKv.connect(port);
  try {
    await hello(kv, opts.features ?? [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.MutationSeqno]);
    expectStatus(await authPlain(kv, opts.user ?? 'Administrator', opts.password ?? 'password'), Status.Success, 'SASL PLAIN');
    const bucket = opts.bucket === undefined ? 'default' : opts.bucket;
    if (bucket !== null) expectStatus(await kv.request(encodeSelectBucketRequest(bucket)), Status.Success, 'SELECT_BUCKET');
    return kv;
  } catch (err) {
    kv.close();
    throw err;
  }
}

/** One STAT group as name → value (the replies up to the terminator; an error status throws). */
export async function statGroup(kv: RawKv, group: string): Promise<Map<string, string>> {
  kv.send(encodeStatRequest({ group }, { opaque: kv.opaque() }));
  const packets = await kv.collect((p) => p.status !== Status.Success || isStatTerminator(p));
  const last = packets[packets.length - 1]!;
  expectStatus(last, Status.Success, `STAT ${group}`);
  const out = new Map<string, string>();
  for (const p of packets) {
    const e = decodeStatResponse(p);
    if (e) out.set(e.name, e.value);
  }
  return out;
}
