/**
 * Recent item records in memory, so that reading a key's current version does not go to LMDB:
 * kv_engine keeps values resident in its hash table and reads the disk only for those it evicted
 * (a bucket's `evictionPolicy`, valueOnly by default). Here the records live in one ring of bytes
 * outside the JavaScript heap, so no GC ever walks them, and the oldest are overwritten first.
 *
 * A record is found by its version, (vbucket, seqno), through a set-associative index of ring
 * positions: a version hashes to a set of four slots and takes the one of the oldest entry, so
 * a collision forgets the oldest of five. A version's record never changes, so a hit needs no invalidation, with one
 * exception: a vbucket whose seqnos restart (warmup, replica reset, discard: VBucket.resetSeqnos)
 * may hand the same seqno to another version. Each entry therefore carries the epoch of its
 * vbucket's seqnos (VBucket.epoch, unique in the process), and a record of an earlier epoch is a
 * miss.
 *
 * The bench (issue #16): the LMDB read was a fifth of a GET's cost on the event loop, and the read
 * of the version a SET replaces a tenth of a SET's.
 *
 * Entry layout at a ring offset (records never straddle the end of the ring):
 *
 *   0  u32  record length
 *   4  u32  epoch
 *   8  u32  vbucket
 *  12  u32  seqno, high 32 bits
 *  16  u32  seqno, low 32 bits
 *  20  the record (record.ts)
 */

const ENTRY_HEADER = 20;
/** Records larger than this share of the ring are not kept (one document would evict thousands). */
const MAX_SHARE = 64;
/** Slots a version may take in the index (one set, within one cache line). */
const WAYS = 4;
/** Ring bytes per index slot: an entry of a 100-byte document is 176 bytes, so about three slots per entry. */
const BYTES_PER_SLOT = 64;
/**
 * A set in the index, in 64-bit words: its WAYS positions, then one word of their WAYS 16-bit
 * tags (tagOf). 40 bytes: most sets lie in one cache line.
 */
const SET_WORDS = WAYS + 1;
/** Where a set's tags start, in 16-bit units from the start of the set. */
const TAGS_AT = WAYS * 4;

/** Where a miss reads a version's record (LMDB's by-seq index), and what the reads are counted in. */
export type FetchRecord = (vb: number, seqno: number) => Buffer | undefined;
export interface RecordReadStats {
  /** Reads served from memory. */
  recordCacheHits: number;
  /** Reads served from LMDB, as kv_engine counts its background fetches (`ep_bg_fetched`). */
  bgFetches: number;
}

export class RecordCache {
  readonly #bytes: Buffer;
  /** The same memory as 32-bit words: entries start on a word, so their headers are read as words. */
  readonly #words: Uint32Array;
  readonly #capacity: number;
  /** Absolute position (bytes ever appended, wrap padding included) of the next entry. */
  #head = 0;
  /**
   * Sets of WAYS slots (with two, a 100k-key cycle of SETs lost about 5% of its records to
   * collisions in a ring that held them all; with four, 0.5%), SET_WORDS apart. Per slot, 1 + the
   * absolute ring position of an entry, or 0 (zero-filled memory, mapped only once written); then
   * the slots' tags. A probe compares the tags, beside the positions, and reads the ring (a cache
   * miss each) only where one matches: without tags, a hit read about two and a half entry headers
   * and a write four.
   */
  readonly #index: Float64Array;
  /** The index's memory as 16-bit units, for the tags. */
  readonly #tags: Uint16Array;
  readonly #mask: number;

  /** `capacity` bytes of ring; 0 keeps nothing. */
  constructor(
    capacity: number,
    private readonly fetch: FetchRecord = () => undefined,
    private readonly stats: RecordReadStats = { recordCacheHits: 0, bgFetches: 0 },
  ) {
    this.#capacity = Math.max(0, Math.floor(capacity / 4) * 4);
    // Zero-filled memory the OS maps lazily: an idle or small bucket does not pay for the whole ring.
    const memory = new ArrayBuffer(this.#capacity);
    this.#bytes = Buffer.from(memory);
    this.#words = new Uint32Array(memory);
    let sets = 1;
    while (sets * WAYS * BYTES_PER_SLOT < this.#capacity) sets *= 2;
    this.#index = new Float64Array(sets * SET_WORDS);
    this.#tags = new Uint16Array(this.#index.buffer);
    this.#mask = sets - 1;
  }

  /**
   * The record of version (vb, seqno) of seqno epoch `epoch`, a buffer the caller owns: from
   * memory, else fetched (and, with `keep`, kept for the next read), or undefined when there is none.
   *
   * A write reads the version it replaces without `keep`: keeping it would spend ring space on a
   * record no one reads again, and under a workload that rewrites keys in a cycle a little longer
   * than the ring holds, each miss kept would push out the next key's record, so that the hit
   * rate fell from about all to about none (the bench's SETs, 80% to 25% with a 24 MiB ring).
   */
  read(vb: number, epoch: number, seqno: number, keep = true, hint = 0): Buffer | undefined {
    const kept = this.get(vb, epoch, seqno, hint);
    if (kept !== undefined) {
      this.stats.recordCacheHits++;
      return kept;
    }
    this.stats.bgFetches++;
    const fetched = this.fetch(vb, seqno);
    if (keep && fetched !== undefined) this.put(vb, epoch, seqno, fetched);
    return fetched;
  }

  /**
   * The record of version (vb, seqno) of seqno epoch `epoch` if kept, as a view of the ring (not a
   * copy): valid until the next `put`, so only for a reader that is done with it before it
   * returns (a GET building its reply). Counted as a read served from memory.
   */
  view(vb: number, epoch: number, seqno: number, hint = 0): Buffer | undefined {
    const at = this.#find(vb, epoch, seqno, hint);
    if (at < 0) return undefined;
    this.stats.recordCacheHits++;
    const off = at % this.#capacity;
    return this.#bytes.subarray(off + ENTRY_HEADER, off + ENTRY_HEADER + this.#words[off >>> 2]!);
  }

  /** A copy of the record of version (vb, seqno) of seqno epoch `epoch` if kept, or undefined. */
  get(vb: number, epoch: number, seqno: number, hint = 0): Buffer | undefined {
    const at = this.#find(vb, epoch, seqno, hint);
    if (at < 0) return undefined;
    const off = at % this.#capacity;
    const length = this.#words[off >>> 2]!;
    const copy = Buffer.allocUnsafe(length);
    this.#bytes.copy(copy, 0, off + ENTRY_HEADER, off + ENTRY_HEADER + length);
    return copy;
  }

  /** The absolute ring position of version (vb, seqno) of `epoch`, or -1: at `hint` (see `put`), else through the index. */
  #find(vb: number, epoch: number, seqno: number, hint: number): number {
    if (hint > 0 && this.#holds(hint - 1, vb, epoch, seqno)) return hint - 1;
    const set = this.#setOf(vb, seqno);
    const tag = tagOf(vb, epoch, seqno);
    const index = this.#index;
    const tags = this.#tags;
    const tagsAt = set * 4 + TAGS_AT;
    let at = -1;
    for (let i = 0; i < WAYS && at < 0; i++) {
      const candidate = index[set + i]! - 1;
      if (tags[tagsAt + i] === tag && this.#holds(candidate, vb, epoch, seqno)) at = candidate;
    }
    return at;
  }

  /**
   * Keep `record` as the record of version (vb, seqno) of seqno epoch `epoch`. Returns its hint:
   * its ring position + 1, which `get`, `view` and `read` take to find it without the index
   * (the key directory keeps it with the key, key-seqnos.ts), or 0 when it is not kept.
   */
  put(vb: number, epoch: number, seqno: number, record: Uint8Array): number {
    const size = (ENTRY_HEADER + record.length + 3) & ~3;
    if (size * MAX_SHARE > this.#capacity) return 0;
    // A slot holding the same version takes the new entry (a record read back after the write
    // kept it); otherwise the one holding the oldest entry (or an empty one, 0) of the set.
    const index = this.#index;
    const tags = this.#tags;
    const set = this.#setOf(vb, seqno);
    const tagsAt = set * 4 + TAGS_AT;
    const tag = tagOf(vb, epoch, seqno);
    let way = 0;
    for (let i = 0; i < WAYS; i++) {
      if (tags[tagsAt + i] === tag && this.#holds(index[set + i]! - 1, vb, epoch, seqno)) {
        way = i;
        break;
      }
      if (index[set + i]! < index[set + way]!) way = i;
    }
    let off = this.#head % this.#capacity;
    if (off + size > this.#capacity) {
      // Wrap: the tail of the ring is padding, counted as appended so positions stay monotonic.
      this.#head += this.#capacity - off;
      off = 0;
    }
    const w = off >>> 2;
    const words = this.#words;
    words[w] = record.length;
    words[w + 1] = epoch;
    words[w + 2] = vb;
    words[w + 3] = Math.floor(seqno / 0x1_0000_0000);
    words[w + 4] = seqno >>> 0;
    this.#bytes.set(record, off + ENTRY_HEADER);
    const hint = this.#head + 1;
    index[set + way] = hint;
    tags[tagsAt + way] = tag;
    this.#head += size;
    return hint;
  }

  /**
   * Forget the record of version (vb, seqno) of `epoch` (EVICT_KEY): its entry's vbucket word is
   * overwritten with one no vbucket has, so neither the index nor a hint finds it again and the
   * next read goes to LMDB. False when it was not kept.
   */
  forget(vb: number, epoch: number, seqno: number, hint = 0): boolean {
    let found = false;
    for (let at = this.#find(vb, epoch, seqno, hint); at >= 0; at = this.#find(vb, epoch, seqno, hint)) {
      this.#words[((at % this.#capacity) >>> 2) + 2] = 0xffffffff;
      found = true;
    }
    return found;
  }

  /** Where the set of version (vb, seqno) starts in the index. */
  #setOf(vb: number, seqno: number): number {
    return (setHash(vb, seqno) & this.#mask) * SET_WORDS;
  }

  /** Whether the entry at absolute position `at` (-1: none) is intact and is version (vb, seqno) of `epoch`. */
  #holds(at: number, vb: number, epoch: number, seqno: number): boolean {
    // An entry older than one ring length was overwritten.
    if (at < 0 || at < this.#head - this.#capacity) return false;
    const w = (at % this.#capacity) >>> 2;
    const words = this.#words;
    return words[w + 4] === seqno >>> 0 && words[w + 2] === vb && words[w + 1] === epoch && words[w + 3] === Math.floor(seqno / 0x1_0000_0000);
  }
}

/** Mix a version's vbucket and seqno into an index set number (before the mask). */
function setHash(vb: number, seqno: number): number {
  const h = Math.imul((seqno >>> 0) ^ Math.imul(vb, 0x9e3779b1), 0x85ebca6b);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A version's tag in its set: another mix of all it is, so that a probe reads the ring only on a likely hit. */
function tagOf(vb: number, epoch: number, seqno: number): number {
  let h = Math.imul((seqno >>> 0) ^ Math.imul(epoch, 0xcc9e2d51), 0x1b873593);
  h = Math.imul(h ^ Math.floor(seqno / 0x1_0000_0000) ^ (vb << 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) & 0xffff;
}
