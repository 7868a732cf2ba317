/**
 * The `for await` API: a BucketDataSource whose receiver turns DCP items into typed change events,
 * keeps positions, and saves durable checkpoints.
 *
 *   const changes = openChangeStream({ seeds: ['couchbase://127.0.0.1/default'], credentials,
 *     from: 'beginning', to: 'now', checkpoint: './tail.checkpoint.json', signal });
 *   for await (const e of changes) { ... }   // `break`, close() or the signal end it
 *
 * Semantics:
 * - An event counts as processed when the iterator is asked for the next one (or at close()). The
 *   checkpoint records the committed positions only, so a rerun resumes right after the last
 *   event the application finished with: no gaps, and repeats only of events it had not finished.
 * - Checkpoints are saved when a snapshot is complete (its last item committed), every
 *   `checkpointIntervalMs` while something changed, and at close(); saves are coalesced, one at a
 *   time, through the pluggable CheckpointStore (FileCheckpointStore: tmp + fsync + rename).
 * - A rollback removes the vbucket's not-yet-delivered events above the rollback point and is
 *   delivered in order as a `rollback` event: discard what you derived from seqnos above it.
 * - The queue between the data source and the application is bounded (highWaterMark events);
 *   when full, the receiver call waits, so the DCP window stops the producer.
 * - Fatal for the iterator (it throws): bad credentials, a bucket uuid that differs from the
 *   checkpoint's, an unreadable checkpoint, a `collections`/`scope` filter naming what the bucket
 *   does not have (UNKNOWN_COLLECTION / UNKNOWN_SCOPE) or a server without collections.
 *   Everything else is retried by the data source.
 * - Collections (options `collections: ['scope.collection', ...]` or `scope`): items carry their
 *   scope and collection names, `collection` / `scope` events report creates and drops (one per
 *   vbucket), SEQNO_ADVANCED moves the checkpoint without an event, and a vbucket whose filtered
 *   collections were all dropped ends (FilterEmpty; the iteration ends once every vbucket has).
 */
import { AuthFailError, ConsumerError, isConsumerError } from './errors.js';
import { BucketDataSource, type BucketDataSourceParams } from './bucket-data-source.js';
import { CHECKPOINT_VERSION, FileCheckpointStore, type Checkpoint, type CheckpointStore, type VBucketCheckpoint } from './checkpoint-store.js';
import { eventSize, itemEvent, systemChangeEvent, type ChangeEvent } from './change-events.js';
import type { SystemEventData } from '../codec/index.js';
import { decodeMetaData, encodeMetaData, rollbackUuid } from './metadata.js';
import { PositionBook } from './positions.js';
import type { BucketDataSourceOptions } from './options.js';
import type { Packet } from '../codec/index.js';
import type { Receiver } from './receiver.js';
import type { StatusListener } from './status.js';
import type { BucketDataSourceStats } from './stats.js';

export interface ChangeStreamOptions extends Omit<BucketDataSourceParams, 'receiver' | 'options'>, BucketDataSourceOptions {
  /** A store, or a file path for a FileCheckpointStore. Without one, positions live in memory. */
  readonly checkpoint?: CheckpointStore | string;
  readonly checkpointIntervalMs?: number;
  /** Events queued ahead of the application (default 4096). */
  readonly highWaterMark?: number;
  readonly signal?: AbortSignal;
  /** Advisory errors (the data source heals itself); fatal ones end the iterator instead. */
  readonly onError?: (err: Error) => void;
}

interface Entry {
  readonly vb: number;
  readonly pos: VBucketCheckpoint;
  /** Undefined for a position-only entry (metadata saved without an item, a seqno-advanced). */
  readonly event?: ChangeEvent;
  readonly size: number;
  /** A position-only entry that ends a snapshot may complete it: checkpoint then. */
  readonly advance?: boolean;
}

export class ChangeStream implements AsyncIterableIterator<ChangeEvent> {
  readonly #opts: ChangeStreamOptions;
  readonly #store: CheckpointStore | undefined;
  readonly #book = new PositionBook();
  readonly #hwm: number;
  #ds: BucketDataSource | undefined;
  readonly #ready: Promise<void>;
  #queue: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #returned: Entry | undefined;
  /** Every next() waiting for an event (calls may overlap: each must wake). */
  #readers: (() => void)[] = [];
  #space: (() => void)[] = [];
  #complete = false;
  #closed = false;
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;
  #saving: Promise<void> | undefined;
  #saveWanted = false;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #bucketUuid: string | undefined;
  #unlisten: () => void = () => {};

  constructor(opts: ChangeStreamOptions) {
    this.#opts = opts;
    this.#store = typeof opts.checkpoint === 'string' ? new FileCheckpointStore(opts.checkpoint) : opts.checkpoint;
    this.#hwm = opts.highWaterMark ?? 4096;
    this.#ready = this.#init();
    this.#ready.catch((e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    // An already aborted signal fires no 'abort' event: close now. The listener goes at close(),
    // so a long-lived signal shared by many streams does not keep every closed one alive.
    const signal = opts.signal;
    const onAbort = (): void => void this.close().catch(() => undefined);
    if (signal?.aborted) onAbort();
    else if (signal !== undefined) {
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves once the checkpoint is loaded and the data source started. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get dataSource(): BucketDataSource | undefined {
    return this.#ds;
  }

  stats(): Readonly<BucketDataSourceStats> | undefined {
    return this.#ds?.stats();
  }

  onStatus(listener: StatusListener): () => void {
    if (!this.#ds) throw new ConsumerError('CLOSED', 'not started yet: await ready()');
    return this.#ds.onStatus(listener);
  }

  /** Bytes held ahead of the application: queued events plus undelivered network data. */
  get bufferedBytes(): number {
    return this.#bytes + (this.#ds?.bufferedBytes ?? 0);
  }

  /** The committed (checkpointed) position of a vbucket. */
  committed(vb: number): VBucketCheckpoint | undefined {
    return this.#book.committed(vb);
  }

  async #init(): Promise<void> {
    const saved = await this.#store?.load();
    const { checkpoint: _c, checkpointIntervalMs: _i, highWaterMark: _h, signal: _s, onError: _e, seeds, bucket, bucketUuid, vbuckets, credentials, pool, ...options } = this.#opts;
    this.#bucketUuid = bucketUuid ?? saved?.bucketUuid;
    const ds = new BucketDataSource({
      seeds,
      ...(bucket !== undefined ? { bucket } : {}),
      ...(this.#bucketUuid !== undefined ? { bucketUuid: this.#bucketUuid } : {}),
      ...(vbuckets !== undefined ? { vbuckets } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
      ...(pool !== undefined ? { pool } : {}),
      receiver: this.#receiver(),
      options,
    });
    if (saved && saved.bucket !== ds.bucket) throw new ConsumerError('BUCKET_UUID', `checkpoint is for bucket ${saved.bucket}, not ${ds.bucket}`);
    if (saved) this.#book.load(saved.vbuckets);
    this.#ds = ds;
    if (this.#closed) return;
    ds.start();
    const every = this.#opts.checkpointIntervalMs ?? 1000;
    if (this.#store && every > 0) this.#timer = setInterval(() => this.#dirty && this.#save(), every).unref();
  }

  #receiver(): Receiver {
    const book = this.#book;
    return {
      onError: (err) => this.#onError(err),
      dataUpdate: (vb, key, seq, p, cid) => this.#item(vb, seq, p, key, cid),
      dataDelete: (vb, key, seq, p, cid) => this.#item(vb, seq, p, key, cid),
      systemEvent: (vb, seq, data) => this.#system(vb, seq, data),
      seqnoAdvanced: (vb, seq) => this.#advance(vb, seq),
      snapshotStart: () => {},
      setMetaData: (vb, value) => {
        const pos = book.setMeta(vb, decodeMetaData(value)!);
        if (pos) this.#push({ vb, pos, size: 64 });
      },
      getMetaData: (vb) => {
        const r = book.received(vb);
        return r ? { value: encodeMetaData(r.meta), lastSeq: r.lastSeq } : { value: null, lastSeq: 0 };
      },
      rollback: (vb, seq) => this.#rollback(vb, rollbackUuid(book.received(vb)?.meta, seq), seq),
      rollbackEx: (vb, vbUuid, seq) => this.#rollback(vb, vbUuid, seq),
      onComplete: () => {
        this.#complete = true;
        this.#wakeReader();
      },
    };
  }

  #item(vb: number, seq: number, p: Packet, key: Buffer, cid: number): void | Promise<void> {
    if (this.#closed) return;
    const names = this.#ds!.collections;
    const event = itemEvent(vb, p, key, cid, names.nameOf(cid));
    this.#push({ vb, pos: this.#book.item(vb, seq), event, size: eventSize(event) });
    return this.#room();
  }

  #system(vb: number, seq: number, data: SystemEventData): void | Promise<void> {
    if (this.#closed) return;
    const event = systemChangeEvent(vb, seq, data, this.#ds!.collections);
    const pos = this.#book.item(vb, seq);
    this.#push(event ? { vb, pos, event, size: eventSize(event) } : { vb, pos, size: 64, advance: true });
    return this.#room();
  }

  #advance(vb: number, seq: number): void | Promise<void> {
    if (this.#closed) return;
    this.#push({ vb, pos: this.#book.item(vb, seq), size: 64, advance: true });
    return this.#room();
  }

  /** Waits while the queue is at its high-water mark (the receiver call holds the DCP window). */
  #room(): void | Promise<void> {
    if (this.#queue.length - this.#head < this.#hwm) return;
    return new Promise((resolve) => this.#space.push(resolve));
  }

  #rollback(vb: number, vbUuid: number, seq: number): void {
    // events not delivered yet above the rollback point never happened
    const kept: Entry[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      if (e.vb === vb && e.pos.lastSeq > seq) this.#bytes -= e.size;
      else kept.push(e);
    }
    this.#queue = kept;
    this.#head = 0;
    const pos = this.#book.rollback(vb, seq);
    this.#push({ vb, pos, event: { type: 'rollback', vbucket: vb, seqno: seq, vbUuid }, size: 64 });
  }

  #push(e: Entry): void {
    this.#queue.push(e);
    this.#bytes += e.size;
    this.#wakeReader();
  }

  #wakeReader(): void {
    for (const r of this.#readers.splice(0)) r();
  }

  #onError(err: Error): void {
    // refused credentials reach us wrapped when no seed answered (AllServerURLsConnectBucketError)
    const fatal = [err, err.cause].find(
      (e) => e instanceof AuthFailError || isConsumerError(e, 'BUCKET_UUID') || isConsumerError(e, 'UNKNOWN_COLLECTION') || isConsumerError(e, 'UNKNOWN_SCOPE') || isConsumerError(e, 'COLLECTIONS_UNSUPPORTED'),
    );
    if (fatal instanceof Error) this.#fail(fatal);
    this.#opts.onError?.(err);
  }

  #fail(err: Error): void {
    if (this.#failure || this.#closed) return;
    this.#failure = err;
    void this.close().catch(() => {});
    this.#wakeReader();
  }

  async next(): Promise<IteratorResult<ChangeEvent>> {
    await this.#ready;
    this.#commitReturned();
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#closed) {
        // closed (close(), the signal, a break): what is still queued is not delivered
        await this.close();
        return { value: undefined, done: true };
      }
      const e = this.#take();
      if (e) {
        if (!e.event) {
          this.#book.commit(e.vb, e.pos);
          this.#dirty = true;
          if (e.advance && e.pos.lastSeq >= e.pos.meta.snapEnd) this.#save();
          continue;
        }
        this.#returned = e;
        return { value: e.event, done: false };
      }
      if (this.#complete) {
        await this.close();
        if (this.#failure) throw this.#failure;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => this.#readers.push(resolve));
    }
  }

  #take(): Entry | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const e = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Entry;
    this.#bytes -= e.size;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#space.length > 0 && this.#queue.length - this.#head < this.#hwm) {
      const waiters = this.#space;
      this.#space = [];
      for (const w of waiters) w();
    }
    return e;
  }

  #commitReturned(): void {
    const e = this.#returned;
    if (!e) return;
    this.#returned = undefined;
    this.#book.commit(e.vb, e.pos);
    this.#dirty = true;
    // the last item of a snapshot makes the vbucket's state consistent: checkpoint it
    if (e.event && e.event.type !== 'rollback' && e.event.seqno >= e.pos.meta.snapEnd) this.#save();
  }

  #checkpointDoc(): Checkpoint {
    const uuid = this.#ds?.clusterMap?.uuid || this.#bucketUuid;
    return { version: CHECKPOINT_VERSION, bucket: this.#ds?.bucket ?? '', ...(uuid ? { bucketUuid: uuid } : {}), vbuckets: this.#book.snapshot() };
  }

  #save(): Promise<void> {
    if (!this.#store) return Promise.resolve();
    this.#saveWanted = true;
    this.#saving ??= (async () => {
      try {
        while (this.#saveWanted) {
          this.#saveWanted = false;
          this.#dirty = false;
          await this.#store!.save(this.#checkpointDoc());
        }
      } finally {
        this.#saving = undefined;
      }
    })();
    const p = this.#saving;
    p.catch((e: unknown) => this.#opts.onError?.(e instanceof Error ? e : new Error(String(e))));
    return p;
  }

  /** Save the committed positions now (resolves when durable). */
  async checkpoint(): Promise<void> {
    await this.#ready;
    await this.#save();
  }

  /**
   * Stop streaming. The event most recently returned counts as processed; the final checkpoint is
   * saved before this resolves. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#unlisten();
      this.#commitReturned();
      clearInterval(this.#timer);
      for (const w of this.#space.splice(0)) w();
      this.#wakeReader();
      await this.#ready.catch(() => {});
      await this.#ds?.close();
      await this.#saving?.catch(() => {});
      if (this.#store && this.#ds) await this.#save();
    })();
    return this.#closing;
  }

  async return(): Promise<IteratorResult<ChangeEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ChangeEvent> {
    return this;
  }
}

export function openChangeStream(opts: ChangeStreamOptions): ChangeStream {
  return new ChangeStream(opts);
}
