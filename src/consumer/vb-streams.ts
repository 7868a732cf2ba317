/**
 * The vbucket streams of one DCP connection: which are requested, running or closing, and the
 * transitions between them (cbdatasource's `currVBuckets` states "", "requested", "running",
 * "closing", dcp.md §4.5-§4.8, as a discriminated union instead of strings).
 *
 * - request: read the receiver's metadata, resolve `from`/`to` 'now' if needed, send STREAM_REQ
 *   with a fresh opaque (every message of the stream carries it, so a stale message of an older
 *   stream of the same vbucket is recognised and dropped);
 * - response Success: hand the new failover log to the receiver (streamStarted, setMetaData),
 *   running; a stream no longer wanted by then is closed at once;
 *   Rollback / Erange: the receiver rolls back (rollbackEx with the uuid we keep), the metadata is
 *   normalised (rollbackMetaData), and the vbucket is requested again;
 *   NotMyVbucket: a map change (status 'not-my-vbucket'), parked until the next map;
 *   anything else (Eaccess, Enomem...): reported to the receiver's onError (and a status 'error')
 *   as STREAM_REFUSED, parked until the next map, and a map refresh kicked; the refresh loop
 *   paces repeated refusals with the cluster-manager backoff;
 * - retryLater: a stream ended Slow/Rollback is asked for again after a backoff (stream-retry.ts).
 * - close: CLOSE_STREAM for a running stream no longer wanted here; done on its reply, or on
 *   STREAM_END(Closed) when the producer agreed to send one.
 * Replies are turned into loop events by the session, so all transitions run on its one loop.
 */
import { SEQNO_INFINITY, Status, statusName, decodeStreamRequestResponse, encodeCloseStreamRequest, encodeStreamRequest } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { StreamRetry } from './stream-retry.js';
import { ConsumerError } from './errors.js';
import { failoverPairs, isConsistent, resumePosition, rollbackMetaData, rollbackUuid, type VBucketMetaData } from './metadata.js';
import { streamReqAction } from './dcp-messages.js';
import { activeHighSeqnos, failoverLogOf } from './stream-setup.js';
import type { ReceiverCalls, StoredPosition } from './receiver-calls.js';
import type { ResolvedDataSourceOptions } from './options.js';
import type { StatusEmitter } from './status.js';
import type { BucketDataSourceStats } from './stats.js';
import type { StreamPlan } from './stream-plan.js';
import type { ResolvedFilter } from './collections.js';

export type VbState =
  | { readonly kind: 'requested'; readonly opaque: number; readonly response: Promise<Packet>; readonly meta: VBucketMetaData; readonly startSeqno: number; readonly endSeqno: number }
  | {
      readonly kind: 'running';
      readonly opaque: number;
      meta: VBucketMetaData;
      snapStart: number;
      snapEnd: number;
      snapSaved: boolean;
      lastSeq: number;
      /** Where the stream was requested from: lastSeq above it means the stream made progress. */
      readonly startSeqno: number;
      readonly endSeqno: number;
    }
  | { readonly kind: 'closing'; readonly opaque: number };

export type Running = Extract<VbState, { kind: 'running' }>;

/**
 * An item outside the announced snapshot (a producer bug): widen the range over it, so the
 * position saved before it stays consistent. Resuming from it with the announced range would be
 * refused with Erange (kv_engine; rule 6 of src/dcp/stream-request.ts), which costs a rollback to
 * 0 (cbdatasource). Returns true when it had to.
 */
export function coverItem(st: Running, seq: number): boolean {
  if (seq <= st.snapEnd && seq >= st.snapStart) return false;
  st.snapStart = Math.min(st.snapStart, seq);
  st.snapEnd = Math.max(st.snapEnd, seq);
  st.snapSaved = false;
  return true;
}

export type StreamReply = { readonly kind: 'stream-res' | 'close-res'; readonly vb: number; readonly opaque: number; readonly res?: Packet; readonly error?: Error };

export interface VbStreamsDeps {
  readonly server: string;
  readonly conn: KvConnection;
  readonly options: ResolvedDataSourceOptions;
  readonly stats: BucketDataSourceStats;
  readonly calls: ReceiverCalls;
  readonly status: StatusEmitter;
  readonly plan: StreamPlan;
  readonly kick: (reason: string) => void;
  /** Deliver a reply (or a request to reconcile) to the session's loop. */
  readonly post: (r: StreamReply | { readonly kind: 'wanted' }) => void;
  readonly streamEndOnClose: boolean;
  /** A collection-aware source's filter (stream-request value, ids for "now"); else undefined. */
  readonly filter: ResolvedFilter | undefined;
}

/** Stream opaques live above the connection's own allocator (which counts up from 1). */
const FIRST_STREAM_OPAQUE = 0x80000000;

export class VbStreams {
  readonly states = new Map<number, VbState>();
  /** Vbuckets that failed here; not retried until the next map (setWanted). */
  readonly parked = new Set<number>();
  #wanted: ReadonlySet<number> = new Set();
  /** Vbuckets that may need a stream request: only these are looked at by reconcile. */
  #candidates = new Set<number>();
  /** The wanted set changed: running streams may need closing. */
  #wantedChanged = false;
  #nextOpaque = FIRST_STREAM_OPAQUE;
  readonly #retry: StreamRetry;
  readonly #d: VbStreamsDeps;

  constructor(deps: VbStreamsDeps) {
    this.#d = deps;
    this.#retry = new StreamRetry(deps.options, (vb) => {
      this.#candidates.add(vb);
      deps.post({ kind: 'wanted' });
    });
  }

  /** Forget a vbucket's stream and let another connection have it. */
  drop(vb: number): void {
    this.states.delete(vb);
    this.#candidates.add(vb);
    this.#d.plan.release(vb, this);
  }

  /** The connection is gone: every stream with it. */
  dropAll(): void {
    this.#retry.clear();
    this.states.clear();
    this.#d.plan.releaseAll(this);
  }

  setWanted(vbs: ReadonlySet<number>): void {
    this.#wanted = vbs;
    this.#candidates = new Set(vbs);
    this.#wantedChanged = true;
    this.parked.clear();
  }

  /**
   * The stream a message belongs to, synchronously: its opaque must match the current stream of
   * its vbucket. 'pending' when the stream's reply is still on its way (use `streamFor`).
   */
  current(p: Packet): VbState | undefined | 'pending' {
    const st = this.states.get(p.vbucket);
    if (st === undefined || st.opaque !== p.opaque) return undefined;
    return st.kind === 'requested' ? 'pending' : st;
  }

  /** The stream a message belongs to: its opaque must match the current stream of its vbucket. */
  async streamFor(p: Packet): Promise<VbState | undefined> {
    let st = this.states.get(p.vbucket);
    if (st?.kind === 'requested' && st.opaque === p.opaque) {
      // The reply precedes the stream's first message on the wire, but reaches us through a
      // promise: take it now so the message finds its stream running.
      const res = await st.response;
      await this.onReply({ kind: 'stream-res', vb: p.vbucket, opaque: p.opaque, res });
      st = this.states.get(p.vbucket);
    }
    return st !== undefined && st.opaque === p.opaque ? st : undefined;
  }

  /** Close streams no longer wanted, request wanted ones that are idle. */
  async reconcile(): Promise<void> {
    if (this.#wantedChanged) {
      this.#wantedChanged = false;
      for (const [vb, st] of this.states) if (st.kind === 'running' && !this.#wanted.has(vb)) this.#close(vb, st);
    }
    if (this.#candidates.size === 0) return;
    const todo: number[] = [];
    const { plan } = this.#d;
    for (const vb of this.#candidates) {
      if (!this.#wanted.has(vb) || this.states.has(vb) || this.parked.has(vb) || this.#retry.has(vb) || plan.isDone(vb)) {
        this.#candidates.delete(vb);
      } else if (plan.claim(vb, this)) {
        this.#candidates.delete(vb);
        todo.push(vb);
      } // else another connection still holds it: stay a candidate until it is released
    }
    if (todo.length > 0) await this.#requestMany(todo);
  }

  park(vb: number, reason: string): void {
    this.parked.add(vb);
    if (!this.states.has(vb)) this.#d.plan.release(vb, this);
    this.#d.kick(reason);
  }

  /** A stream the producer ended Slow/Rollback: ask again after its backoff (stream-retry.ts). */
  retryLater(vb: number, progressed: boolean): void {
    const { delayMs, attempt } = this.#retry.schedule(vb, progressed);
    this.#d.stats.totUPRStreamEndRetrySleep++;
    this.#d.status.emit({ type: 'stream-retry', server: this.#d.server, vbucket: vb, delayMs, attempt });
  }

  async onReply(r: StreamReply): Promise<void> {
    const st = this.states.get(r.vb);
    if (r.kind === 'stream-res') {
      if (st?.kind !== 'requested' || st.opaque !== r.opaque) return; // handled already
      this.states.delete(r.vb); // the claim stays: a rollback re-requests the vbucket here
      this.#candidates.add(r.vb);
      this.#d.stats.totUPRStreamReqRes++;
      if (r.error || !r.res) throw r.error ?? new Error('no reply');
      await this.#onStreamRes(r.vb, st, r.res);
      if (!this.states.has(r.vb) && !this.#wanted.has(r.vb)) this.#d.plan.release(r.vb, this);
    } else {
      if (st?.kind !== 'closing' || st.opaque !== r.opaque) return;
      this.#d.stats.totUPRCloseStreamRes++;
      if (r.error || !r.res) throw r.error ?? new Error('no reply');
      if (r.res.status === Status.Success) this.#d.stats.totUPRCloseStreamResOk++;
      else this.#d.stats.totUPRCloseStreamResErr++; // KeyEnoent: the stream had ended already
      if (r.res.status !== Status.Success || !this.#d.streamEndOnClose) this.drop(r.vb);
    }
  }

  async #onStreamRes(vb: number, st: Extract<VbState, { kind: 'requested' }>, res: Packet): Promise<void> {
    const { stats } = this.#d;
    const action = streamReqAction(res.status);
    if (action === 'ok') {
      stats.totUPRStreamReqResSuccess++;
      let result;
      try {
        result = decodeStreamRequestResponse(res);
      } catch (e) {
        stats.totUPRStreamReqResFLogErr++;
        throw new ConsumerError('PROTOCOL', `bad failover log for vbucket ${vb}`, { vbucket: vb }, { cause: e });
      }
      const meta = { ...st.meta, failOverLog: result.kind === 'ok' ? failoverPairs(result.failoverLog) : st.meta.failOverLog };
      const started = this.#d.calls.streamStarted(vb, meta.failOverLog);
      if (started !== undefined) await started;
      await this.#d.calls.setMeta(vb, meta);
      this.#d.plan.claim(vb, this);
      this.states.set(vb, { kind: 'running', opaque: st.opaque, meta, snapStart: meta.snapStart, snapEnd: meta.snapEnd, snapSaved: true, lastSeq: st.startSeqno, startSeqno: st.startSeqno, endSeqno: st.endSeqno });
      // No longer wanted while its request was in flight: the next reconcile closes it.
      if (!this.#wanted.has(vb)) this.#wantedChanged = true;
      stats.totUPRStreamReqResSuccessOk++;
      this.#d.status.emit({ type: 'stream-started', server: this.#d.server, vbucket: vb });
      return;
    }
    stats.totUPRStreamReqResFail++;
    if (action === 'rollback' || action === 'rollback-to-zero') {
      let seq = 0;
      if (action === 'rollback') {
        stats.totUPRStreamReqResRollback++;
        const r = decodeStreamRequestResponse(res);
        if (r.kind !== 'rollback') throw new ConsumerError('PROTOCOL', 'bad rollback reply', { vbucket: vb });
        seq = r.rollbackSeqno;
        // kv_engine's FailoverTable::needsRollback (src/engine/failover-log.ts) rolls a request back
        // below its start, never one from 0 without StrictVbUuid (never set here); anything else
        // cannot change the next request and would loop at once
        if (seq > st.startSeqno || st.startSeqno === 0) throw new ConsumerError('PROTOCOL', `rollback of vbucket ${vb} to ${seq}, requested from ${st.startSeqno}`, { vbucket: vb });
      } else {
        stats.totUPRStreamReqResFailERange++;
        // from 0 with snapshot [0, 0] (where a rollback to 0 leads) no check of the producer can fail
        // (src/dcp/stream-request.ts rules 5, 6, 10): rolling back again could only loop
        if (st.startSeqno === 0 && st.meta.snapStart === 0 && st.meta.snapEnd === 0) throw new ConsumerError('PROTOCOL', `Erange for vbucket ${vb} requested from 0`, { vbucket: vb });
      }
      await this.#rollback(vb, seq, st.meta);
      stats.totUPRStreamReqResWantAfterRollback++;
      return; // idle and wanted: the next reconcile requests it again
    }
    if (res.status === Status.UnknownCollection || res.status === Status.UnknownScope) {
      // the manifest changed since the names were resolved: a new connection resolves them again
      // (and fails for good with UNKNOWN_COLLECTION / UNKNOWN_SCOPE if they are gone)
      stats.totUPRStreamReqResFailUnknownCollection++;
      throw new ConsumerError('MANIFEST_CHANGED', `stream request for vbucket ${vb} refused: status 0x${res.status.toString(16)}`, { vbucket: vb, status: res.status });
    }
    if (res.status === Status.NotMyVbucket) {
      // A map change in progress (a vbucket move), not a failure: cbdatasource only refreshes
      // the map, and so does this source, telling the status listeners but not onError.
      stats.totUPRStreamReqResFailNotMyVBucket++;
      this.#d.status.emit({ type: 'not-my-vbucket', server: this.#d.server, vbucket: vb });
      stats.totUPRStreamReqResKick++;
      this.park(vb, 'stream-req-error');
      return;
    }
    if (res.status === Status.Enomem) stats.totUPRStreamReqResFailENoMem++;
    else stats.totUPRStreamReqResFailOther++;
    // Advisory, like every failure the source heals (the receiver may close() on it): a refusal
    // that persists (Eaccess: no DcpStream privilege) would otherwise retry in silence forever.
    const name = statusName(res.status);
    const err = new ConsumerError('STREAM_REFUSED', `stream request for vbucket ${vb} on ${this.#d.server} refused: ${name}`, { vbucket: vb, server: this.#d.server, status: res.status, statusName: name });
    this.#d.calls.onError(err);
    this.#d.status.emit({ type: 'error', error: err });
    stats.totUPRStreamReqResKick++;
    this.park(vb, 'stream-req-error');
  }

  async #rollback(vb: number, seq: number, meta: VBucketMetaData): Promise<void> {
    const { stats, calls } = this.#d;
    stats.totUPRStreamReqResRollbackStart++;
    const vbUuid = rollbackUuid(meta, seq);
    try {
      await calls.rollback(vb, vbUuid, seq);
    } catch (e) {
      stats.totUPRStreamReqResRollbackErr++;
      throw e;
    }
    this.#d.status.emit({ type: 'rollback', vbucket: vb, vbUuid, seqno: seq });
    // Normalise what the receiver left (java-dcp-client rollbackToPosition), so a receiver that
    // rolled its data back but kept its metadata does not get Erange / another rollback.
    const after = await calls.getMeta(vb);
    if (after.meta === undefined) return;
    const pos = resumePosition(after.meta, after.lastSeq);
    if (pos.startSeqno > seq) {
      calls.onError(new ConsumerError('RECEIVER', `receiver kept lastSeq ${pos.startSeqno} after rollback of vbucket ${vb} to ${seq}`, { vbucket: vb }));
      this.park(vb, 'rollback-not-applied');
      return;
    }
    const m = after.meta;
    if (isConsistent(pos) && m.snapEnd <= seq && m.failOverLog.every(([, s]) => s <= pos.startSeqno)) return;
    stats.totRollbackMetaDataFix++;
    await calls.setMeta(vb, rollbackMetaData(m, pos.startSeqno));
  }

  #close(vb: number, st: Running): void {
    const opaque = this.#alloc();
    this.#d.stats.totUPRCloseStream++;
    this.states.set(vb, { kind: 'closing', opaque: st.opaque });
    this.#d.conn.request(encodeCloseStreamRequest({ vbucket: vb }), { opaque, timeoutMs: 0 }).then(
      (res) => this.#d.post({ kind: 'close-res', vb, opaque: st.opaque, res }),
      (error: Error) => this.#d.post({ kind: 'close-res', vb, opaque: st.opaque, error }),
    );
  }

  #alloc(): number {
    const o = this.#nextOpaque;
    this.#nextOpaque = o >= 0xffffffff ? FIRST_STREAM_OPAQUE : o + 1;
    return o;
  }

  async #requestMany(vbs: readonly number[]): Promise<void> {
    const { options, plan, stats, calls, conn } = this.#d;
    const stored = new Map<number, StoredPosition>();
    for (const vb of vbs) {
      stats.totUPRStreamReqWant++;
      stored.set(vb, await calls.getMeta(vb));
    }
    const fresh = (p: StoredPosition): boolean => p.meta === undefined && p.lastSeq === 0;
    const needHigh = vbs.some((vb) => plan.endSeqno(vb) === undefined || (options.from === 'now' && fresh(stored.get(vb)!)));
    let highs: Map<number, number> | undefined;
    if (needHigh) {
      try {
        highs = await activeHighSeqnos(conn, this.#d.filter?.collectionIds);
      } catch (e) {
        stats.totToNowResolveErr++;
        throw e;
      }
    }
    for (const vb of vbs) {
      let { meta, lastSeq } = stored.get(vb)!;
      if (needHigh && plan.endSeqno(vb) === undefined) {
        const high = highs!.get(vb);
        if (high === undefined) {
          this.park(vb, 'not-active-here'); // the map is stale: this node has no active copy
          continue;
        }
        plan.learnEnd(vb, high);
        stats.totToNowResolve++;
      }
      if (options.from === 'now' && meta === undefined && lastSeq === 0) {
        const high = highs!.get(vb);
        if (high === undefined) {
          this.park(vb, 'not-active-here');
          continue;
        }
        try {
          const log = await failoverLogOf(conn, vb);
          meta = { seqStart: high, seqEnd: 0, snapStart: high, snapEnd: high, failOverLog: failoverPairs(log) };
        } catch (e) {
          stats.totFromNowResolveErr++;
          throw e;
        }
        await calls.setMeta(vb, meta);
        lastSeq = high;
        stats.totFromNowResolve++;
      }
      const endSeqno = plan.endSeqno(vb) ?? SEQNO_INFINITY;
      const pos = resumePosition(meta, lastSeq);
      if (endSeqno !== SEQNO_INFINITY && pos.startSeqno >= endSeqno) {
        stats.totUPRStreamReqSkippedDone++;
        plan.release(vb, this);
        plan.markDone(vb);
        continue;
      }
      this.#send(vb, pos, endSeqno, meta ?? { seqStart: 0, seqEnd: 0, snapStart: 0, snapEnd: 0, failOverLog: [] });
    }
  }

  #send(vb: number, pos: ReturnType<typeof resumePosition>, endSeqno: number, meta: VBucketMetaData): void {
    const opaque = this.#alloc();
    const value = this.#d.filter?.streamValue; // the JSON filter (stream-request-value.md)
    const response = this.#d.conn.request(encodeStreamRequest({ vbucket: vb, endSeqno, ...pos, ...(value ? { value } : {}) }), { opaque, timeoutMs: 0 });
    this.states.set(vb, { kind: 'requested', opaque, response, meta, startSeqno: pos.startSeqno, endSeqno });
    response.then(
      (res) => this.#d.post({ kind: 'stream-res', vb, opaque, res }),
      (error: Error) => this.#d.post({ kind: 'stream-res', vb, opaque, error }),
    );
    this.#d.stats.totUPRStreamReq++;
    this.#d.status.emit({ type: 'stream-requested', server: this.#d.server, vbucket: vb, startSeqno: pos.startSeqno, endSeqno, vbUuid: pos.vbUuid });
  }
}
