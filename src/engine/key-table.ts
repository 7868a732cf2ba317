/**
 * One vbucket's key table (key-seqnos.ts holds one per vbucket): open addressing over typed
 * arrays outside the JavaScript heap, the key bytes in an arena of their own. As a
 * `Map<string, number>` each key was a string and a map entry on the heap, about 64 bytes that
 * every full GC marked: at a million keys that was most of the live heap, and the marking steps
 * were the write-to-delivery p99 (issue #16). Here a key costs its bytes, a 4-byte length and 28
 * bytes of slot (at most 3/4 full), and no GC ever walks it.
 *
 * A slot holds the key's hash, where its bytes are, the handle of its version in flight, its
 * seqno, and the hint of that version's record in the record cache (record-cache.ts `put`): a
 * read of a recent version goes from the slot straight to the record, without the cache's own
 * index, one memory access fewer per GET (issue #16). A hint is only where to look: the cache
 * checks that the entry there is still that version.
 *
 * Directory keys (dir-keys.ts) are latin1 strings, one byte a character, except the U+0100 that
 * starts a key of a non-default collection: stored as a flag on the length, not as a byte.
 */
import { COLLECTION_MARK as MARK } from './dir-keys.js';

const EMPTY = 0;
const DELETED = -1;
const MARKED = 0x80000000;
const LENGTH = 4;
const MIN_SLOTS = 8;
/** Fields of a slot in `#meta`. */
const FIELDS = 7;
const HASH = 0;
const OFFSET = 1;
const HANDLE = 2;
/** The seqno's high and low 32 bits; a high word of NONE: no seqno. */
const SEQ_HI = 3;
const SEQ_LO = 4;
/** The ring position + 1 of the version's record in the record cache (record-cache.ts), 0: none. */
const HINT_HI = 5;
const HINT_LO = 6;
const NONE = -1;
const TWO_32 = 0x1_0000_0000;
const MIN_ARENA = 64;

/** An arena entry's length word: the key's byte count, and MARKED when it starts with the MARK. */
function wordAt(a: Uint8Array, at: number): number {
  return (a[at]! | (a[at + 1]! << 8) | (a[at + 2]! << 16) | (a[at + 3]! << 24)) >>> 0;
}

/** An arena entry's key byte count. */
function lengthAt(a: Uint8Array, at: number): number {
  return (wordAt(a, at) & ~MARKED) >>> 0;
}

/** FNV-1a over the UTF-16 code units (each a byte but the MARK). */
function hashOf(k: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** hashOf of a default-collection key given as its bytes (latin1: a character a byte). */
function hashOfBytes(k: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  return h | 0;
}

/** The hint of the seqno a `read` or `readBytes` last returned (`lastReadHint`). */
let lastHint = 0;

/**
 * The table, key and slot of the last lookup by string: a write looks its key up four times in a
 * row (the SYNC_WRITE_IN_PROGRESS check, the read of the version it replaces, attaching its version
 * in flight, setting its seqno), and all but the first reuse the slot, without hashing the key or
 * comparing its bytes again (issue #16). A slot stays the key's until the table is rebuilt or the
 * slot is freed, which forget it. One for the process, so only one key string is held.
 */
let memoTable: KeyTable | null = null;
let memoKey = '';
let memoSlot = -1;

/** The record-cache hint of the seqno the last `read` or `readBytes` of any table returned. */
export function lastReadHint(): number {
  return lastHint;
}

/** One vbucket's keys: each with a seqno, a handle (0: none), or both. */
export class KeyTable {
  /**
   * Per slot, side by side (a lookup reads one cache line, not one per array): the key's hash;
   * the arena offset + 1 of its bytes, EMPTY, or DELETED (a tombstone: probing goes on); its
   * handle (0: none); its seqno in two words (SEQ_HI NONE: none); its record's hint in two words
   * (0: none).
   */
  #meta = new Int32Array(MIN_SLOTS * FIELDS);
  #slots = MIN_SLOTS;
  #arena = new Uint8Array(MIN_ARENA);
  #arenaUsed = 0;
  /** Keys with a seqno. */
  size = 0;
  /** Slots not EMPTY (keys and tombstones): the load that triggers a resize. */
  #filled = 0;

  get(k: string): number | undefined {
    const slot = this.#lookup(k);
    return slot < 0 ? undefined : this.#seqnoAt(slot);
  }

  /** A slot's seqno, or undefined when it has a handle only. */
  #seqnoAt(slot: number): number | undefined {
    const hi = this.#meta[slot * FIELDS + SEQ_HI]!;
    return hi === NONE ? undefined : hi * TWO_32 + (this.#meta[slot * FIELDS + SEQ_LO]! >>> 0);
  }

  #hasSeqno(slot: number): boolean {
    return this.#meta[slot * FIELDS + SEQ_HI] !== NONE;
  }

  #setSeqno(slot: number, seqno: number | undefined, hint = 0): void {
    const at = slot * FIELDS;
    this.#meta[at + SEQ_HI] = seqno === undefined ? NONE : Math.floor(seqno / TWO_32);
    this.#meta[at + SEQ_LO] = seqno === undefined ? 0 : seqno >>> 0;
    this.#meta[at + HINT_HI] = Math.floor(hint / TWO_32);
    this.#meta[at + HINT_LO] = hint >>> 0;
  }

  /** The hint of a slot (0: none). */
  hintAt(slot: number): number {
    return this.#meta[slot * FIELDS + HINT_HI]! * TWO_32 + (this.#meta[slot * FIELDS + HINT_LO]! >>> 0);
  }

  /** True when `k` had no seqno. */
  set(k: string, seqno: number, hint = 0): boolean {
    const slot = this.#slot(k);
    const had = this.#hasSeqno(slot);
    this.#setSeqno(slot, seqno, hint);
    if (!had) this.size++;
    return !had;
  }

  /** True when `k` had a seqno. A key with a handle keeps its slot. */
  delete(k: string): boolean {
    const slot = this.#lookup(k);
    if (slot < 0 || !this.#hasSeqno(slot)) return false;
    this.size--;
    this.#setSeqno(slot, undefined);
    if (this.#meta[slot * FIELDS + HANDLE] === 0) this.#free(slot);
    return true;
  }

  /** `pool[handle]` for a key with a handle, else its seqno (KeySeqnos.read). */
  read<T>(k: string, pool: ReadonlyArray<T | undefined>): T | number | undefined {
    return this.#answer(this.#lookup(k), pool);
  }

  /** `read` of a default-collection key given as its bytes, without making its string. */
  readBytes<T>(k: Uint8Array, pool: ReadonlyArray<T | undefined>): T | number | undefined {
    return this.#answer(this.#findBytes(k, hashOfBytes(k)), pool);
  }

  /** What a read of slot `slot` (-1: none) answers; a seqno's hint goes to `lastHint`. */
  #answer<T>(slot: number, pool: ReadonlyArray<T | undefined>): T | number | undefined {
    if (slot < 0) return undefined;
    const handle = this.#meta[slot * FIELDS + HANDLE]!;
    lastHint = handle !== 0 ? 0 : this.hintAt(slot);
    return handle !== 0 ? pool[handle] : this.#seqnoAt(slot);
  }

  /** `k`'s slot, or -1. */
  slotOf(k: string): number {
    return this.#lookup(k);
  }

  /** `k`'s slot, made (no seqno, no handle) if need be; it holds until the next insertion. */
  slotFor(k: string): number {
    return this.#slot(k);
  }

  handleAt(slot: number): number {
    return this.#meta[slot * FIELDS + HANDLE]!;
  }

  /** Set a slot's handle (0 clears it; a key left with neither goes). */
  setHandleAt(slot: number, handle: number): void {
    this.#meta[slot * FIELDS + HANDLE] = handle;
    if (handle === 0 && !this.#hasSeqno(slot)) this.#free(slot);
  }

  /** A key left with neither seqno nor handle goes: its slot becomes a tombstone. */
  #free(slot: number): void {
    this.#meta[slot * FIELDS + OFFSET] = DELETED;
    if (memoTable === this) memoTable = null;
  }

  /** `k`'s slot, or -1: the last lookup's when it was of `k` here (see `memoTable`). */
  #lookup(k: string): number {
    if (memoTable === this && memoKey === k) return memoSlot;
    const slot = this.#find(k, hashOf(k));
    if (slot >= 0) {
      memoTable = this;
      memoKey = k;
      memoSlot = slot;
    }
    return slot;
  }

  /** `k`'s slot, made (no seqno, no handle) if need be. */
  #slot(k: string): number {
    const found = this.#lookup(k);
    if (found >= 0) return found;
    const h = hashOf(k);
    if ((this.#filled + 1) * 4 > this.#slots * 3) this.#resize();
    const mask = this.#slots - 1;
    let i = h & mask;
    while (this.#meta[i * FIELDS + OFFSET]! > 0) i = (i + 1) & mask;
    if (this.#meta[i * FIELDS + OFFSET] === EMPTY) this.#filled++;
    this.#meta[i * FIELDS + HASH] = h;
    this.#meta[i * FIELDS + OFFSET] = this.#append(k) + 1;
    this.#setSeqno(i, undefined);
    this.#meta[i * FIELDS + HANDLE] = 0;
    memoTable = this;
    memoKey = k;
    memoSlot = i;
    return i;
  }

  *keys(): IterableIterator<string> {
    const meta = this.#meta;
    for (let i = 0; i < this.#slots; i++) {
      const off = meta[i * FIELDS + OFFSET]!;
      if (off > 0 && meta[i * FIELDS + SEQ_HI] !== NONE) yield this.#keyAt(off - 1);
    }
  }

  #find(k: string, h: number): number {
    const mask = this.#slots - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const off = this.#meta[i * FIELDS + OFFSET]!;
      if (off === EMPTY) return -1;
      if (off !== DELETED && this.#meta[i * FIELDS + HASH] === h && this.#equals(off - 1, k)) return i;
    }
  }

  /** `#find` of a default-collection key given as its bytes. */
  #findBytes(k: Uint8Array, h: number): number {
    const mask = this.#slots - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const off = this.#meta[i * FIELDS + OFFSET]!;
      if (off === EMPTY) return -1;
      if (off !== DELETED && this.#meta[i * FIELDS + HASH] === h && this.#equalsBytes(off - 1, k)) return i;
    }
  }

  #equals(at: number, k: string): boolean {
    const a = this.#arena;
    const word = wordAt(a, at);
    const start = (word & MARKED) !== 0 ? 1 : 0;
    if (start === 1 ? k.charCodeAt(0) !== MARK : k.charCodeAt(0) === MARK) return false;
    if (k.length - start !== (word & ~MARKED)) return false;
    const bytes = at + LENGTH - start;
    for (let i = start; i < k.length; i++) if (a[bytes + i] !== k.charCodeAt(i)) return false;
    return true;
  }

  #equalsBytes(at: number, k: Uint8Array): boolean {
    const a = this.#arena;
    // A marked entry is a non-default collection's key, never equal to a default one's bytes.
    if (wordAt(a, at) !== k.length) return false;
    const bytes = at + LENGTH;
    for (let i = 0; i < k.length; i++) if (a[bytes + i] !== k[i]) return false;
    return true;
  }

  #keyAt(at: number): string {
    const a = this.#arena;
    const k = Buffer.from(a.buffer, a.byteOffset + at + LENGTH, lengthAt(a, at)).toString('latin1');
    return (wordAt(a, at) & MARKED) !== 0 ? String.fromCharCode(MARK) + k : k;
  }

  /** Copy `k` into the arena; its offset. */
  #append(k: string): number {
    const start = k.charCodeAt(0) === MARK ? 1 : 0;
    const n = k.length - start;
    const at = this.#arenaUsed;
    if (at + LENGTH + n > this.#arena.length) this.#growArena(LENGTH + n);
    const a = this.#arena;
    const word = (n | (start === 1 ? MARKED : 0)) >>> 0;
    a[at] = word & 0xff;
    a[at + 1] = (word >>> 8) & 0xff;
    a[at + 2] = (word >>> 16) & 0xff;
    a[at + 3] = word >>> 24;
    const bytes = at + LENGTH - start;
    for (let i = start; i < k.length; i++) a[bytes + i] = k.charCodeAt(i);
    this.#arenaUsed = at + LENGTH + n;
    return at;
  }

  #growArena(need: number): void {
    let length = this.#arena.length * 2;
    while (length < this.#arenaUsed + need) length *= 2;
    const grown = new Uint8Array(length);
    grown.set(this.#arena.subarray(0, this.#arenaUsed));
    this.#arena = grown;
  }

  /** Rebuild at twice the keys' need (tombstones and their arena bytes dropped). */
  #resize(): void {
    if (memoTable === this) memoTable = null;
    const meta = this.#meta;
    const old = this.#slots;
    const arena = this.#arena;
    let keys = 0;
    let bytes = 0;
    for (let i = 0; i < old; i++) {
      const off = meta[i * FIELDS + OFFSET]!;
      if (off <= 0) continue;
      keys++;
      bytes += LENGTH + lengthAt(arena, off - 1);
    }
    let slots = MIN_SLOTS;
    while (slots * 3 < keys * 4 * 2) slots *= 2;
    this.#meta = new Int32Array(slots * FIELDS);
    this.#slots = slots;
    this.#arena = new Uint8Array(Math.max(MIN_ARENA, bytes * 2));
    this.#arenaUsed = 0;
    this.#filled = keys;
    const mask = slots - 1;
    for (let i = 0; i < old; i++) {
      const off = meta[i * FIELDS + OFFSET]!;
      if (off <= 0) continue;
      const from = off - 1;
      const entry = LENGTH + lengthAt(arena, from);
      const at = this.#arenaUsed;
      this.#arena.set(arena.subarray(from, from + entry), at);
      this.#arenaUsed += entry;
      const h = meta[i * FIELDS + HASH]!;
      let j = h & mask;
      while (this.#meta[j * FIELDS + OFFSET] !== EMPTY) j = (j + 1) & mask;
      this.#meta[j * FIELDS + HASH] = h;
      this.#meta[j * FIELDS + OFFSET] = at + 1;
      // The handle, the seqno and the hint, as they were.
      for (let f = HANDLE; f < FIELDS; f++) this.#meta[j * FIELDS + f] = meta[i * FIELDS + f]!;
    }
  }
}
