/**
 * A DCP producer: what a KV connection becomes after DCP_OPEN with the Producer flag.
 * Source: kv_engine engines/ep/src/dcp/producer.cc (DcpProducer), docs/dcp/documentation/*;
 * shared/specs/dcp.md §3.
 *
 * It owns the connection-level state (settings from DCP_OPEN, HELLO and DCP_CONTROL; flow control;
 * noops) and its streams, and runs one send loop:
 *
 * - Streams with output wait in a round-robin ready queue; each turn sends at most QUANTUM
 *   messages of one stream, so 1024 backfilling vbuckets share the connection fairly.
 * - Nothing is read from storage unless it can be sent soon: a stream asks its follower for the
 *   next batch only after the previous one went out and only while the flow-control window and
 *   the socket have room; the loop stops taking messages while the window is full (until a
 *   buffer ack) or the socket needs 'drain'. Memory per connection is therefore bounded by
 *   streams x STREAM_BATCH_ITEMS items.
 * - The loop yields to the event loop every YIELD_EVERY messages so acks, noop replies and other
 *   connections are served during a long backfill.
 * - Every message goes out through `session.send` (one socket write each); the connection decides
 *   how writes reach the kernel. Backpressure is its boolean result and `drained()`.
 */
import { Feature } from '../codec/features.js';
import { Opcode } from '../codec/opcodes.js';
import { Status } from '../codec/status.js';
import type { Packet } from '../codec/packet.js';
import { encodeDcpNoopRequest } from '../codec/dcp/noop.js';
import type { DecodedStreamRequest } from '../codec/dcp/stream-req.js';
import type { FailoverEntry as WireFailoverEntry } from '../codec/ops/failover-log.js';
import type { Bucket } from '../engine/bucket.js';
import type { Manifest } from '../engine/manifest.js';
import type { FollowEndReason } from '../engine/types.js';
import type { DcpAttachment, Session } from '../kv/session.js';
import { applyControl, type ControlTarget } from './controls.js';
import { BufferLog } from './flow-control.js';
import { Liveness, type LivenessHost } from './liveness.js';
import { SendLoop } from './send-loop.js';
import { registerProducer, unregisterProducer, type RegisteredProducer } from './registry.js';
import { initialSettings, type ProducerSettings } from './settings.js';
import { ProducerStream } from './stream.js';
import type { StreamHost } from './stream-state.js';
import { decideStreamRequest, type StreamRequestDecision } from './stream-request.js';

/** Items a stream reads from storage at a time (its whole buffer). */
export const STREAM_BATCH_ITEMS = 64;
/** Messages one stream may send per turn of the round robin. */
const QUANTUM = 32;
/** Messages sent before the loop lets the event loop run. */
const YIELD_EVERY = 2048;

/** What kv's DcpProducer::step counts in `items_sent`: items, system events and seqno advances. */
const ITEM_OPCODES: ReadonlySet<number> = new Set([Opcode.DcpMutation, Opcode.DcpDeletion, Opcode.DcpExpiration, Opcode.DcpSystemEvent, Opcode.DcpSeqnoAdvanced]);

/**
 * Responses a consumer may send (kv DcpProducer::handleResponse): 'noop' must match the noop in
 * flight; 'ignore' is always fine; 'checked' is fine on Success or on the per-stream statuses kv
 * tolerates. Any other opcode disconnects.
 */
const RESPONSE_RULES: ReadonlyMap<number, 'noop' | 'ignore' | 'checked' | 'stream-end'> = new Map([
  [Opcode.DcpNoop, 'noop'],
  [Opcode.DcpSnapshotMarker, 'ignore'],
  [Opcode.DcpSetVbucketState, 'ignore'],
  [Opcode.DcpStreamEnd, 'stream-end'],
  ...[
    Opcode.DcpOpen,
    Opcode.DcpAddStream,
    Opcode.DcpCloseStream,
    Opcode.DcpStreamReq,
    Opcode.DcpGetFailoverLog,
    Opcode.DcpMutation,
    Opcode.DcpDeletion,
    Opcode.DcpExpiration,
    Opcode.DcpBufferAcknowledgement,
    Opcode.DcpControl,
    Opcode.DcpSystemEvent,
    Opcode.GetErrorMap,
    Opcode.DcpPrepare,
    Opcode.DcpCommit,
    Opcode.DcpAbort,
  ].map((op): [number, 'checked'] => [op, 'checked']),
]);

function streamKey(vbucket: number, streamId: number | undefined): string {
  return streamId === undefined ? String(vbucket) : `${vbucket}:${streamId}`;
}

export class DcpProducer implements DcpAttachment, ControlTarget, LivenessHost, StreamHost, RegisteredProducer {
  readonly settings: ProducerSettings;
  readonly flow = new BufferLog();
  readonly liveness: Liveness;
  readonly createdAt = Date.now();
  readonly streams = new Map<string, ProducerStream>();
  private isClosed = false;
  /** The round robin over streams with output, gated by the flow-control window (send-loop.ts). */
  private readonly loop: SendLoop<Buffer, ProducerStream>;
  private accepted = 0;
  // counters (stats dcp)
  itemsSent = 0;
  messagesSent = 0;
  totalBytesSent = 0;
  lastSendTime = 0;
  streamRequests = 0;
  rollbacks = 0;
  refusals = 0;

  constructor(
    readonly session: Session,
    readonly bucket: Bucket,
    name: string,
    openFlags: number,
  ) {
    this.settings = initialSettings(name, openFlags, session.features.has(Feature.Collections));
    this.liveness = new Liveness(this);
    registerProducer(bucket, this);
    this.liveness.start();
    const producer = this;
    this.loop = new SendLoop<Buffer, ProducerStream>({
      get isClosed() {
        return producer.isClosed;
      },
      canSend: () => !this.flow.full,
      gateShut: () => this.flow.pauses++,
      write: (frame) => this.write(frame),
      drained: () => this.session.drained(),
      idle: () => false,
    }, QUANTUM, YIELD_EVERY);
    this.loop.run().catch((err: unknown) => {
      this.session.ctx.logger.error({ err, name }, 'DCP send loop failed');
      this.disconnect('send loop failed');
    });
  }

  get name(): string {
    return this.settings.name;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get hasStreams(): boolean {
    return this.accepted > 0;
  }

  // ---- consumer commands -------------------------------------------------------------------

  control(key: string, value: string): number {
    this.liveness.received();
    const status = applyControl(this, key, value);
    if (key === 'enable_noop' || key === 'set_noop_interval') this.liveness.reschedule();
    return status;
  }

  setBufferSize(bytes: number): void {
    this.flow.setBufferSize(bytes);
    this.loop.wake();
  }

  /** Decide a stream request; an accepted stream starts once the reply has been written. */
  streamRequest(req: DecodedStreamRequest): StreamRequestDecision {
    this.liveness.received();
    this.streamRequests++;
    const vb = this.bucket.vbucket(req.vbucket);
    const decision = decideStreamRequest(req, vb, {
      settings: this.settings,
      hasActiveStream: (v, sid) => this.streams.get(streamKey(v, sid))?.active ?? false,
      manifest: this.bucket.manifest,
    });
    if (decision.kind === 'rollback') this.rollbacks++;
    if (decision.kind !== 'accept') {
      if (decision.kind === 'refuse') this.refusals++;
      return decision;
    }
    const key = streamKey(vb.id, decision.stream.streamId);
    // A stream still ending (its STREAM_END not yet sent) is replaced and its STREAM_END dropped:
    // kv DcpProducer::streamRequest erases the dead stream, queued STREAM_END and all, so the
    // consumer never sees an end for this vbucket after the new stream's reply.
    this.streams.get(key)?.drop();
    const stream = new ProducerStream(this, this.bucket, vb, decision.stream, STREAM_BATCH_ITEMS);
    this.streams.set(key, stream);
    if (this.accepted++ === 0) this.liveness.reschedule();
    // The reply is written when the handler returns (kv/connection.ts flushes settled replies at
    // once); activating on the next turn keeps every stream message behind it.
    setImmediate(() => stream.activate());
    return decision;
  }

  /** DCP_CLOSE_STREAM; returns the status to answer with. */
  closeStream(vbucket: number, streamId: number | undefined): number {
    this.liveness.received();
    if (this.settings.streamIds !== (streamId !== undefined)) return Status.DcpStreamIdInvalid;
    const key = streamKey(vbucket, streamId);
    const stream = this.streams.get(key);
    if (!stream?.active) {
      // kv DcpProducer::closeStream: without send_stream_end_on_client_close_stream the stream
      // is erased even when it is already ending, so its queued STREAM_END is never sent.
      if (stream && !this.settings.sendStreamEndOnClientClose) {
        stream.drop();
        this.streams.delete(key);
      }
      // A stream id that this vbucket has no stream for, while it has others, is an invalid id.
      if (!stream && streamId !== undefined && [...this.streams.values()].some((s) => s.vbucket === vbucket)) return Status.DcpStreamIdInvalid;
      return this.settings.v7StatusCodes ? Status.DcpStreamNotFound : Status.KeyEnoent;
    }
    stream.close(this.settings.sendStreamEndOnClientClose);
    return Status.Success;
  }

  /** The bucket's manifest changed (registry.ts): streams whose filter emptied end. */
  manifestChanged(m: Manifest): void {
    for (const stream of [...this.streams.values()]) stream.manifestChanged(m);
  }

  bufferAck(bytes: number): void {
    this.liveness.received();
    if (this.flow.acknowledge(bytes)) this.loop.wake();
  }

  failoverLog(vbucket: number): WireFailoverEntry[] {
    this.liveness.received();
    return this.bucket
      .vbucket(vbucket)
      .failoverLog.toArray()
      .map((e) => ({ vbUuid: e.uuid, seqno: e.seqno }));
  }

  /** Responses from the consumer (DcpAttachment); none of them is answered. */
  handle(p: Packet): null {
    this.liveness.received();
    const rule = RESPONSE_RULES.get(p.opcode);
    let fine: boolean;
    switch (rule) {
      case 'noop':
        fine = this.liveness.noopReply(p.opaque);
        break;
      case 'ignore':
        fine = true;
        break;
      case 'stream-end':
        fine = p.status === Status.Success || p.status === Status.KeyEnoent || this.tolerated(p.status);
        break;
      case 'checked':
        fine = p.status === Status.Success || this.tolerated(p.status);
        break;
      case undefined:
        fine = false;
    }
    if (!fine) this.disconnect(`unexpected response opcode 0x${p.opcode.toString(16)} status 0x${p.status.toString(16)} opaque ${p.opaque}`);
    return null;
  }

  /** Statuses that concern one stream only, which kv logs without disconnecting. */
  private tolerated(status: number): boolean {
    if (!this.settings.v7StatusCodes && (status === Status.KeyEexists || status === Status.KeyEnoent)) return true;
    return status === Status.NotMyVbucket || status === Status.DcpStreamNotFound || status === Status.OpaqueNoMatch;
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** The connection went away (DcpAttachment): drop every stream, send nothing more. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.liveness.stop();
    unregisterProducer(this.bucket, this);
    for (const stream of this.streams.values()) stream.drop();
    this.streams.clear();
    this.loop.clear();
  }

  /** Close the connection from the producer side (idle consumer, protocol error, name reuse). */
  disconnect(reason: string): void {
    if (this.isClosed) return;
    this.session.ctx.logger.info({ name: this.name, peer: this.session.peer, reason }, 'closing DCP connection');
    this.close();
    this.session.close(reason);
  }

  sendNoop(opaque: number): void {
    this.lastSendTime = Date.now();
    this.session.send(encodeDcpNoopRequest(opaque));
  }

  // ---- StreamHost ----------------------------------------------------------------------------

  streamReady(stream: ProducerStream): void {
    if (this.isClosed) return;
    this.loop.ready(stream);
  }

  streamFinished(stream: ProducerStream): void {
    const key = streamKey(stream.vbucket, stream.streamId);
    if (this.streams.get(key) === stream) this.streams.delete(key);
  }

  bucketGone(reason: FollowEndReason): void {
    this.disconnect(reason === 'bucket_deleted' ? 'bucket deleted' : 'engine shutting down');
  }

  streamFailed(stream: ProducerStream, err: unknown): void {
    this.session.ctx.logger.error({ err, name: this.name, vbucket: stream.vbucket }, 'DCP stream failed reading storage');
  }

  /** One encoded frame of a stream (byte 1 of the header is the opcode). */
  private write(frame: Buffer): boolean {
    const size = frame.length;
    this.flow.sent(size);
    this.totalBytesSent += size;
    this.messagesSent++;
    if (ITEM_OPCODES.has(frame[1]!)) this.itemsSent++;
    this.lastSendTime = Date.now();
    return this.session.sendFrame(frame);
  }
}

export function isDcpProducer(x: unknown): x is DcpProducer {
  return x instanceof DcpProducer;
}
