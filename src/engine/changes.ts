/**
 * The bucket-wide change order that CouchDB `_changes` feeds read (through change-scan.ts): one
 * bucket sequence shared by all vbuckets, assigned at the same moment as the vbucket seqno, so
 * that a single `since` value resumes a feed. Like the by-seq index, the changes index keeps only each key's latest entry,
 * which is what CouchDB's by-seq tree does too (a document appears once, at its latest seq).
 *
 * Only persisted changes are read: LMDB holds nothing else.
 */
import type { Bucket } from './bucket.js';
import { scanChanges } from './change-scan.js';
import type { ChangeEntry } from './types.js';

export interface ReadChangesOptions {
  /** Exclusive lower bound (or upper bound when descending). */
  since: number;
  limit?: number;
  descending?: boolean;
  /** The collection (default 0); see change-scan.ts. */
  collection?: number;
}

/** Read a page of changes synchronously, from one consistent LMDB snapshot (change-scan.ts). */
export function readChanges(bucket: Bucket, opts: ReadChangesOptions): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  scanChanges(bucket, opts, (c) => {
    out.push({ bucketSeq: c.seq, item: c.copyItem() });
    return true;
  });
  return out;
}

export interface FollowChangesOptions {
  since: number;
  /** The collection (default 0). */
  collection?: number;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Follow the bucket's changes from `since`, forever (until closed or aborted). Pull-based: one
 * page is read when the previous one has been consumed.
 */
export class BucketChangeFollower implements AsyncIterable<ChangeEntry> {
  private cursor: number;
  private buffer: ChangeEntry[] = [];
  private index = 0;
  private closed = false;
  private wakeSelf: (() => void) | null = null;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly bucket: Bucket,
    private readonly opts: FollowChangesOptions,
  ) {
    this.cursor = opts.since;
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (opts.signal?.aborted) this.closed = true;
  }

  /** The bucket sequence of the last change handed out. */
  get position(): number {
    return this.cursor;
  }

  async next(): Promise<ChangeEntry | undefined> {
    for (;;) {
      if (this.closed || this.bucket.isClosed) return undefined;
      if (this.index < this.buffer.length) {
        const entry = this.buffer[this.index++]!;
        this.cursor = entry.bucketSeq;
        return entry;
      }
      if (this.bucket.persistedBucketSeq > this.cursor) {
        const limit = this.opts.batchSize ?? 512;
        const progress = { last: this.cursor };
        const page: ChangeEntry[] = [];
        const read = scanChanges(this.bucket, { since: this.cursor, limit, collection: this.opts.collection ?? 0, progress }, (c) => {
          page.push({ bucketSeq: c.seq, item: c.copyItem() });
          return true;
        });
        this.buffer = page;
        this.index = 0;
        // Everything up to the persisted sequence was read; skipped-over seqs belong to superseded
        // versions or to other collections.
        if (page.length === 0) this.cursor = read < limit ? Math.max(this.cursor, this.bucket.persistedBucketSeq) : progress.last;
        continue;
      }
      await new Promise<void>((resolve) => {
        const cancel = this.bucket.onBucketSeqChange(() => {
          this.wakeSelf = null;
          resolve();
        });
        this.wakeSelf = () => {
          cancel();
          this.wakeSelf = null;
          resolve();
        };
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.wakeSelf?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<ChangeEntry> {
    return {
      next: async () => {
        const value = await this.next();
        return value === undefined ? { value: undefined, done: true } : { value, done: false };
      },
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
