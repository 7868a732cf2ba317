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
 *
 * A caller may also ask which documents a key filter refuses (the CouchDB face: keys such as the
 * `_txn:` records of Couchbase transactions are no CouchDB ids, couch/doc.ts isDocIdKey): the same
 * pass then classifies each record's key in place, and the refused ones are counted apart
 * (`hiddenDocCount`, `hiddenDelCount`), so the face subtracts them and KV statistics still count
 * every item. One filter is cached at a time (by identity); its counts also serve callers without
 * one.
 */
import type { BucketDbs, LmdbStore } from '../store/lmdb-store.js';
import { recordCollection, recordDeleted, recordErased, recordKeyEnd, recordKeyOffset, RecordLayout, recordValueStart } from './record.js';

/** Whether a record's key, `bytes[start, end)` (collection prefix excluded), is one the caller counts; read in place. */
export type KeyFilter = (bytes: Uint8Array, start: number, end: number) => boolean;

/**
 * Bytes a live document holds outside its record, read from the record (`size` bytes, in place):
 * the CouchDB face's attachments, which CouchDB counts in a database's `sizes.external`. They
 * count in `externalBytes` only: `activeBytes` is what the by-seq index holds.
 */
export type OutsideBytes = (record: Buffer, size: number) => number;

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

/** What the scan reads of one record: its `countKey` (with the filter's verdict), its size and its value's. */
interface Tally {
  readonly key: number;
  readonly recordBytes: number;
  readonly valueBytes: number;
}

function tally(key: number, bytes: Buffer, size: number, outside: OutsideBytes | undefined): Tally {
  // Only a live document's outside bytes count (countKey: even keys are live).
  const extra = outside !== undefined && key >= 0 && key % 2 === 0 ? outside(bytes, size) : 0;
  return { key, recordBytes: size, valueBytes: size - recordValueStart(bytes) + extra };
}

export interface CollectionCounts {
  docCount: number;
  delCount: number;
  /** Of those, the ones whose key the filter refused (0 without a filter). */
  hiddenDocCount: number;
  hiddenDelCount: number;
  /**
   * Bytes of the current versions' records, tombstones included: the live data of the by-seq
   * index (CouchDB's `sizes.active`), always below the pages that hold it (`diskBytes`).
   */
  activeBytes: number;
  /** Bytes of the live documents' values (CouchDB's `sizes.external`); `hiddenExternalBytes` of those the filter refused. */
  externalBytes: number;
  hiddenExternalBytes: number;
}

export interface DocCounts {
  /** Live documents (current version not a tombstone), over every collection in the manifest. */
  docCount: number;
  /** Tombstones not purged yet (an erased document's tombstone is not counted). */
  delCount: number;
  /** The same per collection id (collections without documents are absent). */
  byCollection: ReadonlyMap<number, CollectionCounts>;
}

type Decoder = (bytes: Buffer, size: number) => Tally;

/**
 * A scan slower than this is reused for twenty times its duration even after writes (the header).
 * Well above what opening a scan's LMDB handle costs, so a small bucket is always counted afresh.
 */
const SLOW_SCAN_MS = 100;

/** countKey's tally; with a filter, its key is (collection * 2 + deleted) * 2 + refused. */
function tallyOf(filter: KeyFilter | undefined, outside: OutsideBytes | undefined): Decoder {
  if (!filter) return (bytes, size) => tally(countKey(bytes), bytes, size, outside);
  return (bytes, size) => {
    const key = countKey(bytes);
    // The outside bytes see countKey's key (live when even), before the filter's bit is added.
    const t = tally(key, bytes, size, outside);
    return { ...t, key: key < 0 ? key : key * 2 + (filter(bytes, recordKeyOffset(bytes), recordKeyEnd(bytes)) ? 0 : 1) };
  };
}
/** The decoder of a plain scan (one per store, as lmdb-js scans are kept per decoder). */
const UNFILTERED = tallyOf(undefined, undefined);
/** The decoders made per filter and outside-bytes reader, once each (the scans are kept per decoder). */
const DECODERS = new WeakMap<KeyFilter, WeakMap<OutsideBytes | KeyFilter, Decoder>>();

function decoderOf(filter: KeyFilter | undefined, outside: OutsideBytes | undefined): Decoder {
  if (!filter && !outside) return UNFILTERED;
  // Keyed by the filter (or the reader alone), then by the reader (or the filter itself for none).
  const first: KeyFilter | OutsideBytes = filter ?? outside!;
  let byOutside = DECODERS.get(first as KeyFilter);
  if (!byOutside) DECODERS.set(first as KeyFilter, (byOutside = new WeakMap()));
  const second = outside ?? first;
  let d = byOutside.get(second);
  if (!d) byOutside.set(second, (d = tallyOf(filter, outside)));
  return d;
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
  #counted: { seq: number; at: number; tookMs: number; counts: DocCounts; filter: KeyFilter | undefined; outside: OutsideBytes | undefined } | null = null;

  constructor(private readonly bucket: CountedBucket) {}

  /**
   * The counts; with `filter`, also which documents it refuses (see the header); with `outside`,
   * live documents' bytes held outside their records are added to their sizes.
   */
  counts(now = Date.now(), filter?: KeyFilter, outside?: OutsideBytes): DocCounts {
    const seq = this.bucket.persistedBucketSeq;
    const c = this.#counted;
    const fits = c !== null && (filter === undefined || c.filter === filter) && (outside === undefined || c.outside === outside);
    if (fits && (c.seq === seq || (c.tookMs > SLOW_SCAN_MS && now - c.at < c.tookMs * 20))) return c.counts;
    // A filter asked for before stays in use, so that unfiltered readers do not undo its counts.
    const use = filter ?? c?.filter;
    const useOutside = outside ?? c?.outside;
    const { counts, tookMs } = this.#scan(use, useOutside);
    this.#counted = { seq, at: now, tookMs, counts, filter: use, outside: useOutside };
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
  #scan(filter: KeyFilter | undefined, outside: OutsideBytes | undefined): { counts: DocCounts; tookMs: number } {
    const byCollection = new Map<number, CollectionCounts>();
    const manifest = this.bucket.manifest;
    let docCount = 0;
    let delCount = 0;
    let last = -1;
    const fresh = (): CollectionCounts => ({ docCount: 0, delCount: 0, hiddenDocCount: 0, hiddenDelCount: 0, activeBytes: 0, externalBytes: 0, hiddenExternalBytes: 0 });
    let t: CollectionCounts = fresh();
    // Without a filter each key is countKey's; with one, countKey's * 2 + refused.
    const unit = filter ? 2 : 1;
    const decode = decoderOf(filter, outside);
    // The scan's LMDB handle is opened before the clock starts: a first open waits for a write
    // transaction, which says nothing of the bucket's size.
    const reader = this.bucket.store.bySeqReader(this.bucket.name, decode);
    const start = Date.now();
    const snapshot = this.bucket.store.snapshot();
    try {
      for (const { value } of reader.getRange({ transaction: snapshot.txn })) {
        if (value.key < 0) continue; // an erased document's tombstone (countKey)
        const key = Math.floor(value.key / unit);
        const c = Math.floor(key / 2);
        if (c !== last) {
          last = c;
          let found = byCollection.get(c);
          if (!found) byCollection.set(c, (found = fresh()));
          t = found;
        }
        const hidden = unit === 2 && value.key % 2 === 1;
        t.activeBytes += value.recordBytes;
        if (key % 2 === 1) {
          t.delCount++;
          if (hidden) t.hiddenDelCount++;
        } else {
          t.docCount++;
          t.externalBytes += value.valueBytes;
          if (hidden) {
            t.hiddenDocCount++;
            t.hiddenExternalBytes += value.valueBytes;
          }
        }
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
    return { counts: { docCount, delCount, byCollection }, tookMs: Date.now() - start };
  }
}

/** lmdb-js `getStats()` (mdb_stat): pages in use times the page size. */
function pageBytes(stats: unknown): number {
  if (typeof stats !== 'object' || stats === null) return 0;
  const s = stats as Record<string, unknown>;
  const n = (k: string): number => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  return n('pageSize') * (n('treeBranchPageCount') + n('treeLeafPageCount') + n('overflowPages'));
}
