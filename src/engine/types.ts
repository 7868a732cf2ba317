/**
 * The engine's public data types: items, mutation tokens, vbucket states and follower events.
 *
 * Seqnos are JavaScript numbers: they are per-vbucket counters that stay far below 2^53.
 * CAS values are bigints (they are 64-bit hybrid-clock values). Keys are raw bytes, as on the
 * memcached wire; the HTTP face converts its UTF-8 document ids.
 */

export const DATATYPE_RAW = 0x00;
export const DATATYPE_JSON = 0x01;
/** Datatype bit for "value carries extended attributes" (kv_engine include/mcbp/protocol/datatype.h). */
export const DATATYPE_XATTR = 0x04;

export const VBUCKET_STATES = ['active', 'replica', 'pending', 'dead'] as const;
export type VBucketState = (typeof VBUCKET_STATES)[number];

/** Numeric vbucket state as carried by SET_VBUCKET / GET_ALL_VB_SEQNOS (kv_engine vbucket_state_t). */
export const VBUCKET_STATE_CODE: Record<VBucketState, number> = { active: 1, replica: 2, pending: 3, dead: 4 };

export type Key = Buffer | string;

/** One stored version of a document (live or tombstone). */
export interface Item {
  /** The key within its collection (no collection prefix). */
  key: Buffer;
  /** Collection id (manifest.ts): 0 is `_default`, 1 holds system events (kv_engine CollectionID::System). */
  collection: number;
  vbucket: number;
  value: Buffer;
  /** DATATYPE_JSON or DATATYPE_RAW for the body (xattrs travel separately). */
  datatype: number;
  flags: number;
  /** Absolute expiry in epoch seconds, 0 = never. */
  expiry: number;
  cas: bigint;
  revSeqno: number;
  /** The vbucket seqno of this version (DCP by_seqno). */
  seqno: number;
  /** The bucket-wide change sequence of this version (`_changes` seq). */
  bucketSeq: number;
  deleted: boolean;
  /** Epoch seconds of the deletion, for tombstones; 0 otherwise. */
  deleteTime: number;
  /** True when this tombstone was made by expiry rather than an explicit delete. */
  expired: boolean;
  /**
   * True for the tombstone of an erased document: a deletion that leaves nothing of the document
   * (the CouchDB face's `_purge`, src/couchdb/purge.ts). KV and DCP see an ordinary deletion (KV
   * reads find no document, streams send a deletion, compaction purges it after the purge age),
   * but it is no deleted document: doc-counts.ts counts it neither live nor deleted, and the
   * CouchDB face neither lists it in `_changes` nor opens it. Absent means false.
   */
  erased?: boolean;
  /**
   * System extended attributes as a JSON object serialized to bytes, or null. They survive KV
   * mutations and deletions, like Couchbase's system xattrs; the HTTP face keeps its revision tree here.
   */
  xattrs: Buffer | null;
}

/**
 * A write's outcome as the engine's synchronous write path answers it: the result itself when the
 * write is acknowledged from memory, a promise when it waits for the disk (WriteMode).
 */
export type Written = MutationResult | Promise<MutationResult>;

export interface MutationToken {
  vbucket: number;
  vbuuid: number;
  seqno: number;
}

export interface MutationResult {
  cas: bigint;
  token: MutationToken;
  /** The stored version, as written. */
  item: Item;
}

export interface CounterResult extends MutationResult {
  value: bigint;
}

export interface FailoverEntry {
  uuid: number;
  seqno: number;
}

export interface VBucketInfo {
  id: number;
  state: VBucketState;
  highSeqno: number;
  persistedSeqno: number;
  uuid: number;
  /** Newest first. */
  failoverLog: FailoverEntry[];
  purgeSeqno: number;
  /**
   * The highest CAS of a version written to the vbucket (kv `vb_N:max_cas`, what XDCR reads), in
   * decimal: a CAS passes 2^53, and this object is also sent as JSON (`/freshet/.../vbuckets/N`).
   */
  maxCas: string;
}

/**
 * Couchbase's durability levels (SyncWrites, kv_engine docs/SyncWrites.md). On this single node,
 * `majority` is met in memory (as Couchbase with no replicas); the two persisting levels are met
 * once the write is on disk. `none` is a plain write, acknowledged from memory (issue #16).
 */
export type DurabilityLevel = 'none' | 'majority' | 'majorityAndPersistActive' | 'persistToMajority';
export const DURABILITY_LEVELS: readonly DurabilityLevel[] = ['none', 'majority', 'majorityAndPersistActive', 'persistToMajority'];

/**
 * How a write is acknowledged and when others see it:
 * - `memory`: acknowledged once applied in memory, visible to reads and DCP at once; the flusher
 *   persists it behind, retrying through a full disk (a crash can lose it: the failover log says so);
 * - `persist`: acknowledged once on disk (the CouchDB face); visible to reads at once, streamed once
 *   on disk; fails, and is rolled back, if its commit fails;
 * - `sync`: a SyncWrite that persists: acknowledged once on disk and invisible until then; the key
 *   refuses other writes meanwhile (SYNC_WRITE_IN_PROGRESS).
 */
export type WriteMode = 'memory' | 'persist' | 'sync';

const LEVEL_RANK: Record<DurabilityLevel, number> = { none: 0, majority: 1, majorityAndPersistActive: 2, persistToMajority: 3 };

/** How a KV write with durability `level` is acknowledged in a bucket whose minimum is `min`. */
export function writeModeOf(level: DurabilityLevel, min: DurabilityLevel): WriteMode {
  return Math.max(LEVEL_RANK[level], LEVEL_RANK[min]) >= LEVEL_RANK.majorityAndPersistActive ? 'sync' : 'memory';
}

export interface WriteOptions {
  /** Compare-and-swap: 0n or undefined means "any". */
  cas?: bigint;
  /** The write's durability requirement; the bucket's `durabilityMinLevel` raises it. */
  durability?: DurabilityLevel;
  flags?: number;
  /** Protocol expiry (memcached rule); undefined means 0 (never) for stores. */
  expiry?: number;
  datatype?: number;
  /** Replace the system xattrs; undefined keeps the existing ones. */
  xattrs?: Buffer | null;
  /** Keep the current document's expiry (the PreserveTTL frame, kv_engine frame info id 5). */
  preserveExpiry?: boolean;
}

export interface DeleteOptions {
  cas?: bigint;
  durability?: DurabilityLevel;
  /** Replace the system xattrs kept on the tombstone; undefined keeps the existing ones. */
  xattrs?: Buffer | null;
  /** Store this value on the tombstone (Couchbase allows only xattrs; the HTTP face needs bodies). */
  value?: Buffer;
}

export interface CounterOptions {
  delta: bigint;
  initial: bigint;
  /** 0xffffffff means "do not create" (memcached rule). */
  expiry: number;
  cas?: bigint;
  durability?: DurabilityLevel;
}

/** Snapshot marker flags (kv_engine DcpSnapshotMarkerFlag). */
export const SNAPSHOT_MEMORY = 0x01;
export const SNAPSHOT_DISK = 0x02;
export const SNAPSHOT_CHECKPOINT = 0x04;
export const SNAPSHOT_ACK = 0x08;

export type FollowEvent =
  | { type: 'snapshot'; start: number; end: number; flags: number }
  | { type: 'mutation'; item: Item }
  | { type: 'deletion'; item: Item }
  | { type: 'expiration'; item: Item }
  | { type: 'end'; reason: FollowEndReason };

/**
 * A mutation a backfill read from disk, as its stored record (Bucket.followRecords), for a
 * consumer that builds its messages from the bytes: a DCP backfill encodes frames straight from
 * it, with no Item, key, value or BigInt CAS made per document (issue #16). Read it with
 * record-view.ts. Deletions, system events and memory snapshots still come as Items.
 */
export interface RecordEvent {
  readonly type: 'record';
  readonly seqno: number;
  /** The follower's copy of the record: valid as long as the event is held. */
  readonly raw: Buffer;
}

/** Why a follower stopped (mapped to DCP stream-end reasons by the DCP producer). */
export type FollowEndReason = 'ok' | 'closed' | 'state_changed' | 'rollback' | 'bucket_deleted';

/** Which collections a follower delivers (system events are collection 1, manifest.ts). */
export type CollectionFilter = (collection: number) => boolean;

export interface FollowOptions {

  /**
   * Collections to deliver; records of others are skipped without their values being copied or
   * decoded. Undefined means the default collection only, what a client that does not speak
   * collections sees (kv docs/Collections.md).
   */
  collections?: CollectionFilter;
  /**
   * End each snapshot at the last record `collections` keeps instead of the last record of the
   * vbucket, for a consumer that cannot be told that seqnos at a snapshot's end were skipped
   * (a legacy DCP stream; kv_engine DCPBackfillBySeqnoDisk::markLegacyDiskSnapshot). A snapshot
   * with no such record is not delivered at all.
   */
  trimSnapshots?: boolean;
  /** Last seqno the follower already has: delivery starts after it. */
  start: number;
  /** Inclusive end; Infinity follows forever. */
  end?: number;
  /** Items per batch read from storage (the pull granularity). */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface ChangeEntry {
  bucketSeq: number;
  item: Item;
}
