/**
 * The server side of one KV client's socket (`KvServerConnection`; the client side is
 * src/client/connection.ts's `KvConnection`): framing, in-order execution, in-order replies, and backpressure.
 *
 * Requests are executed strictly in arrival order, and each handler makes its engine decision
 * synchronously when called, so request N+1 sees the effect of request N. Replies that wait for
 * durability are promises; they are written in request order as they settle, so a pipelining
 * client keeps many durable writes in one group commit (kv_engine answers in order per
 * connection too, unless UnorderedExecution is negotiated, which we do not grant).
 *
 * Backpressure contract: parsed requests wait in `backlog` and are executed only while fewer than
 * MAX_PENDING replies are outstanding and the socket holds less than WRITE_HIGH_WATER unsent
 * bytes (counting replies built but not yet written); reading stops (socket.pause) while anything
 * waits in the backlog or either limit is reached, and resumes on 'drain' and as replies flush.
 * So a client that pipelines many GETs of large documents without reading its replies holds about
 * WRITE_HIGH_WATER (plus one reply) of server memory, not every reply at once.
 *
 * Replies are coalesced: the replies to one socket read's worth of requests leave in one write.
 * Every socket write, replies and server-initiated (DCP) frames alike, goes through the
 * connection's `SocketWriter` (socket-writer.ts), which keeps the two in order.
 *
 * A command marked `barrier` (SASL, whose answer the failed-login throttle may delay) whose reply
 * is a promise stops execution of later requests until it settles: they wait in `backlog`.
 *
 * A malformed frame (ProtocolError from the parser) closes this connection only, and so does a
 * server-request magic (0x82) from the client: only the server sends those, after HELLO Duplex,
 * which Freshet does not grant (kv_engine drops such a connection too).
 *
 * `close()` (QUIT) stops executing further requests, writes the replies already queued (the
 * QUIT reply included), then ends the socket: memcached answers QUIT after everything before it.
 */
import type { Socket } from 'node:net';
import { PacketParser } from '../codec/parser.js';
import { encodePacket, replyTo, type Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { isProtocolError } from '../codec/errors.js';
import { Magic, isRequestMagic } from '../codec/magic.js';
import { replyForError } from './replies.js';
import { dispatch, type CommandTable, type Reply } from './dispatch.js';
import { clientAddress } from '../auth/throttle.js';
import type { AuthState, DcpAttachment, Impersonation, KvDeps, Session } from './session.js';
import type { Bucket } from '../engine/bucket.js';
import type { KvStats } from './stats-counters.js';
import { NOT_YET, SocketWriter, WRITE_HIGH_WATER, afterMicrotasks, encodeReplyInto, replySize, replyStatus } from './socket-writer.js';

const MAX_PENDING = 4096;
/** The first byte of a TLS handshake record (RFC 8446 §5.1 ContentType handshake). */
const TLS_HANDSHAKE_RECORD = 0x16;

/** Replies coalesced into one socket write at most, and the bytes after which a batch is written. */
const WRITE_BATCH = 512;
const FLUSH_BYTES = 64 * 1024;

export class KvServerConnection implements Session {
  auth: AuthState = { kind: 'anonymous' };
  bucket: Bucket | null = null;
  features: ReadonlySet<number> = new Set();
  access: unknown = undefined;
  impersonation: Impersonation | null = null;
  agent = '';
  dcp: DcpAttachment | null = null;
  private readonly parser = new PacketParser();
  /** Replies in request order; a slot is a settled reply or a promise of one. */
  private readonly pending: Array<Reply | Promise<Reply>> = [];
  private pendingHead = 0;
  /** Bytes of settled replies queued but not yet written (counted against WRITE_HIGH_WATER). */
  private unflushedBytes = 0;
  /** Parsed requests not executed yet (from `backlogHead` on), waiting for the limits above. */
  private backlog: Packet[] = [];
  private backlogHead = 0;
  private pumping = false;
  private flushing = false;
  /** Every socket write (replies and server-initiated frames) and `drained()`. */
  private readonly writer: SocketWriter;
  private isClosed = false;
  /** The first chunk was looked at (the TLS-on-plain-port check). */
  private seenData = false;
  /** close() was called: no more requests run; the socket ends once `pending` is written. */
  private closing = false;
  readonly peer: string;
  readonly remoteAddress: string;
  readonly local: string;
  readonly tls: boolean;
  /** A `barrier` command's reply is pending: later requests wait for it (see execute). */
  private barrier = false;
  /** Requests executed (the access log's `ops`). */
  ops = 0;

  constructor(
    readonly id: number,
    readonly ctx: KvDeps,
    private readonly socket: Socket,
    readonly stats: KvStats,
    /** The listener's command table (dispatch.ts), shared by its connections. */
    private readonly commands: CommandTable,
  ) {
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.local = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.tls = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    this.remoteAddress = clientAddress(socket.remoteAddress);
    this.writer = new SocketWriter(socket, stats);
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
    if (!this.seenData) {
      this.seenData = true;
      // A TLS ClientHello record (type 0x16) where a 0x80/0x08 magic belongs: a `couchbases://`
      // client dialled the plain port. Say so instead of "invalid magic 0x16".
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        this.stats.tlsOnPlainPort++;
        this.ctx.logger.warn({ peer: this.peer }, 'a TLS handshake arrived on the plain KV port: TLS clients connect to the KV TLS port (11207 by default, `freshet serve --tls`); closing the connection');
        this.socket.destroy();
        this.teardown();
        return;
      }
    }
    let packets: Packet[];
    try {
      packets = this.parser.push(chunk);
    } catch (err) {
      this.dropMalformed(isProtocolError(err) ? err.message : String(err));
      return;
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = packets;
      this.backlogHead = 0;
    } else {
      for (const p of packets) this.backlog.push(p);
    }
    this.pump();
  }

  private get writeBlocked(): boolean {
    return this.outstanding > MAX_PENDING || this.socket.writableLength + this.unflushedBytes > WRITE_HIGH_WATER;
  }

  /** Execute waiting requests in order while the limits allow, then decide whether to read on. */
  private pump(): void {
    // execute → enqueue → flush → pump: the outer loop carries on, so no recursion.
    if (this.pumping) return;
    this.pumping = true;
    try {
      // The clock reading at which the previous request's reply was known (see execute), or -1.
      let mark = -1;
      while (this.backlogHead < this.backlog.length && !this.isClosed && !this.closing && !this.barrier && !this.writeBlocked) {
        const packet = this.backlog[this.backlogHead++]!;
        if (packet.magic === Magic.ServerRequest) {
          this.dropMalformed('server-request magic 0x82 from a client');
          return;
        }
        mark = this.execute(packet, mark);
        // Write a long batch as it grows, so the write-buffer limit sees it (and the write's time
        // is not counted in the next request's latency).
        if (!this.flushing && (this.outstanding >= WRITE_BATCH || this.unflushedBytes >= FLUSH_BYTES)) {
          void this.flush();
          mark = -1;
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.backlogHead === this.backlog.length || this.isClosed || this.closing) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    if (this.outstanding > 0 && !this.flushing) void this.flush();
    else this.updateReading();
  }

  private updateReading(): void {
    if (this.isClosed) return;
    const hold = this.closing || this.backlogHead < this.backlog.length || this.writeBlocked;
    if (hold) {
      if (!this.socket.isPaused()) {
        this.stats.readPauses++;
        this.socket.pause();
      }
    } else if (this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  private dropMalformed(reason: string): void {
    this.stats.malformedFrames++;
    this.ctx.logger.warn({ peer: this.peer, err: reason }, 'malformed frame: closing connection');
    this.socket.destroy();
    this.teardown();
  }

  /**
   * Execute one request, queue its reply, and count it by opcode, status and latency
   * (op-counters.ts): handler start to reply known, for a durable write until its commit is on
   * disk, as kv_engine times request to response. `mark` is the clock reading at which the
   * previous request of this pump run got its synchronous reply (-1: none) and serves as this one's
   * start, so a pipeline of GETs reads the clock once per request, with no closure per request.
   * Returns the reading at which this reply was known, or -1 (a promise reply, a DCP response).
   */
  private execute(req: Packet, mark: number): number {
    this.stats.commands++;
    this.ops++;
    if (!isRequestMagic(req.magic)) {
      // A response from the client: only DCP consumers send them (noop and marker acks).
      if (this.dcp) this.enqueue(this.safely(req, () => this.dcp!.handle(req)));
      return -1;
    }
    const started = mark >= 0 ? mark : performance.now();
    let reply: Reply | Promise<Reply>;
    try {
      reply = dispatch(this.commands, this, req);
    } catch (err) {
      reply = this.errorFor(req, err);
    }
    if (!(reply instanceof Promise)) {
      const ended = performance.now();
      this.stats.ops.record(req.opcode, replyStatus(reply), (ended - started) * 1000);
      this.enqueue(reply);
      return ended;
    }
    // One reaction per promise reply (the error reply and the timing share it).
    const timed = reply.then(
      (settled) => this.timed(req, settled, started),
      (err: unknown) => this.timed(req, this.errorFor(req, err), started),
    );
    if (this.commands.get(req.opcode)?.barrier === true) {
      // A delayed SASL answer changes the auth state the next request is checked against:
      // hold later requests until it settles, keeping "N+1 sees the effect of N".
      this.barrier = true;
      void timed.finally(() => {
        this.barrier = false;
        this.pump();
      });
    }
    this.enqueue(timed);
    return -1;
  }

  /** Run a DCP response's handler; synchronous throws and rejections both become error replies. */
  private safely(req: Packet, run: () => Reply | Promise<Reply>): Reply | Promise<Reply> {
    try {
      const out = run();
      return out instanceof Promise ? out.catch((err: unknown) => this.errorFor(req, err)) : out;
    } catch (err) {
      return this.errorFor(req, err);
    }
  }

  /** Record a settled promise reply's opcode, status and latency (op-counters.ts); returns the reply. */
  private timed(req: Packet, reply: Reply, started: number): Reply {
    this.stats.ops.record(req.opcode, replyStatus(reply), (performance.now() - started) * 1000);
    return reply;
  }

  /** A reply that could not be encoded went out as Einternal (socket-writer.ts): count and log it. */
  private readonly encodeFailed = (err: unknown, p: Packet): void => {
    this.stats.errors++;
    this.ctx.logger.error({ err, opcode: p.opcode }, 'encoding a reply failed: answered Einternal');
  };

  private errorFor(req: Packet, err: unknown): Reply {
    this.stats.errors++;
    if (!isRequestMagic(req.magic)) return null;
    try {
      return replyForError(this, req, err);
    } catch (replyErr) {
      // Last line of defence: a throw here would escape the socket's 'data' handler and take the
      // whole server down, so answer Einternal without any body.
      this.ctx.logger.error({ err: replyErr, opcode: req.opcode }, 'building an error reply failed');
      return replyTo(req, { status: Status.Einternal });
    }
  }

  private enqueue(reply: Reply | Promise<Reply>): void {
    if (reply !== null && !(reply instanceof Promise)) this.unflushedBytes += replySize(reply);
    this.pending.push(reply);
    // pump() flushes once after its batch: one socket write for a pipeline, not one per reply.
    if (!this.flushing && !this.pumping) void this.flush();
  }

  /** Replies queued and not yet written. */
  private get outstanding(): number {
    return this.pending.length - this.pendingHead;
  }

  /**
   * Write settled replies in order, batched into one socket write; before waiting on a reply that
   * is still a promise (a durable write), write what is ready.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    const out: Buffer[] = [];
    try {
      while (this.pendingHead < this.pending.length && !this.isClosed) {
        const slot = this.pending[this.pendingHead]!;
        let reply: Reply;
        if (slot instanceof Promise) {
          // A write acknowledged from memory settles within this turn's microtasks: wait until
          // they have run (one tick) before writing what is batched, so a pipeline of SETs shares
          // one socket write; a reply still pending then (a durable write) must not hold the rest.
          const first = out.length === 0 ? await slot : await Promise.race([slot, afterMicrotasks()]);
          if (first === NOT_YET) {
            this.writer.writeReplies(out);
            reply = await slot;
          } else reply = first;
        } else {
          reply = slot;
          if (reply !== null) this.unflushedBytes -= replySize(reply);
        }
        this.pendingHead++;
        if (this.pendingHead === this.pending.length) {
          this.pending.length = 0;
          this.pendingHead = 0;
        } else if (this.pendingHead >= MAX_PENDING) {
          // A client that always has something in flight never empties the queue: compact it.
          this.pending.splice(0, this.pendingHead);
          this.pendingHead = 0;
        }
        if (reply === null) continue;
        encodeReplyInto(out, reply, this.encodeFailed);
        if (out.length >= WRITE_BATCH) this.writer.writeReplies(out);
      }
      this.writer.writeReplies(out);
    } finally {
      this.flushing = false;
    }
    if (this.closing) this.finishClosing();
    else if (this.backlogHead < this.backlog.length) this.pump();
    else this.updateReading();
  }

  /**
   * A server-initiated packet (DCP). Replies to earlier requests that are ready but still
   * batched go first, so a message never overtakes the reply to a request made before it.
   */
  send(packet: Packet): boolean {
    return this.sendFrame(encodePacket(packet));
  }

  sendFrame(buf: Buffer): boolean {
    if (this.isClosed) return false;
    if (this.outstanding > 0 && !this.flushing) void this.flush();
    // Coalesced into one socket write per turn; false asks the sender to wait for drained().
    return this.writer.sendFrame(buf);
  }

  drained(): Promise<void> {
    return this.writer.drained();
  }

  private onDrain(): void {
    this.writer.wakeDrainWaiters();
    if (!this.isClosed && !this.closing) this.pump();
  }

  close(reason: string): void {
    if (this.isClosed || this.closing) return;
    this.ctx.logger.debug({ peer: this.peer, reason }, 'closing KV connection');
    this.closing = true;
    this.socket.pause();
    // A handler calls close() before its own reply is queued (QUIT): check once that is done.
    queueMicrotask(() => this.finishClosing());
  }

  private finishClosing(): void {
    if (this.isClosed || this.flushing || this.outstanding > 0) return;
    this.writer.flushFrames();
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.writer.close();
    this.dcp?.close();
    this.dcp = null;
    this.onDrain();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
  }
}
