/**
 * The LMDB operations of one version (bucket-core.ts, the write pipeline): its record in the
 * by-seq index, its entry in the bucket-wide change order and in the expiry index, and the removal
 * of the same entries of the version it replaces, so each key has one entry in each index (the
 * deduplication DCP backfills and `_changes` rely on, dcp.md §3.4).
 *
 * They are made when the version's transaction is queued (store/group-commit.ts `LazyOps`), not
 * when the version is written: a write waits for its transaction (tens of milliseconds under
 * load) holding one `IndexWrite`, where it held an array of four operations and four key buffers,
 * about a third of what each plain SET left for the garbage collector to promote (issue #16). The
 * same object is the write's entry in the engine's list of writes waiting for the disk
 * (write-batches.ts `QueuedWrite`): one object per write waiting, not two.
 */
import type { BucketDbs } from '../store/lmdb-store.js';
import type { LazyOps } from '../store/group-commit.js';
import { changeRef, writeExpiryKey, writeSeqKey, writeU64Key } from '../store/keys.js';
import type { InFlightVersion } from './in-flight.js';
import type { MutationResult, Item } from './types.js';
import type { QueuedWrite } from './write-batches.js';
import type { VBucket } from './vbucket.js';

const EMPTY = Buffer.alloc(0);
/** One key buffer per layout, reused: lmdb-js copies a key as its operation is queued (keys.js writeBufferKey). */
const SEQ_KEY = Buffer.alloc(10);
const CHANGE_KEY = Buffer.alloc(8);
const EXPIRY_KEY = Buffer.alloc(14);
/** No version replaced. */
const NONE = -1;

export class IndexWrite implements LazyOps, QueuedWrite {
  readonly ops: number;
  kept?: boolean;
  resolve: ((result: MutationResult) => void) | undefined = undefined;
  reject: ((err: unknown) => void) | undefined = undefined;
  readonly #prevSeqno: number;
  readonly #prevBucketSeq: number;
  /** The replaced version's expiry when it has an expiry-index entry, else 0. */
  readonly #prevExpiry: number;

  /**
   * `record` is `item`'s encoding (record.ts encodeRecord); lmdb-js reads it at commit, so it is
   * kept. `pkey`, `vb`, `version` and `result` are the `QueuedWrite` fields (write-batches.ts).
   */
  constructor(
    private readonly dbs: BucketDbs,
    prev: Item | undefined,
    private readonly item: Item,
    private readonly record: Buffer,
    readonly pkey: string,
    readonly vb: VBucket,
    readonly version: InFlightVersion,
    readonly result: MutationResult | undefined,
  ) {
    this.#prevSeqno = prev ? prev.seqno : NONE;
    this.#prevBucketSeq = prev ? prev.bucketSeq : 0;
    this.#prevExpiry = prev && prev.expiry !== 0 && !prev.deleted ? prev.expiry : 0;
    const expiring = item.expiry !== 0 && !item.deleted;
    this.ops = (prev ? 2 : 0) + (this.#prevExpiry !== 0 ? 1 : 0) + 2 + (expiring ? 1 : 0);
  }

  apply(): Promise<unknown> {
    const { bySeq, changes, expiries } = this.dbs;
    const { vbucket: vb, seqno, bucketSeq, expiry } = this.item;
    if (this.#prevSeqno !== NONE) {
      bySeq.remove(writeSeqKey(SEQ_KEY, vb, this.#prevSeqno));
      changes.remove(writeU64Key(CHANGE_KEY, this.#prevBucketSeq));
      if (this.#prevExpiry !== 0) expiries.remove(writeExpiryKey(EXPIRY_KEY, this.#prevExpiry, vb, this.#prevSeqno));
    }
    bySeq.put(writeSeqKey(SEQ_KEY, vb, seqno), this.record);
    // The value is read at commit (by address, write.js), so each is a buffer of its own.
    const last = changes.put(writeU64Key(CHANGE_KEY, bucketSeq), changeRef(vb, seqno, this.item.collection));
    return expiry !== 0 && !this.item.deleted ? expiries.put(writeExpiryKey(EXPIRY_KEY, expiry, vb, seqno), EMPTY) : last;
  }
}
