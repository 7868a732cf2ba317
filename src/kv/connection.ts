/**
 * One KV connection: framing, in-order execution, in-order replies, and backpressure.
 *
 * Requests are executed strictly in arrival order, and each handler makes its engine decision
 * synchronously when called, so request N+1 sees the effect of request N. Replies that wait for
 * durability are promises; they are written in request order as they settle, so a pipelining
 * client keeps many durable writes in one group commit (kv_engine answers in order per
 * connection too, unless UnorderedExecution is negotiated, which we do not grant).
 *
 * Backpressure contract: reading stops (socket.pause) while more than MAX_PENDING replies are
 * outstanding or the socket's write buffer is over its high-water mark; it resumes on 'drain'
 * and as replies flush. A malformed frame (ProtocolError from the parser) closes this connection
 * only.
 */
import type { Socket } from 'node:net';
import { PacketParser } from '../codec/parser.js';
import { encodePacket, type Packet } from '../codec/packet.js';
import { isProtocolError } from '../codec/errors.js';
import { isRequestMagic } from '../codec/magic.js';
import { replyForError } from './replies.js';
import { dispatch } from './dispatch.js';
import type { AuthState, DcpAttachment, Session } from './session.js';
import type { ServerContext } from '../server/context.js';
import type { Bucket } from '../engine/bucket.js';
import type { KvStats } from './stats-counters.js';

type Reply = Packet | Packet[] | null;
const MAX_PENDING = 4096;

export class KvConnection implements Session {
  auth: AuthState = { kind: 'anonymous' };
  bucket: Bucket | null = null;
  features: ReadonlySet<number> = new Set();
  agent = '';
  dcp: DcpAttachment | null = null;
  private readonly parser = new PacketParser();
  /** Replies in request order; a slot is a settled reply or a promise of one. */
  private readonly pending: Array<Reply | Promise<Reply>> = [];
  private flushing = false;
  private drainWaiters: Array<() => void> = [];
  private isClosed = false;
  readonly peer: string;

  constructor(
    readonly id: number,
    readonly ctx: ServerContext,
    private readonly socket: Socket,
    readonly stats: KvStats,
  ) {
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => this.teardown());
    socket.on('close', () => this.teardown());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private onData(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.parser.push(chunk);
    } catch (err) {
      this.stats.malformedFrames++;
      this.ctx.logger.warn({ peer: this.peer, err: isProtocolError(err) ? err.message : String(err) }, 'malformed frame: closing connection');
      this.socket.destroy();
      return;
    }
    for (const packet of packets) {
      if (this.isClosed) return;
      this.execute(packet);
    }
    if (this.pending.length > MAX_PENDING) {
      this.stats.readPauses++;
      this.socket.pause();
    }
  }

  private execute(req: Packet): void {
    this.stats.commands++;
    if (!isRequestMagic(req.magic)) {
      // A response from the client: only DCP consumers send them (noop and marker acks).
      if (this.dcp) this.enqueue(this.safely(req, () => this.dcp!.handle(req)));
      return;
    }
    this.enqueue(this.safely(req, () => dispatch(this, req)));
  }

  /** Run a handler; synchronous throws and rejections both become error replies. */
  private safely(req: Packet, run: () => Reply | Promise<Reply>): Reply | Promise<Reply> {
    try {
      const out = run();
      return out instanceof Promise ? out.catch((err: unknown) => this.errorFor(req, err)) : out;
    } catch (err) {
      return this.errorFor(req, err);
    }
  }

  private errorFor(req: Packet, err: unknown): Reply {
    this.stats.errors++;
    return isRequestMagic(req.magic) ? replyForError(this, req, err) : null;
  }

  private enqueue(reply: Reply | Promise<Reply>): void {
    this.pending.push(reply);
    if (!this.flushing) void this.flush();
  }

  /** Write settled replies in order; stop at the first one still waiting. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0 && !this.isClosed) {
        const slot = this.pending[0]!;
        const reply: Reply = slot instanceof Promise ? await slot : slot;
        this.pending.shift();
        if (reply === null) continue;
        for (const p of Array.isArray(reply) ? reply : [reply]) this.send(p);
      }
    } finally {
      this.flushing = false;
    }
    if (this.pending.length <= MAX_PENDING && !this.socket.writableNeedDrain && !this.isClosed) this.socket.resume();
  }

  send(packet: Packet): boolean {
    if (this.isClosed) return false;
    const ok = this.socket.write(encodePacket(packet));
    this.stats.packetsOut++;
    if (!ok) {
      this.stats.writeStalls++;
      this.socket.pause();
    }
    return ok;
  }

  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    if (this.pending.length <= MAX_PENDING) this.socket.resume();
  }

  close(reason: string): void {
    if (this.isClosed) return;
    this.ctx.logger.debug({ peer: this.peer, reason }, 'closing KV connection');
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.dcp?.close();
    this.dcp = null;
    this.onDrain();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
  }
}
