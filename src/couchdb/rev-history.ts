/**
 * The revision history: bodies and attachment metadata of interior (non-leaf) revisions, kept
 * until compaction, as CouchDB keeps them in its database file until `_compact` rewrites it
 * without them (couch_db_updater: compaction copies only leaf bodies; couch_db:doc_meta_info/3
 * then reports the others as `missing` in `_revs_info`).
 *
 * The item keeps only the winner's body (its value) and the other leaves' bodies (in its xattrs,
 * doc-store.ts), so the KV and DCP faces never see old revisions. When a write makes a stored leaf
 * interior (an update, a deletion, a replicated descendant), doc-store.ts `storeDoc` puts that
 * leaf's body here in the same event turn as the item, so both go into the same LMDB commit:
 * one more put per update. The entry of a revision never changes (a revision id names one
 * content), so a write retried after a CAS race may put it again harmlessly.
 *
 * Storage: the `couch_revs` side database of the keyspace (side-store.ts), key
 * `JSON.stringify(docId) + rev` (the quoted id cannot be a prefix of another quoted id, so a
 * document's entries are one key range), value `{b: <JSON body bytes>, a?: [AttachmentMeta]}`.
 * Attachment bytes stay in `couch_att` by digest (att-store.ts), never collected, so an old
 * revision's attachments read like a leaf's.
 *
 * Only revisions still in the tree are readable (`DocState.historyData` callers check the tree):
 * a revision stemmed past `_revs_limit` is gone, as in CouchDB, and its entry waits for the next
 * compaction. Compaction (`POST /{db}/_compact`, the engine's scheduled compaction, the cluster
 * manager's) removes every entry of the bucket: afterwards only leaves have bodies.
 */
import type { AttachmentMeta } from '../couch/attachments.js';
import type { Bucket } from '../engine/bucket.js';
import type { CompactionResult } from '../engine/maintenance.js';
import type { RevData } from './doc-store.js';
import { KeyspaceSide } from './side-store.js';

export const HISTORY_NAMESPACE = 'couch_revs';

/** What reading a document needs of the history (doc-store.ts stateFromItem). */
export interface RevHistoryReader {
  get(id: string, rev: string): RevData | null;
  has(id: string, rev: string): boolean;
}

/** For documents read without their database's history (listings read only winners). */
export const NO_HISTORY: RevHistoryReader = { get: () => null, has: () => false };

interface StoredRev {
  b: Uint8Array;
  a?: AttachmentMeta[];
}

function historyKey(id: string, rev: string): string {
  return JSON.stringify(id) + rev;
}

function isStoredRev(v: unknown): v is StoredRev {
  return typeof v === 'object' && v !== null && (v as { b?: unknown }).b instanceof Uint8Array;
}

export class RevHistory implements RevHistoryReader {
  readonly #side: KeyspaceSide;
  /** Entries written, and read back (CouchDB has no such counters; they show the history is used). */
  readonly stats = { writes: 0, reads: 0 };

  constructor(bucket: Bucket, collectionId: number) {
    this.#side = new KeyspaceSide(bucket, HISTORY_NAMESPACE, collectionId);
  }

  /** Keep the body (JSON bytes) of a revision that has just become interior; durable once resolved. */
  put(id: string, rev: string, json: Buffer, atts: readonly AttachmentMeta[]): Promise<void> {
    this.stats.writes++;
    const value: StoredRev = atts.length > 0 ? { b: json, a: [...atts] } : { b: json };
    return this.#side.put(historyKey(id, rev), value);
  }

  get(id: string, rev: string): RevData | null {
    const v = this.#side.get(historyKey(id, rev));
    if (!isStoredRev(v)) return null;
    this.stats.reads++;
    const body: unknown = JSON.parse(Buffer.from(v.b.buffer, v.b.byteOffset, v.b.byteLength).toString('utf8'));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    return { body: body as Record<string, unknown>, atts: v.a ?? [] };
  }

  has(id: string, rev: string): boolean {
    return this.#side.has(historyKey(id, rev));
  }

  /** Remove every entry of this keyspace; resolves with the number removed once committed. */
  clear(): Promise<number> {
    return this.#side.clear();
  }
}

/** Compactions in progress per bucket (`compact_running` in `GET /{db}`). */
const running = new WeakMap<Bucket, Promise<number>>();

/**
 * Drop the revision history of every keyspace of the bucket (CouchDB compaction keeps only leaf
 * bodies). A call while one runs shares it. Resolves with the number of entries removed.
 */
export function compactHistory(bucket: Bucket): Promise<number> {
  const current = running.get(bucket);
  if (current) return current;
  const done = (async () => {
    let removed = 0;
    for (const c of bucket.manifest.collections) removed += await new RevHistory(bucket, c.id).clear();
    return removed;
  })().finally(() => running.delete(bucket));
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
