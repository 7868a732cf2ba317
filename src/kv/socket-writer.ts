/**
 * The write side of a KV server connection (connection.ts `KvServerConnection`): every
 * `socket.write` of the connection goes through one `SocketWriter`, and the reply helpers the
 * connection's reply queue uses (a reply's size, status and encoding, and the one-tick wait that
 * lets replies settling in this turn join a batch). Kept apart so connection.ts
 * holds the request side: framing, in-order execution, the reply queue and backpressure.
 *
 * Two streams share the socket and must not overtake each other:
 * - replies, which the connection batches in request order and hands over with `writeReplies`
 *   (one socket write per batch);
 * - server-initiated frames (DCP), coalesced into one socket write per turn (`sendFrame`), so a
 *   producer sending thousands of messages pays one write, not thousands (practice 9). They are
 *   written before any reply batch, so a message never overtakes the reply to a request made
 *   before it (the connection also starts writing ready replies before it queues a frame).
 *
 * `sendFrame` answers false once the socket buffer plus what is coalesced passes WRITE_HIGH_WATER;
 * the sender then waits for `drained()`, which settles on the socket's 'drain' or at close.
 */
import type { Socket } from 'node:net';
import { encodePacket, packetSize, type Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import type { Reply } from './command-spec.js';
import type { KvStats } from './stats-counters.js';

/** Unsent bytes above which no further request is executed (connection.ts) and sendFrame answers false. */
export const WRITE_HIGH_WATER = 1024 * 1024;
/** Coalesced server-initiated bytes after which they are written without waiting for the turn's end. */
const SEND_FLUSH_BYTES = 256 * 1024;

/** The bytes a settled reply will take on the wire (counted against WRITE_HIGH_WATER before it is written). */
export function replySize(reply: Packet | Packet[] | Buffer): number {
  if (Buffer.isBuffer(reply)) return reply.length;
  if (!Array.isArray(reply)) return packetSize(reply);
  let n = 0;
  for (const p of reply) n += packetSize(p);
  return n;
}

/** The status a reply carries (a frame's header bytes 6-7); a quiet success (no reply) is Success. */
export function replyStatus(reply: Reply): number {
  if (reply === null) return Status.Success;
  if (Buffer.isBuffer(reply)) return reply.length >= 8 ? (reply[6]! << 8) | reply[7]! : Status.Success;
  if (Array.isArray(reply)) return reply[0]?.status ?? Status.Success;
  return reply.status;
}

export const NOT_YET = Symbol('not yet');

/**
 * Resolves once the microtasks queued so far have run (a nextTick runs after them): how long the
 * connection's flush waits for replies settling in this turn before it writes what is batched.
 */
export function afterMicrotasks(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => process.nextTick(resolve, NOT_YET));
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Append a non-null reply's frames to a batch of encoded replies. A reply that cannot be encoded
 * (a value out of its field's range: a bug upstream) is answered Einternal with no body rather
 * than lost, so the client's request still gets its answer; `onError` is told.
 */
export function encodeReplyInto(out: Buffer[], reply: Packet | Packet[] | Buffer, onError: (err: unknown, p: Packet) => void = () => {}): void {
  if (Buffer.isBuffer(reply)) out.push(reply);
  else if (Array.isArray(reply)) for (const p of reply) out.push(encodeOrInternal(p, onError));
  else out.push(encodeOrInternal(reply, onError));
}

function encodeOrInternal(p: Packet, onError: (err: unknown, p: Packet) => void): Buffer {
  try {
    return encodePacket(p);
  } catch (err) {
    onError(err, p);
    return encodePacket({ ...p, status: Status.Einternal, cas: 0n, datatype: 0, framingExtras: NO_BYTES, extras: NO_BYTES, key: NO_BYTES, value: NO_BYTES });
  }
}

export class SocketWriter {
  /** Server-initiated frames coalesced until the end of the current turn (see sendFrame). */
  private frames: Buffer[] = [];
  private frameBytes = 0;
  private scheduled = false;
  private drainWaiters: Array<() => void> = [];
  /** The connection was torn down: nothing more is written. */
  private closed = false;
  /** Bound once, so scheduling the end-of-turn write allocates nothing. */
  private readonly flushSoon = (): void => this.flushFrames();

  constructor(
    private readonly socket: Socket,
    private readonly stats: KvStats,
  ) {}

  /** Write a batch of encoded replies in one socket write (coalesced frames first); empties `out`. */
  writeReplies(out: Buffer[]): void {
    if (out.length === 0 || this.closed) {
      out.length = 0;
      return;
    }
    this.flushFrames();
    const ok = this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.stats.packetsOut += out.length;
    if (!ok) this.stats.writeStalls++;
    out.length = 0;
  }

  /** Queue a server-initiated frame; false once the caller should wait for `drained()`. */
  sendFrame(buf: Buffer): boolean {
    this.frames.push(buf);
    this.frameBytes += buf.length;
    this.stats.packetsOut++;
    if (this.frameBytes >= SEND_FLUSH_BYTES) this.flushFrames();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushSoon);
    }
    const ok = this.socket.writableLength + this.frameBytes < WRITE_HIGH_WATER;
    if (!ok) this.stats.writeStalls++;
    return ok;
  }

  /** Write the coalesced server-initiated frames (also before any reply, to keep the order). */
  flushFrames(): void {
    this.scheduled = false;
    if (this.frames.length === 0) return;
    const data = this.frames.length === 1 ? this.frames[0]! : Buffer.concat(this.frames, this.frameBytes);
    this.frames = [];
    this.frameBytes = 0;
    if (!this.closed) this.socket.write(data);
  }

  drained(): Promise<void> {
    this.flushFrames();
    if (!this.socket.writableNeedDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The socket drained (or the connection closed): settle every `drained()` waiting. */
  wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** The connection is torn down: drop what is coalesced and write nothing more. */
  close(): void {
    this.closed = true;
    this.frames = [];
    this.frameBytes = 0;
  }
}
