/**
 * The data source's calls into the Receiver, with the counters cbdatasource keeps around them
 * (totGetVBucketMetaData*, totSetVBucketMetaData*, dcp.md §4.1) and the metadata JSON codec.
 * A receiver that throws makes the call reject with a CONSUMER_RECEIVER ConsumerError (its error as
 * `cause`), which the session treats as fatal for the connection, as cbdatasource does.
 *
 * `settle` awaits only real promises: most receivers answer synchronously, and skipping the extra
 * microtask per item is measurable at hundreds of thousands of items per second.
 */
import { decodeLeb128, decodeSystemEvent, decodeSystemEventData, type Packet } from '../codec/index.js';
import type { CollectionNames } from './collections.js';
import { ConsumerError } from './errors.js';
import { decodeMetaData, encodeMetaData, type FailoverPair, type VBucketMetaData } from './metadata.js';
import type { Awaitable, Receiver } from './receiver.js';
import type { BucketDataSourceStats } from './stats.js';

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export interface StoredPosition {
  readonly meta: VBucketMetaData | undefined;
  readonly lastSeq: number;
}

function receiverError(what: string, vb: number, e: unknown): ConsumerError {
  return new ConsumerError('RECEIVER', `receiver ${what} failed for vbucket ${vb}: ${e instanceof Error ? e.message : String(e)}`, { vbucket: vb }, { cause: e });
}

export class ReceiverCalls {
  /**
   * `names`: set for a collection-aware source (keys carry their collection id, system events
   * are learnt before the receiver sees them); undefined for a legacy one.
   */
  constructor(
    readonly receiver: Receiver,
    readonly stats: BucketDataSourceStats,
    readonly names?: CollectionNames,
  ) {}

  /** Run a receiver method; resolves when it (and any promise it returned) is done. */
  async run(what: string, vb: number, f: () => Awaitable<unknown>): Promise<void> {
    try {
      const r = f();
      if (isThenable(r)) await r;
    } catch (e) {
      throw receiverError(what, vb, e);
    }
  }

  onError(err: Error): void {
    try {
      this.receiver.onError(err);
    } catch (e) {
      process.emitWarning(`Receiver.onError threw: ${String(e)}`);
    }
  }

  async getMeta(vb: number): Promise<StoredPosition> {
    this.stats.totGetVBucketMetaData++;
    let res;
    try {
      const r = this.receiver.getMetaData(vb);
      res = isThenable(r) ? await r : r;
    } catch (e) {
      this.stats.totGetVBucketMetaDataErr++;
      throw receiverError('getMetaData', vb, e);
    }
    let meta: VBucketMetaData | undefined;
    try {
      meta = decodeMetaData(res.value);
    } catch (e) {
      this.stats.totGetVBucketMetaDataUnmarshalErr++;
      throw new ConsumerError('RECEIVER', `metadata of vbucket ${vb} does not parse: ${(e as Error).message}`, { vbucket: vb }, { cause: e });
    }
    this.stats.totGetVBucketMetaDataOk++;
    return { meta, lastSeq: res.lastSeq };
  }

  async setMeta(vb: number, meta: VBucketMetaData): Promise<void> {
    this.stats.totSetVBucketMetaData++;
    try {
      const r = this.receiver.setMetaData(vb, encodeMetaData(meta));
      if (isThenable(r)) await r;
    } catch (e) {
      this.stats.totSetVBucketMetaDataErr++;
      throw receiverError('setMetaData', vb, e);
    }
    this.stats.totSetVBucketMetaDataOk++;
  }

  /**
   * dataUpdate / dataDelete; returns a promise only when the receiver did. (No closure is created
   * on the synchronous path: this runs once per item.)
   */
  data(vb: number, seq: number, p: Packet, update: boolean): void | Promise<void> {
    let key = p.key;
    let cid = 0;
    if (this.names !== undefined) {
      // kv docs/dcp/documentation/commands/mutation.md "Collections Enabled": LEB128 id, then key
      // (a malformed prefix is a protocol error of the connection, not the receiver's)
      const { value, length } = decodeLeb128(p.key);
      cid = value;
      key = p.key.subarray(length);
    }
    let r: unknown;
    try {
      r = update ? this.receiver.dataUpdate(vb, key, seq, p, cid) : this.receiver.dataDelete(vb, key, seq, p, cid);
    } catch (e) {
      throw this.#dataError(vb, update, e);
    }
    if (isThenable(r)) {
      return Promise.resolve(r).then(
        () => undefined,
        (e: unknown) => {
          throw this.#dataError(vb, update, e);
        },
      );
    }
  }

  #dataError(vb: number, update: boolean, e: unknown): ConsumerError {
    this.stats.totUPRDataChangeErr++;
    return receiverError(update ? 'dataUpdate' : 'dataDelete', vb, e);
  }

  /** A system event: learn its names, then Receiver.systemEvent when the receiver has it. */
  systemEvent(vb: number, seq: number, p: Packet): void | Promise<void> {
    this.stats.totUPRSystemEvent++;
    let data;
    try {
      data = decodeSystemEventData(decodeSystemEvent(p), p);
    } catch (e) {
      this.stats.totUPRMalformed++;
      throw new ConsumerError('PROTOCOL', `bad system event for vbucket ${vb}`, { vbucket: vb }, { cause: e });
    }
    this.names?.learnEvent(data);
    const r = this.receiver;
    if (r.systemEvent === undefined) return;
    return this.run('systemEvent', vb, () => r.systemEvent!(vb, seq, data, p));
  }

  seqnoAdvanced(vb: number, seq: number): void | Promise<void> {
    this.stats.totUPRSeqnoAdvanced++;
    const r = this.receiver;
    if (r.seqnoAdvanced === undefined) return;
    return this.run('seqnoAdvanced', vb, () => r.seqnoAdvanced!(vb, seq));
  }

  /** Receiver.streamStarted when the receiver has it (no promise otherwise). */
  streamStarted(vb: number, log: readonly FailoverPair[]): void | Promise<void> {
    const r = this.receiver;
    if (r.streamStarted === undefined) return;
    return this.run('streamStarted', vb, () => r.streamStarted!(vb, log));
  }

  async rollback(vb: number, vbUuid: number, seq: number): Promise<void> {
    const r = this.receiver;
    await this.run('rollback', vb, () => (r.rollbackEx ? r.rollbackEx(vb, vbUuid, seq) : r.rollback(vb, seq)));
  }
}
