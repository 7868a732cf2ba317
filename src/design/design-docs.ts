/**
 * Design documents of a database, and the one home of the design-function machinery a server (or
 * a library user's local replication) shares: `DesignFunctions` owns the QuickJS sandbox
 * (sandbox.ts, loaded on first use: the WebAssembly module costs ~30 ms to instantiate, which a
 * server that never runs JavaScript never pays) and the counters of filter and
 * validate_doc_update runs.
 *
 * Design documents are read from the database as stored (the winning revision; a deleted one is
 * absent). Their compiled functions are cached by the sandbox per (database, `_id`, `_rev`), so a
 * new revision of a design document recompiles on next use, and the cache never serves a stale
 * function.
 */
import { loadDoc } from '../couchdb/doc-store.js';
import type { Db } from '../couchdb/db.js';
import { DesignSandbox, type DesignDoc, type SandboxOptions } from './sandbox.js';

const DESIGN_PREFIX = '_design/';

/** The winning revision of a design document as JSON (`_id`, `_rev`, body), or null when missing or deleted. */
export function loadDesignDoc(db: Db, id: string): DesignDoc | null {
  const state = loadDoc(db, id, db.revsLimit);
  if (!state || state.winner.deleted || state.opaque) return null;
  const data = state.revData(state.winner.rev);
  if (!data || data.opaque) return null;
  return { ...data.body, _id: id, _rev: state.winner.rev };
}

/** Ids of the database's live design documents, read from the by-id index (`_design/` range). */
export function designDocIds(db: Db): string[] {
  const ids: string[] = [];
  const prefix = Buffer.from(DESIGN_PREFIX);
  for (const key of db.keysFrom(db.bucket.toKey(DESIGN_PREFIX), false)) {
    // Keys are the ids' bytes (the collection prefix is not part of them, engine/id-index.ts).
    if (key.length < prefix.length || key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) break;
    ids.push(key.toString('utf8'));
  }
  return ids;
}

/** The cache key of a database's functions in the sandbox. */
export function dbKeyOf(db: Db): string {
  return `${db.bucket.name}\u0000${db.collectionId}`;
}

export interface DesignStats {
  /** Documents a `ddoc/name` or `_view` filter was asked about, and how many passed. */
  filterDocs: number;
  filterPassed: number;
  /** validate_doc_update calls, and refusals (forbidden, unauthorized, other). */
  vduRuns: number;
  vduForbidden: number;
  vduUnauthorized: number;
  vduErrors: number;
}

export class DesignFunctions {
  #sandbox: Promise<DesignSandbox> | undefined;
  readonly stats: DesignStats = { filterDocs: 0, filterPassed: 0, vduRuns: 0, vduForbidden: 0, vduUnauthorized: 0, vduErrors: 0 };

  constructor(readonly options: SandboxOptions = {}) {}

  /** The sandbox, created on first use. */
  sandbox(): Promise<DesignSandbox> {
    this.#sandbox ??= DesignSandbox.create(this.options);
    return this.#sandbox;
  }

  /** New limits for the sandbox (now if it exists, else when it is created). */
  setLimits(limits: { timeoutMs: number; memoryBytes: number }): void {
    Object.assign(this.options, limits);
    void this.#sandbox?.then((s) => s.setLimits(limits));
  }

  /** Release every runtime (the server is closing). */
  async dispose(): Promise<void> {
    if (this.#sandbox) (await this.#sandbox).dispose();
  }
}

let shared: DesignFunctions | undefined;
/** The process's default, for library users of local databases who pass none (default limits). */
export function sharedDesignFunctions(): DesignFunctions {
  shared ??= new DesignFunctions();
  return shared;
}
