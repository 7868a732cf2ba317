/**
 * The application side of a BucketDataSource: cbdatasource's `Receiver` and `ReceiverEx`
 * (dcp.md §4.1) in TypeScript.
 *
 * Differences that are only about the language:
 * - a method reports failure by throwing (or rejecting) instead of returning an error; any method
 *   may return a promise, and the data source waits for it before it counts the message as
 *   processed for flow control, so a slow receiver slows the producer;
 * - `req` is the raw DCP packet (the codec's `Packet`, cbdatasource's `*gomemcached.MCRequest`):
 *   `req.extras` (31 bytes for a mutation, 18/21 for a deletion, 20 for an expiration),
 *   `req.value`, `req.cas`, `req.datatype`. `key` and `req` point into the socket buffer; copy what
 *   you keep (cbdatasource: "Receiver implementation is responsible for making its own copies").
 * - calls for one connection are sequential; calls for vbuckets on different nodes can interleave.
 *
 * Metadata is "in-stream": a `rollback` must roll back both the data and the metadata, and
 * `getMetaData` must return the last value given to `setMetaData` together with the last seqno the
 * receiver processed (`lastSeq`), or `{ value: null, lastSeq: 0 }` when it has none.
 */
import type { Packet, SystemEventData } from '../codec/index.js';
import type { FailoverPair } from './metadata.js';

export type Awaitable<T> = T | Promise<T>;

export interface MetaDataResult {
  readonly value: Buffer | null;
  readonly lastSeq: number;
}

export interface Receiver {
  /** Advisory: the data source keeps healing itself; the receiver may `close()` it instead. */
  onError(err: Error): void;
  /**
   * A mutation. On a collection-aware source (options `collections`/`scope`) `key` is the key
   * without its LEB128 collection-id prefix (`req.key` keeps it) and `collectionId` says whose it
   * is; otherwise `collectionId` is 0 (the default collection, the only one streamed).
   */
  dataUpdate(vbucketId: number, key: Buffer, seq: number, req: Packet, collectionId: number): Awaitable<void>;
  /** A deletion or an expiration (`req.opcode` tells which); `key` as for dataUpdate. */
  dataDelete(vbucketId: number, key: Buffer, seq: number, req: Packet, collectionId: number): Awaitable<void>;
  /**
   * Beyond cbdatasource, collection-aware sources only: a DCP system event (a collection created
   * or dropped, a scope created or dropped) at `seq`, decoded (`Opaque` for ModifyCollection and
   * FlatBuffers events). kv sends one per vbucket. The event is part of the vbucket's history: a
   * receiver that keeps positions counts `seq` as processed.
   */
  systemEvent?(vbucketId: number, seq: number, event: SystemEventData, req: Packet): Awaitable<void>;
  /**
   * Beyond cbdatasource, collection-aware sources only: DCP_SEQNO_ADVANCED, the stream moved to
   * `seq` without an item for this filter (the snapshot's last items were in other collections).
   */
  seqnoAdvanced?(vbucketId: number, seq: number): Awaitable<void>;
  /** A snapshot marker: the next items belong to [snapStart, snapEnd]. */
  snapshotStart(vbucketId: number, snapStart: number, snapEnd: number, snapType: number): Awaitable<void>;
  /** Persist `value` with the data (in-stream). */
  setMetaData(vbucketId: number, value: Buffer): Awaitable<void>;
  getMetaData(vbucketId: number): Awaitable<MetaDataResult>;
  /** Roll back data and metadata of the vbucket to `rollbackSeq`. */
  rollback(vbucketId: number, rollbackSeq: number): Awaitable<void>;
  /**
   * ReceiverEx: preferred over `rollback` when present. cbdatasource passes a uuid taken from
   * response extras a real server never sends (always 0, dcp.md §4.6); here it is the uuid of the
   * newest failover entry at or below `rollbackSeq` in the stored metadata (0 if none): the
   * history the receiver keeps.
   */
  rollbackEx?(vbucketId: number, vbucketUUID: number, rollbackSeq: number): Awaitable<void>;
  /**
   * Beyond cbdatasource: the producer accepted a stream request; `failOverLog` is the vbucket's
   * failover log its reply carried (newest first), called before that log is saved with
   * `setMetaData`. For a receiver that keeps the history itself (a replica adopts the active's
   * log: kv DcpConsumer::streamAccepted).
   */
  streamStarted?(vbucketId: number, failOverLog: readonly FailoverPair[]): Awaitable<void>;
  /** Beyond cbdatasource: every wanted vbucket reached its end seqno (`to: 'now'` or SeqEnd). */
  onComplete?(): Awaitable<void>;
}

/** cbdatasource's ReceiverEx: a Receiver whose rollbackEx is required. */
export type ReceiverEx = Receiver & Required<Pick<Receiver, 'rollbackEx'>>;
