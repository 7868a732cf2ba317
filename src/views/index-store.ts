/**
 * One persistent view index in LMDB: the rows of every view of one design-document signature
 * (or of one native index, e.g. a Mango `json` index) in one keyspace. All indexes of a bucket
 * share its binary side database `couch_views` (engine side-db.ts: dropped with the bucket, one
 * LMDB database per bucket whatever the number of indexes, as LMDB's `maxDbs` is per
 * environment), each under its own 4-byte number:
 *
 *   00 "<cid hex>:<signature>"                      → {no}          directory (per keyspace)
 *   00 "#next"                                      → next number
 *   01 no                                           → IndexHeader   (seq, row counts, sizes)
 *   02 no view key(key-codec.ts) docid 00 n(u16)    → [key, docid, value, truncated?]
 *   02 no view phash(u32) key docid 00 n(u16)      → the same, in a partitioned index
 *   03 no docid                                     → [row keys]    what the document emitted
 *
 * Rows sort in view collation order (key-codec.ts), then by document id in code point order
 * (UTF-8 bytes), as CouchDB sorts equal keys; `n` keeps a document's repeated emits of one key.
 * LMDB keys are limited to 511 bytes: an encoded view key longer than KEY_BYTES is cut there and
 * its row marked truncated. CouchDB's B-tree has no such limit, so rows sharing a cut prefix are
 * put back in exact order by the reader (query-rows.ts) with `collate` on the stored keys: cut
 * rows are adjacent, because a complete encoding is never a prefix of another.
 *
 * A header and the rows it counts are written in one transaction, so an index is consistent at
 * its `seq` after a crash and resumes from there.
 */
import type { Db } from '../couchdb/db.js';
import { binarySideDb, type BinarySideDb } from '../engine/side-db.js';
import { collationFingerprint, encodeKey } from './key-codec.js';
import { partitionOf } from '../couchdb/partition.js';

export const VIEW_NAMESPACE = 'couch_views';
/** Longest encoded key kept whole: 1 + 4 + 1 + 4 (partition hash) + 240 + 250 (id) + 3 stays under LMDB's 511. */
export const KEY_BYTES = 240;

const DIR = 0x00;
const HEAD = 0x01;
const ROW = 0x02;
const BACK = 0x03;

export interface IndexHeader {
  /** The bucket change sequence the index reflects. */
  seq: number;
  /** Row count per view. */
  rows: number[];
  /**
   * `_info` sizes of the live entries (`IndexSizes`); absent in headers written before they were
   * kept, then counted once by `IndexStore.open`. (`bytes`, once a count of every key written,
   * is no longer read.)
   */
  active?: number;
  external?: number;
  /** key-codec.ts fingerprint the keys were encoded with. */
  fp: string;
}

/**
 * What the index's live entries take, in CouchDB's `sizes` terms (couch_mrview `_info`):
 * `external` the JSON of the rows' keys and values, `active` their LMDB entries (a row's key
 * bytes and its stored value's JSON, each document's back-index entry). Measured as JSON, not
 * as LMDB's own value encoding.
 */
export interface IndexSizes {
  active: number;
  external: number;
}

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v ?? null));

/** A row's sizes: the stored value's JSON is its key's and value's, its id's and the array's punctuation. */
function rowSizes(k: Buffer, stored: unknown[]): IndexSizes {
  const external = jsonBytes(stored[0]) + jsonBytes(stored[2]);
  const id = typeof stored[1] === 'string' ? Buffer.byteLength(stored[1]) + 2 : 4;
  return { active: k.length + external + id + stored.length + 1 + (stored.length > 3 ? 1 : 0), external };
}

function backBytes(back: Buffer, keys: readonly Buffer[]): number {
  let n = back.length;
  for (const k of keys) n += k.length;
  return n;
}

/** A stored row as read back. */
export interface StoredRow {
  key: unknown;
  id: string;
  value: unknown;
  truncated: boolean;
}

/** What one document emitted: [view number, key, value] per emit. */
export type Emits = Array<[number, unknown, unknown]>;

export function viewsDb(db: Db): BinarySideDb {
  return binarySideDb(db.bucket, VIEW_NAMESPACE);
}

function u32(prefix: number, no: number, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(5 + extra);
  b[0] = prefix;
  b.writeUInt32BE(no, 1);
  return b;
}

function dirKey(collectionId: number, signature: string): Buffer {
  return Buffer.concat([Buffer.of(DIR), Buffer.from(`${collectionId.toString(16)}:${signature}`)]);
}

const NEXT_KEY = Buffer.concat([Buffer.of(DIR), Buffer.from('#next')]);

/** The number of the index stored for a signature in a keyspace, or undefined. */
export function findIndex(store: BinarySideDb, collectionId: number, signature: string): number | undefined {
  const e = store.get(dirKey(collectionId, signature)) as { no: number } | undefined;
  return e?.no;
}

/** Every signature with a stored index in a keyspace. */
export function listIndexes(store: BinarySideDb, collectionId: number): Array<{ signature: string; no: number }> {
  const prefix = dirKey(collectionId, '');
  const out: Array<{ signature: string; no: number }> = [];
  for (const { key, value } of store.getRange({ start: prefix })) {
    const k = key as Buffer;
    if (k.length < prefix.length || k.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) break;
    out.push({ signature: k.subarray(prefix.length).toString(), no: (value as { no: number }).no });
  }
  return out;
}

/** FNV-1a of a partition name's UTF-8 bytes: the 4 bytes that keep a partition's rows together. */
function partitionHash(partition: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(partition, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * The prefix of a view's rows; in a partitioned index (couchdb/partition.ts), of one partition's
 * rows of the view: the partition's 4-byte hash follows the view number, so a partition's rows are
 * one range in key order (CouchDB keys them `{p, Partition, Key}`, couch_mrview_util
 * apply_partition). A hash rather than the name keeps long partitions within LMDB's key size;
 * readers drop the rows of another partition with the same hash (query-rows.ts).
 */
export function viewPrefix(no: number, view: number, partition?: string): Buffer {
  const b = u32(ROW, no, partition === undefined ? 1 : 5);
  b[5] = view;
  if (partition !== undefined) b.writeUInt32BE(partitionHash(partition), 6);
  return b;
}

/** The bytes a key range of a view starts with: its prefix and the (maybe cut) encoded key. */
export function rowKeyBound(no: number, view: number, key: unknown, partition?: string): { bytes: Buffer; truncated: boolean } {
  const enc = encodeKey(key);
  const truncated = enc.length > KEY_BYTES;
  return { bytes: Buffer.concat([viewPrefix(no, view, partition), truncated ? enc.subarray(0, KEY_BYTES) : enc]), truncated };
}

export class IndexStore {
  readonly store: BinarySideDb;
  header: IndexHeader;

  private constructor(
    readonly db: Db,
    readonly signature: string,
    readonly no: number,
    views: number,
    /** Rows kept per partition (a partitioned design document's, couchdb/partition.ts). */
    readonly partitioned: boolean,
  ) {
    this.store = viewsDb(db);
    const h = this.store.get(u32(HEAD, no)) as IndexHeader | undefined;
    this.header = h ?? { seq: 0, rows: new Array<number>(views).fill(0), active: 0, external: 0, fp: collationFingerprint() };
    while (this.header.rows.length < views) this.header.rows.push(0);
  }

  /** Open (creating when missing) the index of `signature` in the database's keyspace. */
  static async open(db: Db, signature: string, views: number, partitioned = false): Promise<IndexStore> {
    const store = viewsDb(db);
    let no = findIndex(store, db.collectionId, signature);
    if (no === undefined) {
      no = await store.transaction(() => {
        const existing = findIndex(store, db.collectionId, signature);
        if (existing !== undefined) return existing;
        const next = (store.get(NEXT_KEY) as number | undefined) ?? 1;
        void store.put(NEXT_KEY, next + 1);
        void store.put(dirKey(db.collectionId, signature), { no: next });
        return next;
      });
    }
    const idx = new IndexStore(db, signature, no, views, partitioned);
    if (idx.header.active === undefined || idx.header.external === undefined) idx.header = { ...idx.header, ...idx.countSizes() };
    if (idx.header.fp !== collationFingerprint()) {
      // Keys encoded under another ICU table would be out of order: start over (as CouchDB
      // resets an index when its collator version changes).
      await idx.clear();
    }
    return idx;
  }

  /** Remove every row and reset the header to seq 0. */
  async clear(): Promise<void> {
    await this.store.transaction(() => {
      for (const prefix of [ROW, BACK]) {
        const start = u32(prefix, this.no);
        const end = u32(prefix, this.no + 1);
        for (const key of this.store.getKeys({ start, end })) void this.store.remove(key as Buffer);
      }
      this.header = { seq: 0, rows: this.header.rows.map(() => 0), active: 0, external: 0, fp: collationFingerprint() };
      void this.store.put(u32(HEAD, this.no), this.header);
    });
  }

  /** Remove the index entirely (directory entry included). */
  async drop(): Promise<void> {
    await this.clear();
    await this.store.transaction(() => {
      void this.store.remove(u32(HEAD, this.no));
      void this.store.remove(dirKey(this.db.collectionId, this.signature));
    });
  }

  /**
   * Apply one batch: for each document, replace what it emitted before by `emits` (null: the
   * document is gone or no longer indexed), then record `seq`. One LMDB transaction.
   */
  async apply(batch: ReadonlyArray<{ id: string; emits: Emits | null }>, seq: number): Promise<void> {
    const h = this.header;
    const rows = [...h.rows];
    let active = h.active ?? 0;
    let external = h.external ?? 0;
    await this.store.transaction(() => {
      for (const { id, emits } of batch) {
        const idBytes = Buffer.from(id, 'utf8');
        const back = Buffer.concat([u32(BACK, this.no), idBytes]);
        const old = this.store.get(back) as Buffer[] | undefined;
        if (old) {
          active -= backBytes(back, old);
          for (const k of old) {
            const view = k[5]!;
            const was = this.store.get(k) as unknown[] | undefined;
            if (was !== undefined) {
              const size = rowSizes(k, was);
              active -= size.active;
              external -= size.external;
              void this.store.remove(k);
              rows[view] = (rows[view] ?? 1) - 1;
            }
          }
        }
        // A partitioned index holds the documents of partitions only (not design documents).
        const partition = this.partitioned ? partitionOf(id) : undefined;
        if (!emits || emits.length === 0 || (this.partitioned && partition === undefined)) {
          if (old) void this.store.remove(back);
          continue;
        }
        const keys: Buffer[] = [];
        let n = 0;
        for (const [view, key, value] of emits) {
          const { bytes: head, truncated } = rowKeyBound(this.no, view, key, partition);
          const k = Buffer.allocUnsafe(head.length + idBytes.length + 3);
          head.copy(k, 0);
          idBytes.copy(k, head.length);
          k[head.length + idBytes.length] = 0;
          k.writeUInt16BE(n++ & 0xffff, head.length + idBytes.length + 1);
          const stored = truncated ? [key, id, value, 1] : [key, id, value];
          void this.store.put(k, stored);
          keys.push(k);
          rows[view] = (rows[view] ?? 0) + 1;
          const size = rowSizes(k, stored);
          active += size.active;
          external += size.external;
        }
        void this.store.put(back, keys);
        active += backBytes(back, keys);
      }
      this.header = { seq, rows, active, external, fp: h.fp };
      void this.store.put(u32(HEAD, this.no), this.header);
    });
  }

  /** Rows of a view between two LMDB keys (lmdb-js getRange: start inclusive, end exclusive). */
  *range(start: Buffer, end: Buffer, reverse: boolean): Iterable<StoredRow> {
    for (const { value } of this.store.getRange({ start, end, reverse })) {
      const v = value as unknown[];
      yield { key: v[0], id: v[1] as string, value: v[2], truncated: v.length > 3 };
    }
  }

  /** The sizes of the stored entries, counted by reading them all (headers that lack them). */
  countSizes(): IndexSizes {
    const out: IndexSizes = { active: 0, external: 0 };
    for (const { key, value } of this.store.getRange({ start: u32(ROW, this.no), end: u32(ROW, this.no + 1) })) {
      const size = rowSizes(key as Buffer, value as unknown[]);
      out.active += size.active;
      out.external += size.external;
    }
    for (const { key, value } of this.store.getRange({ start: u32(BACK, this.no), end: u32(BACK, this.no + 1) })) {
      out.active += backBytes(key as Buffer, value as Buffer[]);
    }
    return out;
  }

  /**
   * The LMDB pages of the bucket's `couch_views` database, in bytes, that are this index's: all
   * of the bucket's indexes share that database, so its pages are shared out in proportion to
   * each index's `active` bytes (exact when the bucket has one index).
   */
  fileBytes(): number {
    const stats = this.store.getStats() as { pageSize?: number; treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number };
    const pages = (stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0);
    let total = 0;
    for (const { value } of this.store.getRange({ start: Buffer.of(HEAD), end: Buffer.of(HEAD + 1) })) {
      total += (value as IndexHeader).active ?? 0;
    }
    const mine = this.header.active ?? 0;
    return total > 0 ? Math.round((pages * (stats.pageSize ?? 4096) * mine) / total) : 0;
  }

  /** Rows of a view between two LMDB keys, counted. */
  count(start: Buffer, end: Buffer): number {
    return this.store.getCount({ start, end });
  }
}
