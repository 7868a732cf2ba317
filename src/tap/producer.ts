/**
 * A TAP producer: what a KV connection becomes after TAP_CONNECT (ep-engine's TapProducer,
 * tap_connection.cc, shipped by the daemon's ship_tap_log). There is no reply to TAP_CONNECT;
 * the stream simply starts.
 *
 * - Every vbucket of the filter is a TapVbStream (vb-stream.ts); the send loop is DCP's
 *   (dcp/send-loop.ts): streams with messages wait in a round-robin ready queue and each turn
 *   writes at most QUANTUM messages of one, so all vbuckets share the one connection.
 * - Each message gets the next TAP seqno as its opaque. With SUPPORT_ACK every `ackWindow`-th
 *   message carries TAP_FLAG_ACK and the loop stops until the client answers it (a response with
 *   that opaque), as ep-engine's tap_ack_window_size; a negative ack closes the connection (the
 *   registered cursor has not moved past the unacknowledged messages, so a reconnect resends them).
 * - Backpressure: when `session.sendFrame` returns false the loop waits for 'drain'; a stream reads
 *   its next follower batch only after its previous one went out, so memory is bounded by
 *   vbuckets x STREAM_BATCH items.
 * - An idle connection (nothing sent for `noopIntervalMs`, ep-engine tap_noop_interval, 200 s)
 *   gets a plain NOOP 0x0a request with no extras and no body: the seed's "empty message". A
 *   client answers it or ignores it; it is not data. Its reply, if any, is ignored.
 * - DUMP: once every vbucket's backfill went out (and the last ack requested came back) the
 *   connection closes, as ep-engine sends TAP_DISCONNECT.
 */
import { Feature } from '../codec/features.js';
import { Opcode } from '../codec/opcodes.js';
import { Status } from '../codec/status.js';
import { Datatype } from '../codec/datatype.js';
import { encodeNoopRequest } from '../codec/ops/noop.js';
import { TapFlag, encodeTapCheckpoint, encodeTapDelete, encodeTapMutation, encodeTapOpaque } from '../codec/ops/tap.js';
import type { Packet } from '../codec/packet.js';
import type { Bucket } from '../engine/bucket.js';
import { DATATYPE_JSON, type FollowEndReason } from '../engine/types.js';
import type { DcpAttachment, Session } from '../kv/session.js';
import { SendLoop } from '../dcp/send-loop.js';
import type { TapPlan } from './connect.js';
import { persistCursor, registerTapConnection, unregisterTapConnection, type RegisteredTapConnection, type TapCursor } from './registry.js';
import { TapVbStream, type TapOut, type VbStreamHost } from './vb-stream.js';

/** Server options for TAP (FreshetServer `tap`). */
export interface TapSettings {
  /** Idle time after which a NOOP is sent (ep-engine tap_noop_interval: 200 s). */
  readonly noopIntervalMs: number;
  /** Messages per requested ack with SUPPORT_ACK (ep-engine tap_ack_window_size: 10). */
  readonly ackWindow: number;
}

export const DEFAULT_TAP_SETTINGS: TapSettings = { noopIntervalMs: 200_000, ackWindow: 10 };

const QUANTUM = 32;
const YIELD_EVERY = 2048;

export class TapProducer implements DcpAttachment, VbStreamHost, RegisteredTapConnection {
  readonly createdAt = Date.now();
  readonly streams: TapVbStream[];
  private readonly loop: SendLoop<TapOut, TapVbStream>;
  private noopTimer: NodeJS.Timeout | null = null;
  private isClosed = false;
  private seqno = 0;
  private sinceAck = 0;
  /** The TAP seqno whose ack the loop waits for, or null. */
  awaitingAck: number | null = null;
  /** Item positions sent since the last ack (at most one window): the cursor moves on the ack. */
  private unacked: Array<{ readonly vbucket: number; readonly seqno: number }> = [];
  // counters (stats tap)
  itemsSent = 0;
  deletesSent = 0;
  messagesSent = 0;
  opaquesSent = 0;
  checkpointsSent = 0;
  noopsSent = 0;
  acksRequested = 0;
  acksReceived = 0;
  unexpectedResponses = 0;
  lastSendTime = Date.now();
  lastReceiveTime = Date.now();

  constructor(
    readonly session: Session,
    readonly bucket: Bucket,
    readonly plan: TapPlan,
    readonly name: string,
    readonly settings: TapSettings,
    readonly cursor: TapCursor | null,
  ) {
    this.streams = plan.streams.map((p) => new TapVbStream(this, bucket, p));
    const producer = this;
    this.loop = new SendLoop<TapOut, TapVbStream>({
      get isClosed() {
        return producer.isClosed;
      },
      // With SUPPORT_ACK nothing more goes out until the requested ack came back.
      canSend: () => this.awaitingAck === null,
      gateShut: () => undefined,
      write: (m) => this.write(m),
      drained: () => this.session.drained(),
      // A dump ends once every vbucket's backfill went out.
      idle: () => {
        if (!this.plan.dump || !this.streams.every((st) => st.drained)) return false;
        this.disconnect('TAP dump complete');
        return true;
      },
    }, QUANTUM, YIELD_EVERY);
    if (cursor) {
      cursor.attached?.disconnect(`TAP client "${name}" reconnected`);
      cursor.attached = this;
      // A first connection fixes where every vbucket stands, so a reconnect never backfills again.
      for (const p of plan.streams) cursor.advance(p.vbucket, p.start);
    }
    registerTapConnection(bucket, this);
    this.scheduleNoop(settings.noopIntervalMs);
    // TAP_CONNECT has no reply; start on the next turn so the handler returns at once.
    setImmediate(() => {
      if (this.isClosed) return;
      for (const s of this.streams) s.start();
      this.loop.run().catch((err: unknown) => {
        this.session.ctx.logger.error({ err, name }, 'TAP send loop failed');
        this.disconnect('send loop failed');
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Streams still in their backfill. */
  get backfilling(): number {
    return this.streams.filter((s) => s.phase === 'backfill').length;
  }

  get unackedItems(): number {
    return this.unacked.length;
  }

  // ---- the client's responses (DcpAttachment) ----------------------------------------------

  handle(p: Packet): null {
    this.lastReceiveTime = Date.now();
    // The reply to an idle NOOP: nothing to do.
    if (p.opcode === Opcode.Noop) return null;
    if (p.status !== Status.Success) {
      this.disconnect(`negative TAP ack (status 0x${p.status.toString(16)}) for seqno ${p.opaque}`);
      return null;
    }
    if (this.awaitingAck !== null && p.opaque === this.awaitingAck) {
      this.acksReceived++;
      this.awaitingAck = null;
      for (const u of this.unacked) this.cursor?.advance(u.vbucket, u.seqno);
      this.unacked = [];
      this.loop.wake();
    } else {
      this.unexpectedResponses++;
    }
    return null;
  }

  // ---- VbStreamHost -------------------------------------------------------------------------

  streamReady(stream: TapVbStream): void {
    if (this.isClosed) return;
    this.loop.ready(stream);
  }

  streamEnded(stream: TapVbStream, reason: FollowEndReason): void {
    if (reason === 'ok') return this.loop.wake(); // a dump's vbucket is complete
    if (reason === 'closed') return;
    const why = reason === 'bucket_deleted' ? 'bucket deleted' : reason === 'state_changed' ? `vbucket ${stream.vbucket} changed state` : `vbucket ${stream.vbucket} rolled back`;
    this.disconnect(why);
  }

  streamFailed(stream: TapVbStream, err: unknown): void {
    this.session.ctx.logger.error({ err, name: this.name, vbucket: stream.vbucket }, 'TAP stream failed reading storage');
    this.disconnect('storage read failed');
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** The connection went away: release the followers, keep a registered cursor (on disk too). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.noopTimer) clearTimeout(this.noopTimer);
    unregisterTapConnection(this.bucket, this);
    for (const s of this.streams) s.close();
    if (this.cursor?.attached === this) {
      this.cursor.attached = null;
      persistCursor(this.bucket, this.cursor).catch((err: unknown) =>
        this.session.ctx.logger.warn({ err, name: this.name }, 'could not persist the TAP cursor; it stays in memory'),
      );
    }
    this.loop.clear();
  }

  disconnect(reason: string): void {
    if (this.isClosed) return;
    this.session.ctx.logger.info({ name: this.name, peer: this.session.peer, reason }, 'closing TAP connection');
    this.close();
    this.session.close(reason);
  }

  private scheduleNoop(delay: number): void {
    this.noopTimer = setTimeout(() => this.noopTick(), delay);
    this.noopTimer.unref();
  }

  private noopTick(): void {
    if (this.isClosed) return;
    const interval = this.settings.noopIntervalMs;
    const idle = Date.now() - this.lastSendTime;
    if (idle < interval) return this.scheduleNoop(interval - idle);
    this.noopsSent++;
    this.lastSendTime = Date.now();
    this.session.send(encodeNoopRequest());
    this.scheduleNoop(interval);
  }

  private write(m: TapOut): boolean {
    const seqno = (this.seqno = (this.seqno + 1) >>> 0);
    let tapFlags = 0;
    if (this.plan.supportAck && ++this.sinceAck >= this.settings.ackWindow) {
      tapFlags |= TapFlag.Ack;
      this.sinceAck = 0;
      this.awaitingAck = seqno;
      this.acksRequested++;
    }
    const common = { seqno, vbucket: m.vbucket };
    let frame: Buffer;
    switch (m.kind) {
      case 'mutation':
      case 'delete': {
        const { item } = m;
        if (this.plan.keysOnly) tapFlags |= TapFlag.NoValue;
        if (this.plan.networkByteOrder && m.kind === 'mutation') tapFlags |= TapFlag.NetworkByteOrder;
        if (m.kind === 'mutation') {
          const datatype = item.datatype === DATATYPE_JSON && this.session.features.has(Feature.Json) ? Datatype.Json : Datatype.Raw;
          const value = this.plan.keysOnly ? {} : { value: item.value };
          frame = encodeTapMutation({ ...common, tapFlags, key: item.key, cas: item.cas, datatype, flags: item.flags, expiry: item.expiry, ...value });
          this.itemsSent++;
        } else {
          // A tombstone's body (if any) is not sent: TAP_DELETE carries the key and CAS.
          frame = encodeTapDelete({ ...common, tapFlags, key: item.key, cas: item.cas });
          this.deletesSent++;
        }
        // The registered cursor moves when the client has the item: on its ack, or once written.
        if (this.plan.supportAck) this.unacked.push({ vbucket: m.vbucket, seqno: item.seqno });
        else this.cursor?.advance(m.vbucket, item.seqno);
        break;
      }
      case 'opaque':
        frame = encodeTapOpaque({ ...common, tapFlags, command: m.command });
        this.opaquesSent++;
        break;
      case 'checkpoint-start':
      case 'checkpoint-end':
        frame = encodeTapCheckpoint(m.kind === 'checkpoint-start' ? 'start' : 'end', { ...common, tapFlags, checkpointId: m.checkpointId });
        this.checkpointsSent++;
        break;
    }
    this.messagesSent++;
    this.lastSendTime = Date.now();
    return this.session.sendFrame(frame);
  }
}

export function isTapProducer(x: unknown): x is TapProducer {
  return x instanceof TapProducer;
}
