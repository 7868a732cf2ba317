/**
 * A CouchDB database: one engine bucket plus the CouchDB layer's own side databases (engine
 * side-db.ts, dropped with the bucket):
 *
 *   couch_local  `_local/` documents: id → { rev: N, body }   (never replicated, never in `_changes`)
 *   couch_att    attachment bytes by digest ("md5-<base64>"), shared by every revision using them
 *   couch_meta   per-database settings (`_revs_limit`)
 *
 * `doc_count`/`doc_del_count` are not tracked by the engine (a KV write does not tell us what it
 * replaced), so both are derived from a scan of the current records (engine record-view.ts),
 * one per key. The counts are cached per update seq; when a scan was slow, they are reused for a
 * while even if writes happened, so that frequent `GET /{db}` (PouchDB sends one per replication
 * batch) stays cheap on big databases: counts can lag on very large, busy databases. Ids in
 * order (`_all_docs`) come from the engine's by-id index (engine/id-index.ts).
 */
import type { Bucket } from '../engine/bucket.js';
import { idRange } from '../engine/id-index.js';
import { scanRecords } from '../engine/record-view.js';
import { putSideDb, sideDb, type SideDb } from '../engine/side-db.js';
import { DEFAULT_REVS_LIMIT } from '../couch/rev-tree.js';

export const AUX_NAMESPACES = ['couch_local', 'couch_att', 'couch_meta'];

export interface DocCounts {
  docCount: number;
  delCount: number;
}

export class Db {
  readonly local: SideDb;
  readonly atts: SideDb;
  readonly meta: SideDb;
  /** Documents that could not be shown: left out of `_changes` (opaque KV values), or an error row. */
  readonly stats = { changesOpaqueSkipped: 0, rowDocErrors: 0 };
  private counted: { seq: number; at: number; tookMs: number; counts: DocCounts } | null = null;

  constructor(readonly bucket: Bucket) {
    this.local = sideDb(bucket, 'couch_local');
    this.atts = sideDb(bucket, 'couch_att');
    this.meta = sideDb(bucket, 'couch_meta');
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
    await putSideDb(this.bucket, this.meta, 'revs_limit', limit);
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

  /**
   * Keys with a current version (tombstones included) in byte order from `start` (inclusive;
   * the last key when descending), read lazily from the by-id index.
   */
  keysFrom(start: Buffer | undefined, descending: boolean): Iterable<Buffer> {
    return idRange(this.bucket, { ...(start ? { start } : {}), descending });
  }

  /**
   * One pass over the current records reading only headers: a record is a deleted document
   * when it is a tombstone. A live value that is no JSON object is a live (opaque) document
   * (doc-store.ts): it is never counted as deleted.
   */
  private scanCounts(): DocCounts {
    let docCount = 0;
    let delCount = 0;
    scanRecords(this.bucket, (rec) => {
      if (rec.deleted) delCount++;
      else docCount++;
    });
    return { docCount, delCount };
  }
}
