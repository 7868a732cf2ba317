/**
 * A CouchDB database: one collection of an engine bucket (keyspace.ts: the bucket alone is its
 * `_default` collection, `bucket.scope.collection` any other) plus the CouchDB layer's own side
 * databases (engine side-db.ts, dropped with the bucket; side-store.ts separates them per
 * keyspace):
 *
 *   couch_local  `_local/` documents: id → { rev: N, body }   (never replicated, never in `_changes`)
 *   couch_att    attachment bytes by digest ("md5-<base64>"), shared by every revision using them
 *   couch_meta   per-database settings (`_revs_limit`, `partitioned`)
 *   couch_revs   bodies of interior revisions until compaction (rev-history.ts)
 *
 * Every document operation goes through the engine's `Collection` (`docs`), so a database sees
 * only its collection's documents. `doc_count`/`doc_del_count` are the collection's share of the
 * engine's cached count (engine/doc-counts.ts), which every face reads. Ids in order
 * (`_all_docs`) come from the engine's by-id index (engine/id-index.ts), one range per collection.
 */
import { attachmentBytes } from './doc-sizes.js';
import { persistedThrough } from '../engine/change-wait.js';
import type { Bucket } from '../engine/bucket.js';
import type { Collection } from '../engine/collection.js';
import { idRange } from '../engine/id-index.js';
import { DEFAULT_REVS_LIMIT } from '../couch/rev-tree.js';
import { isDocIdKey } from '../couch/doc.js';
import { DEFAULT_ATTACHMENT_COMPRESSION, type AttachmentCompression } from '../couch/att-encoding.js';
import { keyspaceName } from './keyspace.js';
import { collectionsNamespace, KeyspaceSide } from './side-store.js';
import { HISTORY_NAMESPACES, RevHistory } from './rev-history.js';
import { PARTITIONED_META_KEY } from './partition.js';
import { DEFAULT_MAX_PARTITION_SIZE } from './partition-size.js';

/** Longest a read of the persisted state waits for earlier acknowledged writes to reach the disk. */
const READ_YOUR_WRITES_MS = 2_000;

const SIDE_NAMESPACES = ['couch_local', 'couch_att', 'couch_meta'];
/** The view indexes of every keyspace of the bucket (src/views/index-store.ts, binary keys). */
const VIEWS_NAMESPACE = 'couch_views';
/** Every side namespace of a bucket, default collection's and the others' (Engine.deleteBucket drops them). */
export const AUX_NAMESPACES = [...SIDE_NAMESPACES, ...SIDE_NAMESPACES.map(collectionsNamespace), VIEWS_NAMESPACE, ...HISTORY_NAMESPACES];
/** The side namespaces whose entries a dropped collection leaves behind (side-store.ts dropCollectionSides). */
export const SIDE_NAMESPACE_BASES: readonly string[] = SIDE_NAMESPACES;

/** Live and deleted documents of one database. */
export interface DbCounts {
  docCount: number;
  delCount: number;
  /** Bytes of the collection's current records, tombstones included (`sizes.active`). */
  activeBytes: number;
  /** Bytes of its live documents' bodies (`sizes.external`). */
  externalBytes: number;
}

export class Db {
  /** The collection's document API (engine/collection.ts). */
  readonly docs: Collection;
  readonly local: KeyspaceSide;
  readonly atts: KeyspaceSide;
  readonly meta: KeyspaceSide;
  /** Bodies of interior revisions until compaction (rev-history.ts). */
  readonly history: RevHistory;
  /**
   * Documents that could not be shown: left out of `_changes` (opaque KV values, keys that are no
   * CouchDB ids), or an error row.
   */
  readonly stats = { changesOpaqueSkipped: 0, changesNotCouchIds: 0, rowDocErrors: 0, reads: 0, writes: 0 };

  constructor(
    readonly bucket: Bucket,
    /** The collection id (engine/manifest.ts); 0 is `_default._default`. */
    readonly collectionId = 0,
    /**
     * The `[attachments]` settings in effect, read at each attachment write (the HTTP face's
     * `_config`, couchdb/config.ts attachmentCompressionOf); CouchDB's defaults otherwise.
     */
    readonly attachmentCompression: () => AttachmentCompression = () => DEFAULT_ATTACHMENT_COMPRESSION,
    /** `[couchdb] max_partition_size` in effect (partition-size.ts), read at each interactive write. */
    readonly maxPartitionSize: () => number = () => DEFAULT_MAX_PARTITION_SIZE,
    /** `[disk_monitor]` refusing interactive writes now (disk-monitor.ts), read at each one. */
    readonly interactiveWritesBlocked: () => boolean = () => false,
  ) {
    this.docs = bucket.collection(collectionId);
    this.local = new KeyspaceSide(bucket, 'couch_local', collectionId);
    this.atts = new KeyspaceSide(bucket, 'couch_att', collectionId);
    this.meta = new KeyspaceSide(bucket, 'couch_meta', collectionId);
    this.history = new RevHistory(bucket, collectionId);
  }

  /** The database name: the bucket's for its default collection, else `bucket.scope.collection`. */
  get name(): string {
    return keyspaceName(this.bucket, this.collectionId);
  }

  /** Whether the collection is still in the bucket's manifest (a dropped one is no database). */
  get exists(): boolean {
    return !this.bucket.isClosed && this.bucket.manifest.hasCollection(this.collectionId);
  }

  /** The `_changes` position everything durable has reached (`update_seq`): bucket-wide seqs, shared by its keyspaces. */
  get updateSeq(): number {
    return this.bucket.persistedBucketSeq;
  }

  /**
   * Wait (briefly) until the writes acknowledged so far are on disk: what reads the persisted state
   * (`_changes`, `update_seq`, document counts) then includes a KV write acknowledged from memory
   * before the request (issue #16), so a client reads its own writes.
   */
  settled(signal?: AbortSignal): Promise<void> {
    return persistedThrough(this.bucket, this.bucket.bucketSeq, READ_YOUR_WRITES_MS, signal);
  }

  get revsLimit(): number {
    const v = this.meta.get('revs_limit');
    return typeof v === 'number' ? v : DEFAULT_REVS_LIMIT;
  }

  async setRevsLimit(limit: number): Promise<void> {
    await this.meta.put('revs_limit', limit);
  }

  /** Whether the database was created partitioned (couchdb/partition.ts); fixed at creation. */
  get partitioned(): boolean {
    return this.meta.get(PARTITIONED_META_KEY) === true;
  }

  /** Mark a database just created with `?partitioned=true`. */
  async markPartitioned(): Promise<void> {
    await this.meta.put(PARTITIONED_META_KEY, true);
  }

  /**
   * Live and deleted documents of this collection (counted by the engine, engine/doc-counts.ts),
   * those only whose key can be a document id (couch/doc.ts isDocIdKey): `_txn:` records of
   * Couchbase transactions and binary keys are in the bucket but no document of the database
   * (`_all_docs` and `_changes` leave them out), so `doc_count` and `total_rows` leave them out too.
   */
  counts(now = Date.now()): DbCounts {
    const c = this.bucket.docCounts(now, isDocIdKey, attachmentBytes).byCollection.get(this.collectionId);
    if (!c) return { docCount: 0, delCount: 0, activeBytes: 0, externalBytes: 0 };
    return { docCount: c.docCount - c.hiddenDocCount, delCount: c.delCount - c.hiddenDelCount, activeBytes: c.activeBytes, externalBytes: c.externalBytes - c.hiddenExternalBytes };
  }

  /**
   * Keys with a current version (tombstones included) in byte order from `start` (inclusive;
   * the last key when descending), read lazily from the by-id index.
   */
  keysFrom(start: Buffer | undefined, descending: boolean): Iterable<Buffer> {
    return idRange(this.bucket, { ...(start ? { start } : {}), descending, collection: this.collectionId });
  }
}
