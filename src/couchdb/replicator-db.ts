/**
 * The `_replicator` database (CouchDB replication/replicator.rst): an ordinary database whose
 * documents are replication jobs. This module tells a job runner (the face's ReplicatorManager,
 * src/replicator/manager.ts, through the `ReplicatorJobs` interface so that this layer does not
 * depend on the replicator) about them and writes their terminal state back; the runner runs the
 * jobs.
 *
 * It follows the database's own changes (the engine's bucket-wide change order) rather than
 * hooking every write path: PUT, POST, DELETE, `_bulk_docs`, replication into `_replicator` and
 * even KV-side writes all arrive the same way, and the write paths know nothing of it.
 *
 * - start: one pass over the changes index gives every current document (the startup load,
 *   `loadReplicatorDocs`), then a follower from where that pass stopped reports each later write
 *   (`replicatorDocChanged`), a deleted winner as `null`;
 * - the database may be created or deleted while the server runs (engine `bucket-created` /
 *   `bucket-deleted`): a deleted database drops all its jobs;
 * - `recordState` writes `_replication_state`, `_replication_state_time` and
 *   `_replication_stats` (completed) or `_replication_state_reason` (failed) into the document,
 *   as couch_replicator_docs:update_doc_completed/3 and update_failed/3 do, retrying on conflict.
 *
 * Only one face per engine runs `_replicator` documents (a test may start a second face on the
 * same engine; two managers would run every job twice).
 */
import type { Logger } from '../common/logger.js';
import type { Bucket } from '../engine/bucket.js';
import type { BucketChangeFollower } from '../engine/changes.js';
import type { Engine } from '../engine/engine.js';
import type { Item } from '../engine/types.js';
import { parseDocument } from '../couch/doc.js';
import { isCouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import { winnerJson } from './doc-json.js';
import { loadDoc, stateFromItem } from './doc-store.js';
import { writeDoc } from './doc-write.js';

export const REPLICATOR_DB = '_replicator';

/** Pages of the startup scan. */
const SCAN_PAGE = 512;
/** Attempts at writing the state back when the document changes underneath. */
const STATE_WRITE_ATTEMPTS = 5;

/** Engines whose `_replicator` database a face already runs. */
const owners = new WeakSet<Engine>();

/** What runs the jobs (ReplicatorManager's document-job methods). */
export interface ReplicatorJobs {
  /** Startup: every document of a `_replicator` database. */
  loadReplicatorDocs(database: string, docs: ReadonlyArray<Record<string, unknown>>): Promise<void>;
  /** A document was written (`body`) or deleted (`null`). */
  replicatorDocChanged(database: string, docId: string, body: Record<string, unknown> | null): Promise<void>;
}

export interface ReplicatorDbHost {
  engine: Engine;
  manager: ReplicatorJobs;
  logger: Logger;
  /** The face's handle for a bucket (db.ts). */
  db(bucket: Bucket): Db;
}

export interface ReplicatorDbStats {
  /** Documents handed to the manager (startup load and later changes). */
  docsSeen: number;
  stateWrites: number;
  stateWriteConflicts: number;
}

/** CouchDB's `_replication_state_time`: ISO 8601 without milliseconds (couch_replicator_utils:iso8601/1). */
const isoNow = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ReplicatorDb {
  readonly stats: ReplicatorDbStats = { docsSeen: 0, stateWrites: 0, stateWriteConflicts: 0 };
  #bucket: Bucket | null = null;
  #follower: BucketChangeFollower | null = null;
  #pump: Promise<void> | null = null;
  #attaching: Promise<void> | null = null;
  /** Ids of the live documents the manager knows, to report their deletion. */
  readonly #known = new Set<string>();
  readonly #writes = new Set<Promise<void>>();
  #owner = false;
  #closed = false;

  readonly #onCreated = (bucket: Bucket): void => {
    if (bucket.name !== REPLICATOR_DB || this.#closed) return;
    this.#attaching = this.#attach(bucket).catch((err: unknown) => this.host.logger.warn({ err }, 'could not load the _replicator database'));
  };

  constructor(private readonly host: ReplicatorDbHost) {}

  /** Load the documents of an existing `_replicator` and follow it; false when another face owns it. */
  async start(): Promise<boolean> {
    if (owners.has(this.host.engine)) return false;
    owners.add(this.host.engine);
    this.#owner = true;
    this.host.engine.on('bucket-created', this.#onCreated);
    const bucket = this.host.engine.bucket(REPLICATOR_DB);
    // A `_replicator` that cannot be loaded must not keep the server from starting.
    if (bucket) await this.#attach(bucket).catch((err: unknown) => this.host.logger.warn({ err }, 'could not load the _replicator database'));
    return true;
  }

  async #attach(bucket: Bucket): Promise<void> {
    await this.#detach();
    this.#bucket = bucket;
    const docs: Array<Record<string, unknown>> = [];
    let since = 0;
    for (;;) {
      const page = bucket.readChanges({ since, limit: SCAN_PAGE });
      if (page.length === 0) break;
      for (const entry of page) {
        since = entry.bucketSeq;
        const doc = this.#docOf(bucket, entry.item);
        if (doc && doc.body) docs.push(doc.body);
      }
    }
    for (const d of docs) this.#known.add(d._id as string);
    this.stats.docsSeen += docs.length;
    await this.host.manager.loadReplicatorDocs(REPLICATOR_DB, docs);
    if (this.#closed || bucket.isClosed) return;
    const follower = bucket.followChanges({ since });
    this.#follower = follower;
    this.#pump = this.#follow(bucket, follower).catch((err: unknown) => {
      this.host.logger.warn({ err }, 'stopped following the _replicator database');
    });
  }

  /** The document of an engine change: its id and winning body (null when deleted), or null for non-document keys. */
  #docOf(bucket: Bucket, item: Item): { id: string; body: Record<string, unknown> | null } | null {
    const id = item.key.toString('utf8');
    if (!Buffer.from(id, 'utf8').equals(item.key)) return null; // not UTF-8: cannot be a document id
    const db = this.host.db(bucket);
    const state = stateFromItem(id, item, db.revsLimit, bucket.maxJsonDepth);
    // A value with no JSON document form (written over KV) describes no replication.
    if (state.winner.deleted || state.opaque) return { id, body: null };
    return { id, body: winnerJson(db, state) };
  }

  async #follow(bucket: Bucket, follower: BucketChangeFollower): Promise<void> {
    for await (const entry of follower) {
      const doc = this.#docOf(bucket, entry.item);
      if (!doc) continue;
      if (doc.body === null && !this.#known.delete(doc.id)) continue; // a tombstone we never reported
      if (doc.body !== null) this.#known.add(doc.id);
      this.stats.docsSeen++;
      try {
        await this.host.manager.replicatorDocChanged(REPLICATOR_DB, doc.id, doc.body);
      } catch (err) {
        this.host.logger.warn({ err, docId: doc.id }, 'could not apply a _replicator document change');
      }
    }
    // The follower ends when we close it, or when the database was deleted: its jobs go with it.
    if (!this.#closed && bucket.isClosed) await this.#forgetAll();
  }

  async #forgetAll(): Promise<void> {
    const ids = [...this.#known];
    this.#known.clear();
    for (const id of ids) await this.host.manager.replicatorDocChanged(REPLICATOR_DB, id, null);
  }

  async #detach(): Promise<void> {
    this.#follower?.close();
    await this.#pump;
    this.#follower = null;
    this.#pump = null;
    this.#bucket = null;
    if (this.#known.size > 0 && !this.#closed) await this.#forgetAll();
  }

  /** The manager's `onDocState`: record a document job's terminal state in its document. */
  recordState(database: string, docId: string, state: 'completed' | 'failed', info: Record<string, unknown>): Promise<void> {
    if (database !== REPLICATOR_DB || this.#closed) return Promise.resolve();
    const write = this.#writeState(docId, state, info).finally(() => this.#writes.delete(write));
    this.#writes.add(write);
    return write;
  }

  async #writeState(docId: string, state: 'completed' | 'failed', info: Record<string, unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const bucket = this.#bucket;
      if (!bucket || bucket.isClosed) return;
      const db = this.host.db(bucket);
      const current = loadDoc(db, docId, db.revsLimit);
      // Deleted right before the update: not an error (couch_replicator_docs:update_rep_doc/4).
      if (!current || current.winner.deleted || current.opaque) return;
      const json = winnerJson(db, current);
      const next: Record<string, unknown> = { ...json };
      if (next._replication_state !== state) {
        next._replication_state = state;
        next._replication_state_time = isoNow();
      }
      if (state === 'completed') {
        next._replication_stats = info;
        delete next._replication_state_reason;
      } else {
        next._replication_state_reason = typeof info.error === 'string' ? info.error : JSON.stringify(info);
        delete next._replication_stats;
      }
      if (JSON.stringify(next) === JSON.stringify(json)) return;
      try {
        await writeDoc(db, docId, parseDocument(next), { newEdits: true });
        this.stats.stateWrites++;
        return;
      } catch (err) {
        if (!isCouchError(err) || err.kind !== 'conflict' || attempt >= STATE_WRITE_ATTEMPTS) throw err;
        this.stats.stateWriteConflicts++;
      }
    }
  }

  /** Stop following; state writes in progress finish first (the engine closes after the face). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.host.engine.off('bucket-created', this.#onCreated);
    await this.#attaching;
    this.#follower?.close();
    await this.#pump;
    if (this.#owner) owners.delete(this.host.engine);
  }

  /** Wait for state writes in progress (after the manager closed, none start). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#writes]);
  }
}
