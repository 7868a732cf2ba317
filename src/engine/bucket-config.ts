/**
 * The plain shapes around a bucket: its stored configuration, its counters, its persisted meta
 * record, and the fields of a new version that a mutation decides (bucket-core.ts fills in the
 * rest).
 */
import type { Item } from './types.js';

export interface BucketConfig {
  name: string;
  numVBuckets: number;
  uuid: string;
  /** Bucket maxTTL in seconds; absent = none. */
  maxTTL?: number;
}

export interface BucketStats {
  reads: number;
  readMisses: number;
  writes: number;
  writeFailures: number;
  expirations: number;
  purged: number;
}

/**
 * The fields a mutation decides; the pipeline fills in seqno, CAS, rev seqno and bucket seq. `presetCas`
 * is for a writer that had to know its CAS in advance (subdoc macros, subdoc-write.ts): one it
 * took from the bucket's clock (`hlc.next()`), so it is still unique and increasing.
 */
export type NewVersion = Pick<Item, 'value' | 'datatype' | 'flags' | 'expiry' | 'deleted' | 'deleteTime' | 'expired' | 'xattrs'> & { presetCas?: bigint };

export interface BucketMeta {
  /** Highest bucket sequence ever handed out at the last compaction or discard (a floor for restart). */
  bucketSeqFloor: number;
}
