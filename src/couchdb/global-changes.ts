/**
 * The `_global_changes` database behind `/_db_updates` (CouchDB src/global_changes): every
 * database created, updated or deleted is recorded there as a document whose id is
 * `<type>:<dbname>` (`created:orders`), written anew, with an empty body, on top of its previous
 * revision, so each (type, database) pair keeps only its latest change and the database's own
 * `_changes` feed lists the events (src/http/db-updates.ts serves it).
 *
 * As in CouchDB:
 *   - events are recorded only while `_global_changes` exists (global_changes_server
 *     flush_updates drops a batch when it is missing), and never for `_global_changes` itself
 *     (global_changes_listener handle_event skips its own name);
 *   - they are coalesced: a set of pending ids, written as one batch after `max_write_delay`
 *     (global_changes_server, default 500 ms), so a busy database costs one write per batch, not
 *     one per document. A set that reaches MAX_PENDING ids is written at once (CouchDB's set is
 *     unbounded);
 *   - each write edits the winning revision (global_changes_server get_docs_locally/get_rev).
 *
 * The events come from the engine, not from the write paths, so that every way of changing a
 * database counts (HTTP, KV, replication, XDCR, the management REST API): `bucket-created` and
 * `bucket-deleted`, and a database is `updated` whenever its bucket's persisted change sequence
 * advances (as couch_db_updater notifies `updated` when update_seq moved; `_local` documents do
 * not move it). Databases are buckets here: a write into a named collection (keyspace
 * `bucket.scope.collection`) is recorded as an update of the bucket's database.
 *
 * Only one face per engine records events (a test may start a second face on the same engine;
 * two recorders would write every event twice).
 */
import type { Logger } from '../common/logger.js';
import type { Bucket } from '../engine/bucket.js';
import type { RawChange } from '../engine/change-scan.js';
import type { Engine } from '../engine/engine.js';
import { parseDocument } from '../couch/doc.js';
import { isCouchError } from '../couch/errors.js';
import { changeSummary } from './change-summary.js';
import type { ByteSink } from './changes-bytes.js';
import type { ChangeRows, RowFraming } from './changes-rows.js';
import type { Db } from './db.js';
import { loadDoc } from './doc-store.js';
import { writeDoc } from './doc-write.js';
import { bucketNameOf, dbNameOfBucket } from './keyspace.js';

export const GLOBAL_CHANGES_DB = '_global_changes';
const GLOBAL_CHANGES_BUCKET = bucketNameOf(GLOBAL_CHANGES_DB);

export type DbEvent = 'created' | 'updated' | 'deleted';

/** global_changes_server's `max_write_delay` default (ms). */
export const MAX_WRITE_DELAY_MS = 500;
/** Pending ids that make a batch be written at once. */
const MAX_PENDING = 1000;
/** Attempts at one event document when something else edits it meanwhile. */
const WRITE_ATTEMPTS = 3;

/** Engines whose events a face already records. */
const owners = new WeakSet<Engine>();

export interface GlobalChangesHost {
  engine: Engine;
  logger: Logger;
  /** The face's handle for a bucket (db.ts). */
  db(bucket: Bucket): Db;
}

export interface GlobalChangesStats {
  /** Events noted (before coalescing). */
  events: number;
  /** Event documents written. */
  docWrites: number;
  /** Event documents that could not be written (logged). */
  writeFailures: number;
}

export class GlobalChanges {
  readonly stats: GlobalChangesStats = { events: 0, docWrites: 0, writeFailures: 0 };
  /** Ids of the event documents to write (`<type>:<dbname>`), in the order first noted. */
  readonly #pending = new Set<string>();
  /** The seq-change registration of every watched bucket (its canceller). */
  readonly #watched = new Map<Bucket, () => void>();
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  #active = false;
  #owner = false;
  #closed = false;
  readonly #delayMs = MAX_WRITE_DELAY_MS;

  readonly #onCreated = (bucket: Bucket): void => {
    if (bucket.name === GLOBAL_CHANGES_BUCKET) {
      this.#activate();
      return;
    }
    if (!this.#active) return;
    this.#note('created', bucket.name);
    this.#watch(bucket);
  };

  readonly #onDeleted = (name: string): void => {
    if (name === GLOBAL_CHANGES_BUCKET) {
      this.#deactivate();
      return;
    }
    if (!this.#active) return;
    for (const bucket of this.#watched.keys()) if (bucket.name === name) this.#unwatch(bucket);
    this.#note('deleted', name);
  };

  constructor(private readonly host: GlobalChangesHost) {}

  /** Start recording (when `_global_changes` exists or once it is created); false when another face records. */
  start(): boolean {
    const engine = this.host.engine;
    if (owners.has(engine)) return false;
    owners.add(engine);
    this.#owner = true;
    engine.on('bucket-created', this.#onCreated);
    engine.on('bucket-deleted', this.#onDeleted);
    if (engine.bucket(GLOBAL_CHANGES_BUCKET)) this.#activate();
    return true;
  }

  /** Stop recording; what is pending is written first (the engine closes after the face). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const engine = this.host.engine;
    engine.off('bucket-created', this.#onCreated);
    engine.off('bucket-deleted', this.#onDeleted);
    for (const bucket of [...this.#watched.keys()]) this.#unwatch(bucket);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#writing;
    if (this.#pending.size > 0) await this.#write();
    if (this.#owner) owners.delete(engine);
  }

  #activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    for (const bucket of this.host.engine.buckets()) this.#watch(bucket);
  }

  /** `_global_changes` was deleted: nothing more is recorded, and what was pending is dropped. */
  #deactivate(): void {
    this.#active = false;
    for (const bucket of [...this.#watched.keys()]) this.#unwatch(bucket);
    this.#pending.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Note an `updated` event at each advance of the bucket's persisted change sequence (a one-shot wake, re-armed). */
  #watch(bucket: Bucket): void {
    if (bucket.name === GLOBAL_CHANGES_BUCKET || this.#watched.has(bucket) || bucket.isClosed) return;
    const arm = (): void => {
      this.#watched.set(bucket, bucket.onBucketSeqChange(() => {
        if (!this.#watched.has(bucket)) return;
        if (bucket.isClosed) {
          this.#watched.delete(bucket);
          return;
        }
        this.#note('updated', bucket.name);
        arm();
      }));
    };
    arm();
  }

  #unwatch(bucket: Bucket): void {
    this.#watched.get(bucket)?.();
    this.#watched.delete(bucket);
  }

  #note(event: DbEvent, bucketName: string): void {
    if (this.#closed) return;
    this.stats.events++;
    this.#pending.add(`${event}:${dbNameOfBucket(bucketName)}`);
    this.#schedule(this.#pending.size >= MAX_PENDING ? 0 : this.#delayMs);
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // One batch at a time: ids noted meanwhile wait (coalescing) for the next one.
      if (this.#writing === null) void this.#write();
    }, ms);
    this.#timer.unref();
  }

  #write(): Promise<void> {
    const ids = [...this.#pending];
    this.#pending.clear();
    const run = this.#writeBatch(ids)
      .catch((err: unknown) => this.host.logger.warn({ err }, 'could not record database events in _global_changes'))
      .finally(() => {
        this.#writing = null;
        if (this.#pending.size > 0 && !this.#closed) this.#schedule(this.#pending.size >= MAX_PENDING ? 0 : this.#delayMs);
      });
    this.#writing = run;
    return run;
  }

  async #writeBatch(ids: readonly string[]): Promise<void> {
    const bucket = this.host.engine.bucket(GLOBAL_CHANGES_BUCKET);
    if (!bucket || bucket.isClosed || ids.length === 0) return;
    const db = this.host.db(bucket);
    const revsLimit = db.revsLimit;
    // Started together, so the engine commits the batch as one transaction.
    const failures = (await Promise.all(ids.map((id) => this.#writeEvent(db, id, revsLimit)))).filter((f) => f !== null);
    // One line per batch: a batch cut short (`_global_changes` deleted under it) fails every id alike.
    if (failures.length > 0) {
      this.stats.writeFailures += failures.length;
      this.host.logger.warn({ err: failures[0]!.err, docId: failures[0]!.id, failed: failures.length, of: ids.length }, 'could not record database events in _global_changes');
    }
  }

  /** One event document: an empty body on top of the winner (or a new document); the failure, if any. */
  async #writeEvent(db: Db, id: string, revsLimit: number): Promise<{ id: string; err: unknown } | null> {
    for (let attempt = 1; ; attempt++) {
      const state = loadDoc(db, id, revsLimit);
      const json = state && !state.winner.deleted ? { _id: id, _rev: state.winner.rev } : { _id: id };
      try {
        await writeDoc(db, id, parseDocument(json), { newEdits: true, revsLimit });
        this.stats.docWrites++;
        return null;
      } catch (err) {
        if (isCouchError(err) && err.kind === 'conflict' && attempt < WRITE_ATTEMPTS) continue;
        return { id, err };
      }
    }
  }
}

/**
 * `_db_updates` rows (global_changes_httpd default_transform_change/2): the `_global_changes`
 * change of document `<type>:<dbname>` as `{"db_name","type","seq"}`. An id without `:` (a
 * document someone else wrote there) shows no row; the id splits at its first `:` only
 * (binary:split/2), so a database name may contain `:`.
 */
export class DbUpdateRows implements ChangeRows {
  constructor(private readonly db: Db) {}

  append(change: RawChange, sink: ByteSink, framing: RowFraming, sent: number): boolean {
    const summary = changeSummary(this.db, change, { filter: null, includeDocs: false });
    if (summary === null) return false;
    const at = summary.id.indexOf(':');
    if (at < 0) return false;
    framing.open(sink, sent);
    sink.text(`{"db_name":${JSON.stringify(summary.id.slice(at + 1))},"type":${JSON.stringify(summary.id.slice(0, at))},"seq":${change.seq}}`);
    framing.close(sink, change.seq, true);
    return true;
  }

  seqShown(): boolean {
    return true;
  }
}
