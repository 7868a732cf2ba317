/**
 * The plain shapes around a bucket: its stored configuration, its counters, its persisted meta
 * record, and the fields of a new version that a mutation decides (bucket-core.ts fills in the
 * rest).
 */
import type { DurabilityLevel, Item } from './types.js';

export interface BucketConfig {
  name: string;
  numVBuckets: number;
  uuid: string;
  /** Bucket maxTTL in seconds; absent = none. */
  maxTTL?: number;
  /** The least durability every write gets (Couchbase's bucket setting); absent = none. */
  durabilityMinLevel?: DurabilityLevel;
  /** How XDCR writes resolve conflicts (with-meta.ts); absent = 'seqno' (revid), Couchbase's default. */
  conflictResolution?: ConflictResolutionType;
  /** Whether the bucket may be flushed (Couchbase's `flushEnabled`, flush.ts); absent = no. */
  flushEnabled?: boolean;
}

/** Write-path memory limits (issue #16), engine options shared by every bucket. */
export interface WritePathLimits {
  /** Bytes of writes not yet on disk above which writes answer TMPFAIL. */
  maxDirtyBytes: number;
  /** Bytes of persisted versions kept in memory for live streams that have not read them, per bucket. */
  checkpointBytes: number;
  /** Bytes of recent item records kept in memory per bucket, for reads (record-cache.ts); 0 keeps none. */
  recordCacheBytes: number;
}

/**
 * `checkpointBytes`: a stream further behind reads the disk (cursor dropping), at backfill speed.
 * Every version kept for a stalled stream outlives a young-generation GC and is promoted; at 32
 * MiB a stalled consumer under 40k writes/s added about 170 MB of anonymous memory to the
 * server's (bench dcp, memory phase, against the same writes without a consumer), at 8 MiB about
 * 40 MB. With the faster write path of issue #16's later sessions (about 60k writes/s into the
 * stalled consumer), 8 MiB put the phase's peak at 302-317 MB and 4 MiB at 290-299 MB: 4 KiB per
 * vbucket of 1024, a second of a 10k writes/s load, before a stream is sent back to the disk.
 */
export const DEFAULT_WRITE_PATH_LIMITS: WritePathLimits = { maxDirtyBytes: 160 * 1024 * 1024, checkpointBytes: 4 * 1024 * 1024, recordCacheBytes: 20 * 1024 * 1024 };

/** Couchbase's `conflictResolutionType` bucket setting: revid ("seqno") or last-write-wins. */
export type ConflictResolutionType = 'seqno' | 'lww';
export const CONFLICT_RESOLUTION_TYPES: readonly ConflictResolutionType[] = ['seqno', 'lww'];

export interface BucketStats {
  reads: number;
  readMisses: number;
  /** Reads of a current version served from memory (record-cache.ts) and from LMDB (kv_engine's `ep_bg_fetched`). */
  recordCacheHits: number;
  bgFetches: number;
  writes: number;
  writeFailures: number;
  expirations: number;
  purged: number;
  /** Writes refused because the dirty backlog was over its limit (TMPFAIL). */
  tmpfails: number;
  /** Writes refused with SYNC_WRITE_IN_PROGRESS. */
  syncWriteConflicts: number;
}

/**
 * The fields a mutation decides; the pipeline fills in seqno, CAS, rev seqno and bucket seq. `presetCas`
 * is for a writer that had to know its CAS in advance (subdoc macros, subdoc-write.ts): one it
 * took from the bucket's clock (`hlc.next()`), so it is still unique and increasing.
 */
export type NewVersion = Pick<Item, 'value' | 'datatype' | 'flags' | 'expiry' | 'deleted' | 'deleteTime' | 'expired' | 'erased' | 'xattrs'> & { presetCas?: bigint };

export interface BucketMeta {
  /** Highest bucket sequence ever handed out at the last compaction or discard (a floor for restart). */
  bucketSeqFloor: number;
}
