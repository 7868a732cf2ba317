/**
 * Freshet's DCP consumer: the public surface (everything else in this folder is internal).
 *
 * - BucketDataSource + Receiver: cbdatasource's API and behaviour (dcp.md §4), metadata JSON
 *   interchangeable with it, plus from/to 'now', keys only, rollback mitigation.
 * - openChangeStream: typed change events for `for await`, with durable checkpoints.
 * - Both stream the default collection only unless given `collections` or `scope` (collections.ts).
 */
export { BucketDataSource, type BucketDataSourceParams } from './bucket-data-source.js';
export type { Receiver, ReceiverEx, MetaDataResult, Awaitable } from './receiver.js';
export {
  DEFAULT_BUCKET_DATA_SOURCE_OPTIONS,
  SILENT_LOGGER,
  resolveOptions,
  type BucketDataSourceOptions,
  type ConnectFn,
  type ConsumerLogger,
  type StreamFrom,
  type StreamTo,
} from './options.js';
export { STAT_NAMES, newStats, statsDelta, type BucketDataSourceStats, type StatName } from './stats.js';
export type { DataSourceStatus, StatusListener } from './status.js';
export {
  AllServerURLsConnectBucketError,
  AuthFailError,
  ConsumerError,
  CONSUMER_ERROR_CODES,
  CONSUMER_ERRORS,
  isConsumerError,
  type ConsumerErrorCode,
  type ConsumerErrorKind,
} from './errors.js';
export { FreshetError, isFreshetError } from '../common/errors.js';
export { exponentialBackoffLoop, backoffDelay } from '../common/backoff.js';
export { decodeMetaData, encodeMetaData, parseFailOverLog, EMPTY_METADATA, type VBucketMetaData, type FailoverPair } from './metadata.js';
export { parseSeed, parseSeeds, type Seed } from './seeds.js';
export type { Credentials } from './kv-connect.js';
export { ChangeStream, openChangeStream, type ChangeStreamOptions } from './change-stream.js';
export type { ChangeEvent, ItemEvent, MutationEvent, DeletionEvent, RollbackEvent, CollectionEvent, ScopeEvent, ManifestEvent } from './change-events.js';
export { CollectionNames, parseCollectionPath, type CollectionFilter, type CollectionName } from './collections.js';
export {
  FileCheckpointStore,
  MemoryCheckpointStore,
  CheckpointFormatError,
  parseCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  type VBucketCheckpoint,
} from './checkpoint-store.js';
