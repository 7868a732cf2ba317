/**
 * PouchDB for the interop tests, loaded without its type package: @types/pouchdb-core declares
 * `/// <reference lib="dom" />`, which would change Buffer's typing for the whole project. The
 * few calls the tests make are typed here instead.
 */
import { createRequire } from 'node:module';

export interface PouchDoc {
  _id: string;
  _rev: string;
  _conflicts?: string[];
  _attachments?: Record<string, { content_type: string; data: Buffer }>;
  [field: string]: unknown;
}

export interface ReplicationResult {
  ok: boolean;
  docs_written: number;
  doc_write_failures: number;
}

export interface Replication extends PromiseLike<ReplicationResult> {
  cancel(): void;
}

/**
 * Cancel a live replication and wait (up to 5 s) until PouchDB reports it complete, so that none
 * of its requests is still in flight when the test's server closes: one caught by the close ends
 * in an ECONNRESET that PouchDB leaves unhandled.
 */
export async function stopLive(replication: Replication): Promise<void> {
  replication.cancel();
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)));
  try {
    await Promise.race([Promise.resolve(replication).then(() => undefined, () => undefined), cap]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PouchDatabase {
  put(doc: Record<string, unknown>): Promise<{ ok: boolean; id: string; rev: string }>;
  get(id: string, opts?: Record<string, unknown>): Promise<PouchDoc>;
  remove(id: string, rev: string): Promise<unknown>;
  remove(doc: PouchDoc): Promise<unknown>;
  bulkDocs(docs: Array<Record<string, unknown>>): Promise<unknown[]>;
  info(): Promise<{ doc_count: number; update_seq: number | string }>;
  replicate: {
    to(target: PouchDatabase, opts?: Record<string, unknown>): Replication;
    from(source: PouchDatabase, opts?: Record<string, unknown>): Replication;
  };
  sync(other: PouchDatabase, opts?: Record<string, unknown>): Replication;
  destroy(): Promise<unknown>;
  /** A view query (`ddoc/view`); over HTTP PouchDB asks the server's `_view`. */
  query(view: string, opts?: Record<string, unknown>): Promise<{ total_rows?: number; offset?: number; rows: Array<{ id?: string; key: unknown; value: unknown; doc?: PouchDoc }> }>;
}

export interface PouchConstructor {
  new (name: string, opts?: Record<string, unknown>): PouchDatabase;
  plugin(plugin: unknown): PouchConstructor;
}

const require = createRequire(import.meta.url);
export const PouchDB = (require('pouchdb') as PouchConstructor).plugin(require('pouchdb-adapter-memory'));
