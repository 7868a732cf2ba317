/**
 * The by-id index: every key that has a current version (tombstones included), in byte order,
 * so that `_all_docs` pages through ids in O(log n + rows) (CouchDB reads its by-id b-tree the
 * same way, couch_db:fold_docs/4) instead of sorting every key after each write.
 *
 * An in-memory ordered structure beside the bucket's key directory, maintained incrementally,
 * rather than a persistent LMDB index. Measured with `BENCH_DOCS=200000 npm run bench -- engine`
 * (all creates), an LMDB by-id database written in the same group-committed transaction as the
 * item cost 10-25% of durable write throughput (one more b-tree put and its dirty pages per new
 * key, synced with every commit). Here a new key costs a binary search and an array insert on
 * the event loop, and nothing on disk. What this trades:
 * - it is built from the key directory when first read (one sort, O(n log n): about a second for
 *   a million keys; key-directory.ts), so existing data directories need nothing and a bucket
 *   that never lists its ids never builds it;
 * - memory: one reference per key (the key strings are the directory's own);
 * - the set of keys changes only when a key is created or its last version is purged, discarded
 *   or rolled back; an update of an existing key does not touch it.
 *
 * Keys are the directory's latin1 strings: one char per byte, so JavaScript's string order (by
 * UTF-16 code unit) is the byte order of the keys. Stored as sorted chunks (at most CHUNK keys
 * each) with each chunk's last key in a parallel array: a lookup is two binary searches, an insert
 * or removal moves at most CHUNK references.
 *
 * New keys are not inserted on the write path: they are appended to a buffer that is sorted and
 * merged in when the index is next read (or when the buffer outgrows the index). Inserting each
 * new key at once cost a quarter of durable write throughput on an all-creates load
 * (`npm run bench -- engine`); a KV-only workload that never lists `_all_docs` now pays one
 * array push per new key, and a reader pays O(k log k + n) once for k keys added since.
 *
 * Counting (`idCount`, the CouchDB face's `_all_docs` offset): how many keys of a range a counter
 * accepts (live, and a document id), where a b-tree would keep the count in its reductions
 * (CouchDB's by-id tree, couch_bt_engine id_tree_reduce). Each chunk's count is kept once asked
 * for, and dropped when the chunk gains or loses a key or one of its keys is written again
 * (`touch`: one array push per write, and only once something has been counted), so a count reads
 * the cached chunks and asks the counter only about keys in the chunks that changed since and in
 * the (at most two) chunks the range cuts.
 */
import { bucketCore, type Bucket } from './bucket.js';
import { collectionPrefix, collectionRange, parseDirKey } from './dir-keys.js';
import type { KeyFilter } from './doc-counts.js';

const CHUNK = 512;

/** Writes remembered for the chunk counts before they are all dropped at once (at least this many, or one per chunk). */
const TOUCH_LIMIT = 4096;

/** First index in sorted `a` whose element is >= `k` (a.length when none). */
function lowerBound(a: readonly string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class IdIndex {
  private chunks: string[][] = [];
  /** The last key of each chunk. */
  private lasts: string[] = [];
  private count = 0;
  /** New keys not merged in yet (unsorted). */
  private added: string[] = [];
  /** Per chunk, how many of its keys the counter named by `countedFor` accepts (undefined: count again); null until a count is asked for. */
  private counts: Array<number | undefined> | null = null;
  private countedFor: object | null = null;
  /** Existing keys written since the last count: their chunks' counts are dropped then. */
  private touched: string[] = [];

  /** Replace the contents with `keys` (any order, no duplicates). */
  reset(keys: Iterable<string>): void {
    this.added = [];
    this.rebuild([...keys].sort());
  }

  /** Chunks from a sorted, duplicate-free list. */
  private rebuild(all: string[]): void {
    this.chunks = [];
    this.lasts = [];
    for (let i = 0; i < all.length; i += CHUNK) {
      const chunk = all.slice(i, i + CHUNK);
      this.chunks.push(chunk);
      this.lasts.push(chunk[chunk.length - 1]!);
    }
    this.count = all.length;
    if (this.counts !== null) this.counts = new Array<number | undefined>(this.chunks.length).fill(undefined);
  }

  get size(): number {
    this.flush();
    return this.count;
  }

  /** Add a key not present yet (merged in when the index is next read). */
  add(k: string): void {
    this.added.push(k);
    if (this.added.length > Math.max(4096, this.count)) this.flush();
  }

  /**
   * Merge the buffered new keys in: one by one while they are few beside the index (an insert is
   * two binary searches and a shift within one chunk; measured about 16 times a rebuild's cost per
   * key), else one sorted merge of everything. A
   * reader between small write batches (`_bulk_docs` reads the `_design/` range for its
   * validation functions before every request) must not pay O(all keys) each time.
   */
  private flush(): void {
    const added = this.added;
    if (added.length === 0) return;
    this.added = [];
    if (added.length <= 64 || added.length * 16 <= this.count) {
      for (const k of added) this.insert(k);
      return;
    }
    added.sort();
    const merged: string[] = [];
    const push = (k: string): void => {
      if (merged.length === 0 || merged[merged.length - 1] !== k) merged.push(k);
    };
    let j = 0;
    for (const chunk of this.chunks) {
      for (const k of chunk) {
        while (j < added.length && added[j]! <= k) push(added[j++]!);
        push(k);
      }
    }
    while (j < added.length) push(added[j++]!);
    this.rebuild(merged);
  }

  private insert(k: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([k]);
      this.lasts.push(k);
      this.counts?.push(undefined);
      this.count++;
      return;
    }
    const c = Math.min(lowerBound(this.lasts, k), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const at = lowerBound(chunk, k);
    if (chunk[at] === k) return;
    chunk.splice(at, 0, k);
    this.count++;
    if (this.counts !== null) this.counts[c] = undefined;
    if (at === chunk.length - 1) this.lasts[c] = k;
    if (chunk.length > CHUNK * 2) {
      const upper = chunk.splice(CHUNK);
      this.chunks.splice(c + 1, 0, upper);
      this.lasts.splice(c, 1, chunk[chunk.length - 1]!, upper[upper.length - 1]!);
      this.counts?.splice(c + 1, 0, undefined);
    }
  }

  /** Remove a key (nothing when absent). */
  remove(k: string): void {
    this.flush();
    const c = lowerBound(this.lasts, k);
    const chunk = this.chunks[c];
    if (!chunk) return;
    const at = lowerBound(chunk, k);
    if (chunk[at] !== k) return;
    chunk.splice(at, 1);
    this.count--;
    if (this.counts !== null) this.counts[c] = undefined;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.lasts.splice(c, 1);
      this.counts?.splice(c, 1);
    } else if (at === chunk.length) {
      this.lasts[c] = chunk[chunk.length - 1]!;
    }
  }

  /** An existing key was written again: the count of its chunk may change (nothing to do before anything was counted). */
  touch(k: string): void {
    if (this.counts === null) return;
    this.touched.push(k);
    if (this.touched.length > Math.max(TOUCH_LIMIT, this.chunks.length)) {
      this.counts.fill(undefined);
      this.touched = [];
    }
  }

  /**
   * How many keys k with `from` <= k < `to` `accept` accepts. `counter` names the question: the
   * chunk counts kept are for one counter at a time, and `accept` must answer the same for a key
   * until it is written again (see the header).
   */
  countRange(from: string, to: string, counter: object, accept: (k: string) => boolean): number {
    this.flush();
    if (this.counts === null || this.countedFor !== counter) {
      this.counts = new Array<number | undefined>(this.chunks.length).fill(undefined);
      this.countedFor = counter;
      this.touched = [];
    }
    const counts = this.counts;
    for (const k of this.touched) {
      const c = lowerBound(this.lasts, k);
      if (c < counts.length) counts[c] = undefined;
    }
    this.touched = [];
    let n = 0;
    for (let c = lowerBound(this.lasts, from); c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      if (chunk[0]! >= to) break;
      if (chunk[0]! >= from && this.lasts[c]! < to) {
        let m = counts[c];
        if (m === undefined) {
          m = 0;
          for (const k of chunk) if (accept(k)) m++;
          counts[c] = m;
        }
        n += m;
        continue;
      }
      // A chunk the range cuts: its keys inside the range, or, when the chunk's count is known and
      // fewer keys lie outside, that count less theirs.
      const i0 = lowerBound(chunk, from);
      const i1 = lowerBound(chunk, to);
      const known = counts[c];
      if (known !== undefined && chunk.length - (i1 - i0) < i1 - i0) {
        let outside = 0;
        for (let i = 0; i < i0; i++) if (accept(chunk[i]!)) outside++;
        for (let i = i1; i < chunk.length; i++) if (accept(chunk[i]!)) outside++;
        n += known - outside;
      } else {
        for (let i = i0; i < i1; i++) if (accept(chunk[i]!)) n++;
      }
    }
    return n;
  }

  /**
   * Keys from `start` (inclusive; with `descending`, the last key <= start), lazily. Read it
   * synchronously: a write between two steps may shift positions.
   */
  *from(start: string | undefined, descending: boolean): Generator<string> {
    this.flush();
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    let c: number;
    let i: number;
    if (!descending) {
      c = start === undefined ? 0 : lowerBound(this.lasts, start);
      i = start === undefined || c >= chunks.length ? 0 : lowerBound(chunks[c]!, start);
      for (; c < chunks.length; c++, i = 0) {
        const chunk = chunks[c]!;
        for (; i < chunk.length; i++) yield chunk[i]!;
      }
      return;
    }
    if (start === undefined) {
      c = chunks.length - 1;
      i = chunks[c]!.length - 1;
    } else {
      c = Math.min(lowerBound(this.lasts, start), chunks.length - 1);
      const chunk = chunks[c]!;
      i = lowerBound(chunk, start);
      if (i >= chunk.length || chunk[i]! > start) i--;
    }
    for (; c >= 0; c--, i = c >= 0 ? chunks[c]!.length - 1 : 0) {
      const chunk = chunks[c]!;
      for (; i >= 0; i--) yield chunk[i]!;
    }
  }
}

export interface IdRangeOptions {
  /** First key (inclusive); with `descending`, the last key (inclusive). */
  start?: Buffer;
  descending?: boolean;
  /** The collection whose keys to list (default 0); dir-keys.ts lays them out as one range. */
  collection?: number;
}

/**
 * A collection's keys in byte order (reverse when descending) from `start`, lazily: a caller that
 * stops after `limit` rows reads O(log n + rows). Includes writes still in flight, as
 * Bucket.lookup does.
 */
export function* idRange(bucket: Bucket, opts: IdRangeOptions = {}): Generator<Buffer> {
  const collection = opts.collection ?? 0;
  const range = collectionRange(collection);
  const prefix = collectionPrefix(collection);
  const descending = opts.descending === true;
  const start = opts.start ? prefix + opts.start.toString('latin1') : descending ? range.end : range.start || undefined;
  for (const k of bucketCore(bucket).ids.from(start, descending)) {
    if (descending ? k < range.start : k >= range.end) return;
    if (k >= range.end) continue;
    yield Buffer.from(prefix ? k.slice(prefix.length) : k, 'latin1');
  }
}

export interface IdCountOptions {
  /** First key counted (inclusive); the collection's first when absent. */
  from?: Buffer;
  /** Where counting stops (exclusive); the collection's end when absent. */
  to?: Buffer;
  /** The collection whose keys to count (default 0). */
  collection?: number;
  /**
   * Which keys count, besides being live. The counts kept per chunk are per filter (by identity):
   * pass one function for one question.
   */
  visible: KeyFilter;
}

/**
 * How many keys of a collection in [from, to) have a live current version (not a tombstone,
 * writes in flight included, as idRange lists them) and pass `visible`. An item past its expiry
 * that the pager has not turned into a tombstone yet still counts: a count kept per chunk cannot
 * follow the clock.
 */
export function idCount(bucket: Bucket, opts: IdCountOptions): number {
  const collection = opts.collection ?? 0;
  const range = collectionRange(collection);
  const prefix = collectionPrefix(collection);
  const from = opts.from ? prefix + opts.from.toString('latin1') : range.start;
  const to = opts.to ? prefix + opts.to.toString('latin1') : range.end;
  const core = bucketCore(bucket);
  const visible = opts.visible;
  return core.ids.countRange(from < range.start ? range.start : from, to > range.end ? range.end : to, visible, (k) => {
    const { collection: c, key } = parseDirKey(k);
    const bytes = Buffer.from(key, 'latin1');
    if (!visible(bytes, 0, bytes.length)) return false;
    const item = core.lookup(bytes, c, undefined, k, false);
    return item !== undefined && !item.deleted;
  });
}
