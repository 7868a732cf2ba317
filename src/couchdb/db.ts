/**
 * A CouchDB database as the HTTP face sees it: one engine bucket plus the face's own side
 * databases (LMDB named databases owned by the bucket, dropped with it):
 *
 *   couch_local  `_local/` documents: id → { rev: N, body }   (never replicated, never in `_changes`)
 *   couch_att    attachment bytes by digest ("md5-<base64>"), shared by every revision using them
 *   couch_meta   per-database settings (`_revs_limit`)
 *
 * `doc_count`/`doc_del_count` are not tracked by the engine (a KV write does not tell us what it
 * replaced), and the engine keeps no ordered key index, so both are derived from a scan of the
 * by-seq index, which holds exactly one record (the current version) per key. The counts are
 * cached per update seq; when a scan was slow, they are reused for a while even if writes
 * happened, so that frequent `GET /{db}` (PouchDB sends one per replication batch) stays cheap
 * on big databases: counts can lag on very large, busy databases. `_all_docs` needs the ids in
 * order: the sorted id list is cached per update seq and rebuilt (O(n log n)) after writes.
 */
import type { Bucket } from '../engine/bucket.js';
import type { LmdbStore, MetaDb } from '../store/lmdb-store.js';
import { DEFAULT_REVS_LIMIT } from '../couch/rev-tree.js';
import { RecordLayout } from '../store/record.js';

export const AUX_NAMESPACES = ['couch_local', 'couch_att', 'couch_meta'];

export interface DocCounts {
  docCount: number;
  delCount: number;
}

/** Offsets in an engine item record (src/store/record.ts). */
const { BITS: REC_BITS, KEY_LEN: REC_KEY_LEN, XATTR_LEN: REC_XATTR_LEN, HEADER: REC_HEADER, NO_XATTRS } = RecordLayout;

export class Db {
  readonly local: MetaDb;
  readonly atts: MetaDb;
  readonly meta: MetaDb;
  private counted: { seq: number; at: number; tookMs: number; counts: DocCounts } | null = null;
  private sorted: { seq: number; keys: Buffer[] } | null = null;

  constructor(
    readonly bucket: Bucket,
    store: LmdbStore,
  ) {
    this.local = store.auxDb(bucket.name, 'couch_local');
    this.atts = store.auxDb(bucket.name, 'couch_att');
    this.meta = store.auxDb(bucket.name, 'couch_meta');
  }

  get name(): string {
    return this.bucket.name;
  }

  /** The `_changes` position everything durable has reached (`update_seq`). */
  get updateSeq(): number {
    return this.bucket.persistedBucketSeq;
  }

  get revsLimit(): number {
    const v = this.meta.get('revs_limit');
    return typeof v === 'number' ? v : DEFAULT_REVS_LIMIT;
  }

  async setRevsLimit(limit: number): Promise<void> {
    await this.meta.put('revs_limit', limit);
  }

  counts(now = Date.now()): DocCounts {
    const seq = this.updateSeq;
    const c = this.counted;
    if (c && (c.seq === seq || (c.tookMs > 20 && now - c.at < c.tookMs * 20))) return c.counts;
    const start = Date.now();
    const counts = this.scanCounts();
    this.counted = { seq, at: now, tookMs: Date.now() - start, counts };
    return counts;
  }

  /** Every key with a current version (tombstones included), in byte order. */
  sortedKeys(): Buffer[] {
    const seq = this.updateSeq;
    if (this.sorted && this.sorted.seq === seq) return this.sorted.keys;
    const keys: Buffer[] = [];
    const snapshot = this.bucket.store.snapshot();
    try {
      for (const { value } of this.bucket.dbs.bySeq.getRange({ transaction: snapshot.txn })) {
        keys.push(Buffer.from(value.subarray(REC_HEADER, REC_HEADER + value.readUInt16BE(REC_KEY_LEN))));
      }
    } finally {
      snapshot.release();
    }
    keys.sort(Buffer.compare);
    this.sorted = { seq, keys };
    return keys;
  }

  /**
   * One pass over the by-seq index reading only record headers: a record is a deleted document
   * when it is a tombstone or its body is not a JSON object (see doc-store.ts).
   */
  private scanCounts(): DocCounts {
    let docCount = 0;
    let delCount = 0;
    const snapshot = this.bucket.store.snapshot();
    try {
      for (const { value } of this.bucket.dbs.bySeq.getRange({ transaction: snapshot.txn })) {
        const rec = value;
        const xl = rec.readUInt32BE(REC_XATTR_LEN);
        const at = REC_HEADER + rec.readUInt16BE(REC_KEY_LEN) + (xl === NO_XATTRS ? 0 : xl);
        const deleted = (rec[REC_BITS]! & 1) !== 0 || firstNonSpace(rec, at) !== 0x7b;
        if (deleted) delCount++;
        else docCount++;
      }
    } finally {
      snapshot.release();
    }
    return { docCount, delCount };
  }
}

function firstNonSpace(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}
