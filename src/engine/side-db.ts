/**
 * Side databases: small structured LMDB databases (msgpack values, string keys) that a layer
 * above the engine keeps beside a bucket, dropped with it (`Engine.deleteBucket`'s aux
 * namespaces) — CouchDB `_local` documents, attachment bytes, per-database settings — and the
 * engine's `system` database (sessions, face settings). Layers above the engine reach LMDB only
 * through here, never through src/store.
 */
import type { Bucket } from './bucket.js';
import type { Database } from 'lmdb';
import type { BinaryDb, MetaDb } from '../store/lmdb-store.js';
import { engineWrite } from './errors.js';

export type SideDb = MetaDb;
/** A side database with binary keys in memcmp order (view indexes, src/views). */
export type BinarySideDb = Database<unknown, Buffer>;

/** The side database `namespace` of `bucket`. */
export function sideDb(bucket: Bucket, namespace: string): SideDb {
  return bucket.store.auxDb(bucket.name, namespace);
}

/** Write one value, a failed commit reported as a storage error (the store's `putMeta`). */
export function putSideDb(bucket: Bucket, db: SideDb, key: string, value: unknown): Promise<void> {
  return bucket.store.putMeta(db, key, value);
}

/** The binary-keyed side database `namespace` of `bucket` (dropped with it like the others). */
export function binarySideDb(bucket: Bucket, namespace: string): BinarySideDb {
  return bucket.store.auxBinaryDb(bucket.name, namespace);
}

/** A side database of raw bytes (Buffer keys and values), written with `writeSide`. */
export type BytesSideDb = BinaryDb;

/** The raw-bytes side database `namespace` of `bucket` (revision history, src/couchdb/rev-history.ts). */
export function bytesSideDb(bucket: Bucket, namespace: string): BytesSideDb {
  return bucket.store.bytesAuxDb(bucket.name, namespace);
}

/**
 * Queue puts (`value: null` removes) into the store's group commit (store/group-commit.ts):
 * queued in the same event turn as an item write, they commit in the same LMDB transaction, at no
 * extra commit or fsync. Resolves once on disk; a failed commit is an EngineError.
 */
export function writeSide(bucket: Bucket, db: BytesSideDb, entries: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): Promise<void> {
  return engineWrite(bucket.store.writer.write(entries.map((e) => ({ db, key: e.key, value: e.value }))));
}

/** Empty a binary side database; resolves once committed. */
export function clearSide(db: BytesSideDb): Promise<void> {
  return db.clearAsync();
}
