/**
 * One keyspace's share of a CouchDB side database (db.ts: `_local` documents, attachment bytes,
 * settings). The default collection keeps the namespaces it always had (`couch_local`, ...), so
 * data written before collections existed stays where it is. Every other collection of the bucket
 * shares one more namespace per kind (`couch_local_c`, ...) with its keys prefixed by its
 * collection id in hex and a ':' (a hex id holds no ':', so prefixes never overlap): a fixed set
 * of LMDB databases per bucket however many collections it has (LMDB's `maxDbs` is per
 * environment), all dropped with the bucket, and a dropped collection's entries are one key range
 * (`dropCollectionSides`).
 */
import type { Bucket } from '../engine/bucket.js';
import type { Manifest } from '../engine/manifest.js';
import { putSideDb, sideDb, type SideDb } from '../engine/side-db.js';

/** The namespace of the named collections' entries of a default-collection namespace. */
export function collectionsNamespace(namespace: string): string {
  return `${namespace}_c`;
}

function prefixOf(collectionId: number): string {
  return collectionId === 0 ? '' : `${collectionId.toString(16)}:`;
}

/** The first key after every key starting with `prefix` (':' + 1 is ';'). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + ';';
}

export class KeyspaceSide {
  readonly #db: SideDb;
  readonly #prefix: string;

  constructor(
    private readonly bucket: Bucket,
    namespace: string,
    collectionId: number,
  ) {
    this.#db = sideDb(bucket, collectionId === 0 ? namespace : collectionsNamespace(namespace));
    this.#prefix = prefixOf(collectionId);
  }

  get(key: string): unknown {
    return this.#db.get(this.#prefix + key);
  }

  has(key: string): boolean {
    return this.#db.doesExist(this.#prefix + key);
  }

  /** Write one value, durable when the promise resolves (a failed commit is a storage error). */
  put(key: string, value: unknown): Promise<void> {
    return putSideDb(this.bucket, this.#db, this.#prefix + key, value);
  }

  /** Run `fn` in one write transaction (putSync/removeSync inside it apply together). */
  transaction<T>(fn: () => T): Promise<T> {
    return this.#db.transaction(fn);
  }

  putSync(key: string, value: unknown): void {
    void this.#db.put(this.#prefix + key, value);
  }

  removeSync(key: string): void {
    void this.#db.remove(this.#prefix + key);
  }

  /** This keyspace's keys in order (reverse when `descending`), lazily. */
  *keys(descending: boolean): Iterable<string> {
    const p = this.#prefix;
    const range = p === '' ? { reverse: descending } : descending ? { start: prefixEnd(p), end: p, reverse: true } : { start: p, end: prefixEnd(p) };
    for (const { key } of this.#db.getRange(range)) {
      const k = key as string;
      if (p !== '' && (!k.startsWith(p) || k === prefixEnd(p))) continue;
      yield k.slice(p.length);
    }
  }
}

/** Remove every side entry of a collection (after it was dropped); resolves once committed. */
export async function dropCollectionSides(bucket: Bucket, namespaces: readonly string[], collectionId: number): Promise<number> {
  if (collectionId === 0) return 0;
  const p = prefixOf(collectionId);
  let removed = 0;
  for (const ns of namespaces) {
    const db = sideDb(bucket, collectionsNamespace(ns));
    removed += await db.transaction(() => {
      let n = 0;
      for (const { key } of db.getRange({ start: p, end: prefixEnd(p) })) {
        void db.remove(key as string);
        n++;
      }
      return n;
    });
  }
  return removed;
}

/**
 * From now on, remove a collection's side entries once it is dropped (the engine's `manifest`
 * event after each change; a dropped id is never reused, manifest.ts). Entries of collections
 * dropped while nothing watched stay unreachable until the bucket is deleted.
 */
export function watchCollectionDrops(bucket: Bucket, namespaces: readonly string[], onError: (err: unknown, collectionId: number) => void): void {
  let known = new Set(bucket.manifest.collections.map((c) => c.id));
  bucket.on('manifest', (next: Manifest) => {
    const now = new Set(next.collections.map((c) => c.id));
    for (const id of known) {
      if (!now.has(id)) dropCollectionSides(bucket, namespaces, id).catch((err: unknown) => onError(err, id));
    }
    known = now;
  });
}
