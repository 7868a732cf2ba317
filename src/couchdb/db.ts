/**
 * A CouchDB database: one engine bucket plus the CouchDB layer's own side databases (engine
 * side-db.ts, dropped with the bucket):
 *
 *   couch_local  `_local/` documents: id → { rev: N, body }   (never replicated, never in `_changes`)
 *   couch_att    attachment bytes by digest ("md5-<base64>"), shared by every revision using them
 *   couch_meta   per-database settings (`_revs_limit`)
 *
 * `doc_count`/`doc_del_count` come from the engine's cached count (engine/doc-counts.ts), which
 * every face reads. Ids in order (`_all_docs`) come from the engine's by-id index
 * (engine/id-index.ts).
 */
import type { Bucket, DocCounts } from '../engine/bucket.js';
import { idRange } from '../engine/id-index.js';
import { putSideDb, sideDb, type SideDb } from '../engine/side-db.js';
import { DEFAULT_REVS_LIMIT } from '../couch/rev-tree.js';

export const AUX_NAMESPACES = ['couch_local', 'couch_att', 'couch_meta'];

export type { DocCounts } from '../engine/bucket.js';

export class Db {
  readonly local: SideDb;
  readonly atts: SideDb;
  readonly meta: SideDb;
  /** Documents that could not be shown: left out of `_changes` (opaque KV values), or an error row. */
  readonly stats = { changesOpaqueSkipped: 0, rowDocErrors: 0, reads: 0, writes: 0 };

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

  /** Live and deleted documents (counted by the engine, engine/doc-counts.ts). */
  counts(now = Date.now()): DocCounts {
    return this.bucket.docCounts(now);
  }

  /**
   * Keys with a current version (tombstones included) in byte order from `start` (inclusive;
   * the last key when descending), read lazily from the by-id index.
   */
  keysFrom(start: Buffer | undefined, descending: boolean): Iterable<Buffer> {
    return idRange(this.bucket, { ...(start ? { start } : {}), descending });
  }
}
