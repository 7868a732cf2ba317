/**
 * A CouchDB database as the HTTP face sees it: one engine bucket plus the face's own side
 * databases (LMDB named databases owned by the bucket, dropped with it):
 *
 *   couch_local  `_local/` documents: id → { rev: N, body }   (never replicated, never in `_changes`)
 *   couch_att    attachment bytes by digest ("md5-<base64>"), shared by every revision using them
 *   couch_meta   per-database settings (`_revs_limit`)
 *
 * `doc_count`/`doc_del_count` come from the engine's cached count (engine/doc-counts.ts). The
 * engine keeps no ordered key index and `_all_docs` needs the ids in order: the sorted id list is
 * cached per update seq and rebuilt (O(n log n)) after writes.
 */
import type { Bucket, DocCounts } from '../engine/bucket.js';
import type { LmdbStore, MetaDb } from '../store/lmdb-store.js';
import { DEFAULT_REVS_LIMIT } from '../couch/rev-tree.js';
import { RecordLayout } from '../store/record.js';

export const AUX_NAMESPACES = ['couch_local', 'couch_att', 'couch_meta'];

export type { DocCounts } from '../engine/bucket.js';

/** Offsets in an engine item record (src/store/record.ts). */
const { KEY_LEN: REC_KEY_LEN, HEADER: REC_HEADER } = RecordLayout;

export class Db {
  readonly local: MetaDb;
  readonly atts: MetaDb;
  readonly meta: MetaDb;
  /** Documents that could not be shown: left out of `_changes` (opaque KV values), or an error row. */
  readonly stats = { changesOpaqueSkipped: 0, rowDocErrors: 0, reads: 0, writes: 0 };
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
    await this.bucket.store.putMeta(this.meta, 'revs_limit', limit);
  }

  /** Live and deleted documents (counted by the engine, engine/doc-counts.ts). */
  counts(now = Date.now()): DocCounts {
    return this.bucket.docCounts(now);
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
}
