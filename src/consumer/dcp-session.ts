/**
 * One DCP connection to one data node, from DCP_OPEN until the connection ends: a single loop
 * that takes, in order, the producer's messages and the replies to our stream requests, and runs
 * every receiver call and state transition (cbdatasource's worker, dcp.md §4.5-§4.7, no goroutines).
 *
 * - Liveness: DCP_NOOP is answered as soon as it is read, ahead of queued data, so a slow receiver
 *   never looks dead to the producer. With no traffic for PingTimeoutMS we send NOOP 0x0a; no reply
 *   within another PingTimeoutMS means a dead connection (closed, then re-established by the
 *   worker). A paused socket or a receiver still busy is not "no traffic".
 * - Flow control: each message is counted after the receiver has finished with it (FlowControl).
 *   Socket reads pause above `readHighWaterMarkBytes` of queued messages (a second bound when flow
 *   control is off).
 * - Unknown or unsupported messages: logged, counted, skipped (dcp-messages.ts).
 * - Rollback mitigation: data waits in the PersistenceGate until OBSERVE_SEQNO says persisted.
 * - Collection-aware sources: system events and SEQNO_ADVANCED take the stream to their seqno like
 *   items do; STREAM_END FilterEmpty marks the vbucket done (dcp-messages.ts tables).
 */
import { Opcode, streamEndReasonName, decodeObserveSeqnoResponse, decodeSnapshotMarker, encodeBufferAck, encodeDcpNoopResponse, encodeNoopRequest, encodeObserveSeqnoRequest, packetSize, type Packet } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { EventQueue } from './event-queue.js';
import { ConsumerError, asError } from './errors.js';
import { FlowControl } from './flow-control.js';
import { PersistenceGate } from './persistence-gate.js';
import { dataSeqno, messageKind, streamEndAction, type MessageKind, type SeqnoKind } from './dcp-messages.js';
import { VbStreams, coverItem, type Running, type StreamReply, type VbState, type VbStreamsDeps } from './vb-streams.js';
import type { Duplex } from 'node:stream';

type LoopEvent =
  | { readonly kind: 'packet'; readonly p: Packet; readonly size: number }
  | StreamReply
  | { readonly kind: 'wanted' }
  | { readonly kind: 'persisted'; readonly vb: number; readonly seqno: number };

export type SessionEnd = { readonly reason: 'stopped'; readonly progressed: boolean } | { readonly reason: 'lost' | 'failed'; readonly error: Error; readonly progressed: boolean };

export type SessionDeps = Omit<VbStreamsDeps, 'post'> & { readonly socket: Duplex };

export class DcpSession {
  readonly #d: SessionDeps;
  readonly #conn: KvConnection;
  readonly #streams: VbStreams;
  readonly #flow: FlowControl;
  readonly #gate: PersistenceGate | undefined;
  readonly #inbox: EventQueue<LoopEvent>;
  readonly #polling = new Set<number>();
  #paused = false;
  #busy = false;
  #processed = 0;
  #progressed = false;
  #lastActivity = -1;
  #pinging = false;
  #stopping = false;
  #failure: Error | undefined;
  #timers: NodeJS.Timeout[] = [];

  constructor(deps: SessionDeps) {
    this.#d = deps;
    this.#conn = deps.conn;
    const o = deps.options;
    this.#flow = new FlowControl(o.feedBufferSizeBytes, o.feedBufferAckThreshold);
    this.#gate = o.rollbackMitigation === false ? undefined : new PersistenceGate();
    this.#inbox = new EventQueue<LoopEvent>({
      highWaterMark: o.readHighWaterMarkBytes,
      lowWaterMark: Math.floor(o.readHighWaterMarkBytes / 2),
      sizeOf: (e) => (e.kind === 'packet' ? e.size : 0),
      onPause: () => {
        this.#paused = true;
        deps.socket.pause();
      },
      onResume: () => {
        this.#paused = false;
        if (this.#conn.state === 'open') deps.socket.resume();
      },
    });
    this.#streams = new VbStreams({ ...deps, post: (r) => this.#inbox.push(r) });
    this.#conn.onStatus((e) => {
      if (e.type === 'closed') this.#inbox.close(this.#failure ?? e.error ?? new ConsumerError('CONNECTION', `connection to ${deps.server} closed`));
    });
    if (this.#conn.state === 'closed') this.#inbox.close(new ConsumerError('CONNECTION', `connection to ${deps.server} closed`));
  }

  /** Bytes of messages read and not yet processed (what a slow receiver makes us hold). */
  get bufferedBytes(): number {
    return this.#inbox.bufferedBytes + (this.#gate?.heldBytes ?? 0);
  }

  /** KvConnection's onServerRequest: runs synchronously as each producer request is parsed. */
  accept(p: Packet): void {
    if (p.opcode === Opcode.DcpNoop && messageKind(p.magic, p.opcode) === 'noop') {
      this.#d.stats.totUPRNoop++;
      this.#conn.send(encodeDcpNoopResponse(p.opaque)).catch(() => {}); // a closed connection ends the loop anyway
      return;
    }
    this.#inbox.push({ kind: 'packet', p, size: packetSize(p) });
  }

  setWanted(vbs: ReadonlySet<number>): void {
    this.#streams.setWanted(vbs);
    this.#inbox.push({ kind: 'wanted' });
  }

  /** End the session: queued messages are dropped (not acknowledged, so they are re-sent later). */
  stop(): void {
    this.#stopping = true;
    this.#inbox.close(undefined, true);
    void this.#conn.close();
  }

  async run(wanted: ReadonlySet<number>): Promise<SessionEnd> {
    this.setWanted(wanted);
    this.#startTimers();
    try {
      // Drained synchronously while handlers complete synchronously (no promise per message);
      // the loop awaits only an empty queue or a receiver that returned a promise.
      for (;;) {
        if (this.#stopping) return { reason: 'stopped', progressed: this.#progressed };
        const ev = this.#inbox.shift();
        if (ev === undefined) {
          if (!this.#inbox.closed) {
            await this.#inbox.wait();
            continue;
          }
          if (this.#stopping) return { reason: 'stopped', progressed: this.#progressed };
          throw this.#inbox.error ?? new ConsumerError('CONNECTION', 'connection ended');
        }
        this.#busy = true;
        const r = this.#handle(ev);
        if (r !== undefined) await r;
        this.#busy = false;
        this.#processed++;
      }
    } catch (e) {
      if (this.#stopping) return { reason: 'stopped', progressed: this.#progressed };
      const err = asError(e);
      if (this.#conn.state === 'closed' && this.#failure === undefined && !(err instanceof ConsumerError && err.kind === 'RECEIVER')) return this.#lost(err);
      this.#d.stats.totWorkerHandleRecvErr++;
      return { reason: 'failed', error: this.#failure ?? err, progressed: this.#progressed };
    } finally {
      this.#busy = false;
      for (const t of this.#timers) clearInterval(t);
      this.#timers = [];
      this.#gate?.clear();
      await this.#conn.close();
      this.#streams.dropAll();
    }
  }

  #lost(error: Error): SessionEnd {
    this.#d.stats.totWorkerConnLost++;
    return { reason: 'lost', error: this.#failure ?? error, progressed: this.#progressed };
  }

  #handle(ev: LoopEvent): void | Promise<void> {
    switch (ev.kind) {
      case 'packet':
        return this.#onPacket(ev.p, ev.size);
      case 'stream-res':
      case 'close-res':
        return this.#streams.onReply(ev).then(() => this.#streams.reconcile());
      case 'wanted':
        return this.#streams.reconcile();
      case 'persisted':
        return this.#onPersisted(ev.vb, ev.seqno);
    }
  }

  #onPacket(p: Packet, size: number): void | Promise<void> {
    this.#d.stats.totWorkerReceive++;
    const kind = messageKind(p.magic, p.opcode, this.#d.calls.names !== undefined);
    if (kind === undefined || kind === 'unsupported' || kind === 'noop') return this.#skip(p, kind, size);
    if (this.#gate !== undefined) return this.#gated(p, kind, size);
    return this.#process(p, kind, size);
  }

  async #gated(p: Packet, kind: Exclude<MessageKind, 'noop' | 'unsupported'>, size: number): Promise<void> {
    const st = await this.#streams.streamFor(p);
    const seqKind = kind === 'data' || kind === 'system-event' || kind === 'seqno-advanced';
    if (st?.kind === 'running' && (seqKind || this.#gate!.isHolding(p.vbucket))) {
      this.#d.stats.totPersistenceHeld++;
      this.#gate!.hold(p.vbucket, { packet: p, size, seqno: seqKind ? dataSeqno(p.extras) ?? 0 : undefined });
      return;
    }
    return this.#process(p, kind, size);
  }

  #process(p: Packet, kind: Exclude<MessageKind, 'noop' | 'unsupported'>, size: number): void | Promise<void> {
    this.#d.stats.totWorkerHandleRecv++;
    const st = this.#streams.current(p);
    if (st === 'pending') return this.#streams.streamFor(p).then((s) => this.#processIn(s, p, kind, size));
    return this.#processIn(st, p, kind, size);
  }

  #processIn(st: VbState | undefined, p: Packet, kind: Exclude<MessageKind, 'noop' | 'unsupported'>, size: number): void | Promise<void> {
    const { stats } = this.#d;
    let r: void | Promise<void> = undefined;
    if (st === undefined || (st.kind !== 'running' && !(kind === 'stream-end' && st.kind === 'closing'))) {
      // a message of a stream we closed, replaced or never had: drop it, but still acknowledge it
      stats.totUPRStaleDrop++;
      if (kind === 'data') stats.totUPRDataChangeStateErr++;
      else if (kind === 'marker') stats.totUPRSnapshotStateErr++;
      else if (kind === 'stream-end') stats.totUPRStreamEndStateErr++;
    } else if (kind === 'data' || kind === 'system-event' || kind === 'seqno-advanced') r = this.#onData(st as Running, p, kind);
    else if (kind === 'marker') r = this.#onMarker(st as Running, p);
    else r = this.#onStreamEnd(p);
    if (r !== undefined) return r.then(() => this.#processed1(size));
    this.#processed1(size);
  }

  #processed1(size: number): void {
    this.#d.stats.totWorkerHandleRecvOk++;
    this.#ack(size);
  }

  /** An item, a system event or a seqno-advanced: each takes the stream to its seqno. */
  #onData(st: Running, p: Packet, kind: SeqnoKind): void | Promise<void> {
    const { stats } = this.#d;
    if (kind === 'data') stats.totUPRDataChange++;
    const seq = dataSeqno(p.extras); // by_seqno leads the extras of all three (system_event.md, seqno-advanced.md)
    if (seq === undefined) {
      stats.totUPRMalformed++;
      throw new ConsumerError('PROTOCOL', `corrupted data message for vbucket ${p.vbucket}`, { vbucket: p.vbucket, opcode: p.opcode });
    }
    if (coverItem(st, seq)) stats.totUPROutsideSnapshot++;
    if (!st.snapSaved) {
      // cbdatasource (following ep-engine): persist the snapshot range just before its first
      // item, never at the marker, so a saved range never starts above the receiver's lastSeq.
      const meta = { ...st.meta, snapStart: st.snapStart, snapEnd: st.snapEnd };
      return this.#d.calls.setMeta(p.vbucket, meta).then(() => {
        st.meta = meta;
        st.snapSaved = true;
        return this.#deliver(st, p, seq, kind);
      });
    }
    return this.#deliver(st, p, seq, kind);
  }

  #deliver(st: Running, p: Packet, seq: number, kind: SeqnoKind): void | Promise<void> {
    const { stats } = this.#d;
    if (kind !== 'data') {
      const r = kind === 'system-event' ? this.#d.calls.systemEvent(p.vbucket, seq, p) : this.#d.calls.seqnoAdvanced(p.vbucket, seq);
      return r === undefined ? this.#delivered(st, seq, false) : r.then(() => this.#delivered(st, seq, false));
    }
    const update = p.opcode === Opcode.DcpMutation;
    if (update) stats.totUPRDataChangeMutation++;
    else if (p.opcode === Opcode.DcpDeletion) stats.totUPRDataChangeDeletion++;
    else stats.totUPRDataChangeExpiration++;
    const r = this.#d.calls.data(p.vbucket, seq, p, update);
    if (r !== undefined) return r.then(() => this.#delivered(st, seq));
    this.#delivered(st, seq);
  }

  #delivered(st: Running, seq: number, item = true): void {
    st.lastSeq = seq;
    this.#progressed = true;
    if (item) this.#d.stats.totUPRDataChangeOk++;
  }

  async #onMarker(st: Running, p: Packet): Promise<void> {
    const { stats, calls } = this.#d;
    stats.totUPRSnapshot++;
    let m;
    try {
      m = decodeSnapshotMarker(p);
    } catch (e) {
      stats.totUPRMalformed++;
      throw new ConsumerError('PROTOCOL', `bad snapshot marker for vbucket ${p.vbucket}`, { vbucket: p.vbucket }, { cause: e });
    }
    st.snapStart = m.startSeqno;
    st.snapEnd = m.endSeqno;
    st.snapSaved = false;
    stats.totUPRSnapshotStart++;
    try {
      await calls.run('snapshotStart', p.vbucket, () => calls.receiver.snapshotStart(p.vbucket, m.startSeqno, m.endSeqno, m.flags));
    } catch (e) {
      stats.totUPRSnapshotStartErr++;
      throw e;
    }
    this.#progressed = true;
    stats.totUPRSnapshotOk++;
  }

  async #onStreamEnd(p: Packet): Promise<void> {
    const { stats, plan, status, server } = this.#d;
    stats.totUPRStreamEnd++;
    if (p.extras.length < 4) {
      stats.totUPRMalformed++;
      throw new ConsumerError('PROTOCOL', `bad stream end for vbucket ${p.vbucket}`, { vbucket: p.vbucket });
    }
    const vb = p.vbucket;
    const st = this.#streams.states.get(vb);
    this.#streams.drop(vb);
    const reason = p.extras.readUInt32BE(0);
    const action = streamEndAction(reason);
    status.emit({ type: 'stream-end', server, vbucket: vb, reason: streamEndReasonName(reason) });
    if (action === 'end' && st?.kind === 'running' && Number.isFinite(st.endSeqno)) {
      stats.totUPRStreamEndDone++;
      plan.markDone(vb);
    } else if (action === 'filter-empty') {
      // every collection of the filter was dropped: the stream can never match again
      stats.totUPRStreamEndFilterEmpty++;
      plan.markDone(vb);
    } else if (action === 'closed' || st?.kind === 'closing') {
      stats.totUPRStreamEndClosed++;
    } else if (action === 'rerequest') {
      stats.totUPRStreamEndRollback++;
      this.#streams.retryLater(vb, st?.kind === 'running' && st.lastSeq > st.startSeqno);
    } else {
      stats.totUPRStreamEndKick++;
      this.#streams.park(vb, 'stream-end');
    }
    await this.#streams.reconcile();
  }

  #skip(p: Packet, kind: MessageKind | undefined, size: number): void {
    const { stats, options, status, server } = this.#d;
    if (kind === undefined) {
      stats.totUPRUnknown++;
      options.logger.warn({ server, opcode: p.opcode, magic: p.magic, vbucket: p.vbucket, bytes: size }, 'skipping unknown DCP message');
      status.emit({ type: 'unknown-message', server, opcode: p.opcode, magic: p.magic });
    } else {
      stats.totUPRUnsupported++;
      options.logger.debug({ server, opcode: p.opcode, vbucket: p.vbucket }, 'skipping DCP message of a feature not enabled');
    }
    // the producer counts every stream message it sends (except its noops) against the window
    if (p.magic === 0x80 || p.magic === 0x08) this.#ack(size);
  }

  #ack(size: number): void {
    const n = this.#flow.processed(size);
    if (n === 0) return;
    this.#d.stats.totUPRBufferAck++;
    this.#d.stats.totUPRBufferAckBytes += n;
    this.#conn.send(encodeBufferAck(n)).catch(() => {}); // a closed connection ends the loop anyway
  }

  async #onPersisted(vb: number, seqno: number): Promise<void> {
    for (const m of this.#gate?.release(vb, seqno) ?? []) {
      this.#d.stats.totPersistenceReleased++;
      const kind = messageKind(m.packet.magic, m.packet.opcode, this.#d.calls.names !== undefined);
      if (kind !== undefined && kind !== 'noop' && kind !== 'unsupported') await this.#process(m.packet, kind, m.size);
    }
  }

  #startTimers(): void {
    const o = this.#d.options;
    this.#timers.push(setInterval(() => this.#ping(), o.pingTimeoutMS).unref());
    if (o.rollbackMitigation !== false) this.#timers.push(setInterval(() => this.#poll(), o.rollbackMitigation.pollIntervalMs).unref());
  }

  /** cbdatasource's ping (dcp.md §4.7) plus a deadline on the answer. */
  #ping(): void {
    const { stats, status, server, options } = this.#d;
    stats.totPingTimeout++;
    const activity = this.#conn.stats.bytesRead + this.#conn.stats.bytesWritten + this.#processed;
    const idle = activity === this.#lastActivity && !this.#busy && !this.#paused;
    this.#lastActivity = activity;
    if (!idle || this.#pinging || this.#conn.state !== 'open') return;
    this.#pinging = true;
    stats.totPingReq++;
    this.#conn.request(encodeNoopRequest(), { timeoutMs: options.pingTimeoutMS }).then(
      () => {
        this.#pinging = false;
        stats.totPingReqDone++;
      },
      () => {
        this.#pinging = false;
        if (this.#conn.state !== 'open' || this.#stopping) return;
        stats.totWorkerDeadConnection++;
        status.emit({ type: 'dead-connection', server });
        this.#failure = new ConsumerError('DEAD_CONNECTION', `no answer from ${server} within ${options.pingTimeoutMS} ms`, { server });
        void this.#conn.close();
      },
    );
  }

  #poll(): void {
    const { stats } = this.#d;
    for (const vb of this.#gate?.vbuckets() ?? []) {
      const st = this.#streams.states.get(vb);
      if (this.#polling.has(vb) || st?.kind !== 'running') continue;
      this.#polling.add(vb);
      stats.totPersistencePoll++;
      const vbUuid = st.meta.failOverLog[0]?.[0] ?? 0;
      this.#conn.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid })).then(
        (res) => {
          this.#polling.delete(vb);
          if (res.status !== 0) {
            stats.totPersistencePollErr++;
            return;
          }
          this.#inbox.push({ kind: 'persisted', vb, seqno: decodeObserveSeqnoResponse(res).lastPersistedSeqno });
        },
        () => {
          this.#polling.delete(vb);
          stats.totPersistencePollErr++;
        },
      );
    }
  }
}
