/**
 * View indexes (CouchDB map/reduce views, issue #15): incremental, persistent indexes in LMDB,
 * kept up to date from the keyspace's change history, and the queries over them.
 *
 * The engine, for any indexer (CouchDB views here, Mango `json` indexes in src/mango):
 *
 *   const idx = await ViewIndex.open(db, signature, mapper, viewCount);
 *   await idx.refresh('true');                 // catch up ('false': as is; 'lazy': after)
 *   for (const row of viewRows(idx, view, range)) ...   // query-rows.ts: rows in collation order
 *   idx.totalRows(view); idx.seq; idx.info()
 *
 * `signature` names the index within the keyspace (a design document's is the hash of its view
 * functions, design.ts), so a changed definition builds a new index and `dropUnused` removes the
 * old ones (`_view_cleanup`). `mapper` is pluggable: a `ViewMapper` gets a batch of documents
 * (id + JSON text, doc-source.ts) and returns per document its emits as [view number, key,
 * value]. JavaScript views map through the sandbox (js-mapper.ts, one call per batch); a native
 * TypeScript mapper drives an index the same way.
 *
 * Storage layout and key order: index-store.ts, key-codec.ts. Updating: one scan of the change
 * history per batch (`scanChanges` with the keyspace's collection), one map call, one LMDB
 * transaction; one updater per index at a time, queries wait for it (`update=true`).
 */
import type { Db } from '../couchdb/db.js';
import type { Bucket } from '../engine/bucket.js';
import { scanChanges } from '../engine/change-scan.js';
import { indexChange, type DocSourceOptions, type MapDoc } from './doc-source.js';
import { IndexStore, listIndexes, viewsDb, type Emits } from './index-store.js';

export type { MapDoc } from './doc-source.js';
export type { Emits, StoredRow } from './index-store.js';
export { VIEW_NAMESPACE } from './index-store.js';

/** Maps a batch of documents to their emits (same order as `docs`). */
export interface ViewMapper {
  map(docs: readonly MapDoc[]): Promise<Emits[]> | Emits[];
  /** What the documents handed to `map` include (design options `include_design`, `local_seq`). */
  readonly sourceOptions?: DocSourceOptions;
}

/** `update=true|false|lazy` (legacy `stale=ok` = false, `stale=update_after` = lazy). */
export type UpdateMode = 'true' | 'false' | 'lazy';

/** Changes read per batch (one map call, one transaction). */
export const BATCH_CHANGES = 4000;

/** Counters, per process, for every index (the metrics of the views layer). */
export const viewStats = { docsMapped: 0, rowsRemoved: 0, batches: 0, lazyUpdateErrors: 0, builds: 0, reduceErrors: 0 };

const registry = new WeakMap<Bucket, Map<string, Promise<ViewIndex>>>();

export class ViewIndex {
  #running: Promise<void> | null = null;
  waitingClients = 0;

  private constructor(
    readonly db: Db,
    readonly store: IndexStore,
    private mapper: ViewMapper,
  ) {}

  /** The index of `signature` in the database's keyspace, opened once per process. */
  static open(db: Db, signature: string, mapper: ViewMapper, views: number, partitioned = false): Promise<ViewIndex> {
    let m = registry.get(db.bucket);
    if (!m) registry.set(db.bucket, (m = new Map()));
    const key = `${db.collectionId}:${signature}`;
    let p = m.get(key);
    if (!p) {
      p = IndexStore.open(db, signature, views, partitioned).then((s) => new ViewIndex(db, s, mapper));
      p.catch(() => m!.delete(key));
      m.set(key, p);
    }
    return p;
  }

  get signature(): string {
    return this.store.signature;
  }

  /** The change sequence the index reflects. */
  get seq(): number {
    return this.store.header.seq;
  }

  get updaterRunning(): boolean {
    return this.#running !== null;
  }

  totalRows(view: number): number {
    return this.store.header.rows[view] ?? 0;
  }

  /** Bring the index up to date as `mode` says (see UpdateMode). */
  async refresh(mode: UpdateMode): Promise<void> {
    if (mode === 'false') return;
    if (mode === 'lazy') {
      this.update().catch(() => viewStats.lazyUpdateErrors++);
      return;
    }
    this.waitingClients++;
    try {
      await this.update();
    } finally {
      this.waitingClients--;
    }
  }

  /** Catch up with every change committed so far (joins a running update, then runs again if behind). */
  async update(): Promise<void> {
    const target = this.db.bucket.bucketSeq;
    // The index reads the persisted change order: writes acknowledged from memory (KV, issue #16)
    // before this query are waited for, briefly, so the query sees them.
    await this.db.settled();
    while (this.seq < target) {
      if (this.#running) {
        await this.#running;
        continue;
      }
      this.#running = this.#catchUp(target).finally(() => {
        this.#running = null;
      });
      await this.#running;
      break;
    }
  }

  /**
   * Batches are pipelined: the next batch is read and mapped while the previous one's
   * transaction commits (the commit's disk write runs off the event loop in lmdb-js); batches
   * are still applied one after the other, in change order, each seeing the one before.
   */
  async #catchUp(target: number): Promise<void> {
    if (this.seq === 0) viewStats.builds++;
    let since = this.seq;
    let committing: Promise<void> | null = null;
    try {
      for (;;) {
        const progress = { last: since };
        const byId = new Map<string, MapDoc | null>();
        scanChanges(this.db.bucket, { since, limit: BATCH_CHANGES, collection: this.db.collectionId, progress }, (c) => {
          const ch = indexChange(this.db, c, this.mapper.sourceOptions);
          if (ch) {
            byId.delete(ch.id);
            byId.set(ch.id, ch.doc);
          }
          return true;
        });
        if (progress.last === since) return;
        const docs = [...byId.values()].filter((d): d is MapDoc => d !== null);
        const emitted = docs.length > 0 ? await this.mapper.map(docs) : [];
        const byDoc = new Map<string, Emits>();
        docs.forEach((d, i) => byDoc.set(d.id, emitted[i] ?? []));
        const batch = [...byId.keys()].map((id) => ({ id, emits: byDoc.get(id) ?? null }));
        viewStats.docsMapped += docs.length;
        viewStats.rowsRemoved += batch.length - docs.length;
        viewStats.batches++;
        if (committing) await committing;
        committing = this.store.apply(batch, progress.last);
        // Awaited below or at the next batch; a failure is not unhandled meanwhile.
        committing.catch(() => undefined);
        since = progress.last;
        if (since >= target) return;
      }
    } finally {
      if (committing) await committing;
    }
  }

  /**
   * CouchDB's `view_index` object of `_info`. Sizes (index-store.ts): `active`/`external` the
   * live entries, `file` the LMDB pages they take. LMDB reuses freed pages, so there is no
   * garbage for a compaction to drop: `file` does not shrink after `_compact/{ddoc}`.
   */
  info(language: string): Record<string, unknown> {
    const h = this.store.header;
    return {
      updates_pending: { minimum: Math.max(0, this.db.bucket.bucketSeq - h.seq), preferred: Math.max(0, this.db.bucket.bucketSeq - h.seq), total: Math.max(0, this.db.bucket.bucketSeq - h.seq) },
      waiting_commit: false,
      waiting_clients: this.waitingClients,
      updater_running: this.updaterRunning,
      update_seq: h.seq,
      sizes: { file: this.store.fileBytes(), external: h.external ?? 0, active: h.active ?? 0 },
      signature: this.signature,
      purge_seq: 0,
      language,
      compact_running: false,
    };
  }
}

/**
 * Remove the keyspace's indexes whose signature is not in `keep` (`_view_cleanup`); resolves
 * with the number removed.
 */
export async function dropUnused(db: Db, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const { signature } of listIndexes(viewsDb(db), db.collectionId)) {
    if (keep.has(signature)) continue;
    const m = registry.get(db.bucket);
    m?.delete(`${db.collectionId}:${signature}`);
    const s = await IndexStore.open(db, signature, 0);
    await s.drop();
    removed++;
  }
  return removed;
}

/** Signatures with a stored index in the database's keyspace. */
export function storedSignatures(db: Db): string[] {
  return listIndexes(viewsDb(db), db.collectionId).map((e) => e.signature);
}
