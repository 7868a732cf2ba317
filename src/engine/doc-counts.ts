/**
 * How many documents a bucket holds, live and deleted, and how many bytes its indexes take.
 *
 * The engine does not track live/deleted counts on the write path (a KV write does not tell us
 * what it replaced), and the by-seq index holds exactly one record (the current version) per key,
 * so the counts come from one pass over that index reading only record headers. They are cached
 * per persisted bucket sequence; when a scan was slow they are reused for a while even if writes
 * happened, so that frequent readers (`GET /{db}`, which PouchDB sends once per replication batch,
 * a Prometheus scrape, KV `STAT curr_items`) stay cheap on big buckets: counts can lag on very
 * large, busy buckets. Moved here from the HTTP face's Db so that every face reads one count.
 */
import type { BucketDbs, LmdbStore } from '../store/lmdb-store.js';
import { recordCollection, recordDeleted, recordErased, RecordLayout } from './record.js';

/**
 * A record's collection and whether it is a tombstone, as one number (collection * 2 + deleted),
 * read in place in lmdb-js's shared read buffer: counting copies nothing per record. An erased
 * document's tombstone (types.ts Item.erased) is no document at all: -1, not counted.
 */
function countKey(bytes: Buffer): number {
  if (recordErased(bytes)) return -1;
  const collection = bytes[0] === RecordLayout.FORMAT ? 0 : recordCollection(bytes);
  return collection * 2 + (recordDeleted(bytes) ? 1 : 0);
}

export interface DocCounts {
  /** Live documents (current version not a tombstone), over every collection in the manifest. */
  docCount: number;
  /** Tombstones not purged yet (an erased document's tombstone is not counted). */
  delCount: number;
  /** The same per collection id (collections without documents are absent). */
  byCollection: ReadonlyMap<number, { docCount: number; delCount: number }>;
}

/** What the counter reads of its bucket. */
export interface CountedBucket {
  readonly name: string;
  readonly store: LmdbStore;
  readonly dbs: BucketDbs;
  readonly persistedBucketSeq: number;
  readonly manifest: { hasCollection(id: number): boolean };
}

export class DocCounter {
  #counted: { seq: number; at: number; tookMs: number; counts: DocCounts } | null = null;

  constructor(private readonly bucket: CountedBucket) {}

  counts(now = Date.now()): DocCounts {
    const seq = this.bucket.persistedBucketSeq;
    const c = this.#counted;
    if (c && (c.seq === seq || (c.tookMs > 20 && now - c.at < c.tookMs * 20))) return c.counts;
    const start = Date.now();
    const counts = this.#scan();
    this.#counted = { seq, at: now, tookMs: Date.now() - start, counts };
    return counts;
  }

  /**
   * Bytes of the bucket's document indexes (by-seq, changes, expiries) as LMDB pages: what its
   * documents occupy on disk, without the space LMDB keeps free for reuse.
   */
  diskBytes(): number {
    const { bySeq, changes, expiries } = this.bucket.dbs;
    let bytes = 0;
    for (const db of [bySeq, changes, expiries]) bytes += pageBytes(db.getStats());
    return bytes;
  }

  /** A record is a deleted document when it is a tombstone (record-view.ts). */
  #scan(): DocCounts {
    const byCollection = new Map<number, { docCount: number; delCount: number }>();
    const manifest = this.bucket.manifest;
    let docCount = 0;
    let delCount = 0;
    let last = -1;
    let tally = { docCount: 0, delCount: 0 };
    const snapshot = this.bucket.store.snapshot();
    try {
      for (const { value } of this.bucket.store.bySeqReader(this.bucket.name, countKey).getRange({ transaction: snapshot.txn })) {
        if (value < 0) continue;
        const c = Math.floor(value / 2);
        if (c !== last) {
          last = c;
          let t = byCollection.get(c);
          if (!t) byCollection.set(c, (t = { docCount: 0, delCount: 0 }));
          tally = t;
        }
        if (value % 2 === 1) tally.delCount++;
        else tally.docCount++;
      }
    } finally {
      snapshot.release();
    }
    // System events and dropped collections (not purged yet) are not documents.
    for (const [c, t] of byCollection) {
      if (!manifest.hasCollection(c)) byCollection.delete(c);
      else {
        docCount += t.docCount;
        delCount += t.delCount;
      }
    }
    return { docCount, delCount, byCollection };
  }
}

/** lmdb-js `getStats()` (mdb_stat): pages in use times the page size. */
function pageBytes(stats: unknown): number {
  if (typeof stats !== 'object' || stats === null) return 0;
  const s = stats as Record<string, unknown>;
  const n = (k: string): number => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  return n('pageSize') * (n('treeBranchPageCount') + n('treeLeafPageCount') + n('overflowPages'));
}
