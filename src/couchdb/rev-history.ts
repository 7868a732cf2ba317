/**
 * The revision history: bodies and attachment metadata of interior (non-leaf) revisions, kept
 * until compaction, as CouchDB keeps them in its database file until `_compact` rewrites it
 * without them (couch_db_updater: compaction copies only leaf bodies; couch_db:doc_meta_info/3
 * then reports the others as `missing` in `_revs_info`).
 *
 * The item keeps only the winner's body (its value) and the other leaves' bodies (in its xattrs,
 * doc-store.ts), so the KV and DCP faces never see old revisions. When a write makes a stored leaf
 * interior (an update, a deletion, a replicated descendant), doc-store.ts `storeDoc` queues that
 * leaf's body here in the same event turn as the item, into the same group commit
 * (engine/side-db.ts `writeSide`): one more put in the item's LMDB transaction, no extra commit.
 * The entry of a revision never changes (a revision id names one content), so a write retried
 * after a CAS race may put it again harmlessly.
 *
 * Storage: a binary side database, `couch_revs` for the default collection and `couch_revs_c`
 * for the others with keys prefixed by the collection id in hex and ':' (as side-store.ts); key
 * `JSON.stringify(docId) + rev` (a quoted id is never a prefix of another one); value: a version
 * byte (1), the attachment metadata's JSON length (u32 BE), that JSON, the body's JSON. Attachment
 * bytes stay in `couch_att` by digest (att-store.ts), never collected, so an old revision's
 * attachments read like a leaf's.
 *
 * Only revisions still in the tree are readable (doc-revs.ts `openRev` checks the tree): a
 * revision stemmed past `_revs_limit` is gone, as in CouchDB, and its entry waits for the next
 * compaction. Compaction (`POST /{db}/_compact`, the engine's scheduled compaction, the cluster
 * manager's) empties both databases of the bucket: afterwards only leaves have bodies. Entries of
 * a dropped collection go with the next compaction (collection ids are never reused).
 */
import type { AttachmentMeta } from '../couch/attachments.js';
import type { Bucket } from '../engine/bucket.js';
import type { CompactionResult } from '../engine/maintenance.js';
import { bytesSideDb, clearSide, writeSide, type BytesSideDb } from '../engine/side-db.js';
import type { RevTree } from '../couch/rev-tree.js';
import type { RevInfo } from '../couch/rev-tree-query.js';
import type { Db } from './db.js';
import type { DocState } from './doc-store.js';
import type { RevData } from './doc-sync.js';
import { collectionsNamespace } from './side-store.js';

export const HISTORY_NAMESPACE = 'couch_revs';
/** Both namespaces of a bucket's history (dropped with the bucket, db.ts AUX_NAMESPACES). */
export const HISTORY_NAMESPACES: readonly string[] = [HISTORY_NAMESPACE, collectionsNamespace(HISTORY_NAMESPACE)];

/** What reading a document needs of the history (doc-store.ts stateFromItem). */
export interface RevHistoryReader {
  get(id: string, rev: string): RevData | null;
  has(id: string, rev: string): boolean;
}

/** For documents read without their database's history (listings read only winners). */
export const NO_HISTORY: RevHistoryReader = { get: () => null, has: () => false };

const FORMAT = 1;
const HEADER = 5;

function encode(json: Buffer, atts: readonly AttachmentMeta[]): Buffer {
  const attsJson = atts.length > 0 ? Buffer.from(JSON.stringify(atts)) : null;
  const header = Buffer.allocUnsafe(HEADER);
  header[0] = FORMAT;
  header.writeUInt32BE(attsJson?.length ?? 0, 1);
  return Buffer.concat(attsJson ? [header, attsJson, json] : [header, json]);
}

function decode(v: Buffer): RevData | null {
  if (v.length < HEADER || v[0] !== FORMAT) return null;
  const attsLen = v.readUInt32BE(1);
  const atts: unknown = attsLen > 0 ? JSON.parse(v.toString('utf8', HEADER, HEADER + attsLen)) : [];
  const body: unknown = JSON.parse(v.toString('utf8', HEADER + attsLen));
  if (!Array.isArray(atts) || typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  return { body: body as Record<string, unknown>, atts: atts as AttachmentMeta[] };
}

/**
 * Bytes of the history per bucket and collection id (`GET /{db}` sizes): counted by one scan of
 * the keyspace the first time they are asked for, then kept by `put`; a compaction forgets the
 * bucket's, so the next read counts again (what is left).
 */
const sizes = new WeakMap<Bucket, Map<number, number>>();

export class RevHistory implements RevHistoryReader {
  readonly #db: BytesSideDb;
  readonly #prefix: string;
  readonly #collectionId: number;
  /** Entries written, and read back (CouchDB has no such counters; they show the history is used). */
  readonly stats = { writes: 0, reads: 0 };

  constructor(
    private readonly bucket: Bucket,
    collectionId: number,
  ) {
    this.#collectionId = collectionId;
    this.#db = bytesSideDb(bucket, HISTORY_NAMESPACES[collectionId === 0 ? 0 : 1]!);
    this.#prefix = collectionId === 0 ? '' : `${collectionId.toString(16)}:`;
  }

  #key(id: string, rev: string): Buffer {
    return Buffer.from(this.#prefix + JSON.stringify(id) + rev);
  }

  /**
   * Keep the body (JSON bytes) of a revision that has just become interior. Call it in the turn
   * of the item write it goes with, so both share a commit; durable once resolved.
   */
  put(id: string, rev: string, json: Buffer, atts: readonly AttachmentMeta[]): Promise<void> {
    this.stats.writes++;
    const key = this.#key(id, rev);
    const value = encode(json, atts);
    const known = sizes.get(this.bucket);
    const bytes = known?.get(this.#collectionId);
    if (bytes !== undefined) known!.set(this.#collectionId, bytes + key.length + value.length);
    return writeSide(this.bucket, this.#db, [{ key, value }]);
  }

  get(id: string, rev: string): RevData | null {
    const v = this.#db.get(this.#key(id, rev));
    if (v === undefined) return null;
    this.stats.reads++;
    return decode(v);
  }

  has(id: string, rev: string): boolean {
    return this.#db.doesExist(this.#key(id, rev));
  }

  /**
   * Bytes of this keyspace's entries, keys included (`GET /{db}` sizes: CouchDB counts interior
   * bodies as live data until compaction drops them).
   */
  bytes(): number {
    let known = sizes.get(this.bucket);
    if (!known) sizes.set(this.bucket, (known = new Map()));
    let bytes = known.get(this.#collectionId);
    if (bytes === undefined) {
      bytes = 0;
      const start = Buffer.from(this.#prefix);
      // Past every key of the prefix: '{hex}:' ends before '{hex};'; the default's is the whole database.
      const end = this.#prefix === '' ? undefined : Buffer.from(`${this.#prefix.slice(0, -1)};`);
      for (const { key, value } of this.#db.getRange({ start, ...(end ? { end } : {}) })) bytes += key.length + value.length;
      known.set(this.#collectionId, bytes);
    }
    return bytes;
  }
}

/**
 * Put the bodies of `prev`'s leaves that are no longer leaves (`now`) into the revision history,
 * in the turn of the item write (doc-store.ts storeDoc) so that they share its commit; null when
 * there are none. Opaque revisions (KV bytes) have no JSON body to keep.
 */
export function keepInteriorBodies(db: Db, prev: DocState, tree: RevTree, now: readonly RevInfo[]): Promise<unknown> | null {
  let puts: Promise<void>[] | null = null;
  for (const leaf of prev.leaves) {
    if (now.some((l) => l.rev === leaf.rev)) continue;
    // Stemmed away at once (a tiny `_revs_limit`): no branch reaches back to it.
    if (!tree.some((b) => b.pos <= leaf.pos)) continue;
    const data = prev.revData(leaf.rev);
    if (!data || data.opaque) continue;
    // The item value is the winner's body as stored, when nothing was written over KV since.
    const fromValue = !prev.imported && leaf.rev === prev.winner.rev && prev.item.value.length > 0;
    const json = fromValue ? prev.item.value : Buffer.from(JSON.stringify(data.body));
    (puts ??= []).push(db.history.put(prev.id, leaf.rev, json, data.atts));
  }
  return puts === null ? null : puts.length === 1 ? puts[0]! : Promise.all(puts);
}

/** Compactions in progress per bucket (`compact_running` in `GET /{db}`). */
const running = new WeakMap<Bucket, Promise<void>>();

/**
 * Drop the revision history of every keyspace of the bucket (CouchDB compaction keeps only leaf
 * bodies). A call while one runs shares it.
 */
export function compactHistory(bucket: Bucket): Promise<void> {
  const current = running.get(bucket);
  if (current) return current;
  const done = (async () => {
    for (const ns of HISTORY_NAMESPACES) await clearSide(bytesSideDb(bucket, ns));
  })().finally(() => {
    running.delete(bucket);
    sizes.delete(bucket);
  });
  running.set(bucket, done);
  return done;
}

/** Compactions asked for over the CouchDB API and not finished, per bucket. */
const tracked = new WeakMap<Bucket, number>();

/** Count `work` as a compaction of `bucket` until it settles (`compactionRunning`). */
export function trackCompaction<T>(bucket: Bucket, work: Promise<T>): Promise<T> {
  tracked.set(bucket, (tracked.get(bucket) ?? 0) + 1);
  return work.finally(() => {
    const n = (tracked.get(bucket) ?? 1) - 1;
    if (n > 0) tracked.set(bucket, n);
    else tracked.delete(bucket);
  });
}

/** Whether a compaction of the bucket's CouchDB data is under way (`compact_running`). */
export function compactionRunning(bucket: Bucket): boolean {
  return running.has(bucket) || tracked.has(bucket);
}

/** What `watchCompactions` listens to: the engine's `compacted` event (engine.ts). */
export interface CompactionSource {
  on(event: 'compacted', fn: (bucket: Bucket, result: CompactionResult) => void): unknown;
  off(event: 'compacted', fn: (bucket: Bucket, result: CompactionResult) => void): unknown;
}

/**
 * Drop a bucket's revision history after each engine compaction (scheduled, or asked for over
 * the cluster-manager or CouchDB API). Returns the function that stops watching.
 */
export function watchCompactions(engine: CompactionSource, onError: (err: unknown, bucket: Bucket) => void): () => void {
  const listener = (bucket: Bucket): void => {
    if (bucket.isClosed) return;
    compactHistory(bucket).catch((err: unknown) => onError(err, bucket));
  };
  engine.on('compacted', listener);
  return () => engine.off('compacted', listener);
}
