/**
 * The LMDB environment behind every bucket, and the shared read snapshots followers scan from.
 *
 * One environment (one file pair in the data directory) holds all buckets as named databases, so a
 * single asynchronous batch commits writes of every bucket together: that is our group commit.
 * lmdb-js queues `put`/`remove` calls made in one event turn into one transaction on its writer
 * thread. With `overlappingSync` a transaction's fsync overlaps the next transaction; writes are
 * acknowledged only once `flushed` reports their commit on disk (group-commit.ts), so an
 * acknowledged write survives `kill -9` and power loss alike.
 */
import { open, type Database, type RangeOptions, type RootDatabase, type RootDatabaseOptions, type RootDatabaseOptionsWithPath, type Transaction } from 'lmdb';
import { GroupCommitter } from './group-commit.js';
import { getU64 } from '../codec/bytes.js';
import { DirLock } from './dir-lock.js';
import { exposedPaths, makePrivateDirSync, PRIVATE_FILE_MODE, type ExposedPath } from './private-files.js';
import { StorageHealth, containCommitFaults, isCommitFailure, storageErrorOf } from './storage-fault.js';

export type BinaryDb = Database<Buffer, Buffer>;
/** A database of small structured values (msgpack), keyed by strings. */
export type MetaDb = Database<unknown, string>;

/**
 * An index as a scan sees it (`LmdbStore.bySeqReader`, `changesReader`): ranges are given as key
 * bytes (keys.ts), and each entry's key comes back as the 64-bit number it holds: a by-seq key's
 * seqno (the vbucket is the one of the range), a change-order key's bucket sequence.
 */
export interface NumberKeyScan<T> {
  getRange(options: RangeOptions): Iterable<{ readonly key: number; readonly value: T }>;
}

/**
 * Keys of a `NumberKeyScan`: written as given, read as the u64 at byte `at` of the key (keys.ts:
 * 2 for `[vbucket u16][seqno u64]`, 0 for `[bucket seq u64]`), in place in lmdb-js's key buffer.
 * lmdb-js's own binary keys are each a copy, on an ArrayBuffer of its own: one per entry read,
 * which was a DCP backfill's largest allocation after the items themselves.
 */
function u64Keys(at: number): object {
  return {
    writeKey: (key: Uint8Array, target: Uint8Array, start: number): number => {
      target.set(key, start);
      return start + key.length;
    },
    readKey: (t: Uint8Array, start: number): number => getU64(t, start + at),
  };
}
const SEQNO_KEYS = u64Keys(2);
const CHANGE_KEYS = u64Keys(0);
/** Below every key of these indexes (each is at least two bytes; see `#numberKeyed`). */
const LOWEST_KEY = Buffer.from([0]);

export interface BucketDbs {
  bySeq: BinaryDb;
  changes: BinaryDb;
  expiries: BinaryDb;
  /** Per-vbucket state: failover log, state, purge seqno. */
  vbuckets: MetaDb;
  /**
   * The collections manifest (JSON bytes under key "manifest"): binary so that it is written in
   * the same group-committed transaction as the system events that record its change.
   */
  collections: BinaryDb;
}

/**
 * A read transaction shared by every scan that starts between two commits. Reusing it keeps the
 * number of LMDB readers bounded however many followers run; it is only reused while no commit
 * has happened since it opened, so it never hides a change that woke a follower.
 */
export class ReadSnapshot {
  private refs = 1;
  constructor(
    readonly txn: Transaction,
    readonly generation: number,
    private readonly onRelease: (s: ReadSnapshot) => void,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) {
      this.txn.done();
      this.onRelease(this);
    }
  }
}

/**
 * Binary values through a decoder that copies them. With a copying decoder lmdb-js hands the
 * decoder its shared read buffer (read.js: `decoderCopies`, the `getBinaryFast` path) instead of
 * copying each value with `Uint8Array.prototype.slice` itself, which gives every value its own
 * ArrayBuffer; `Buffer.allocUnsafe` takes small values from Node's pool. Half the cost of a
 * by-seq scan was that per-value allocation. Writes pass the Buffer through unchanged.
 */
const copyingBinary = {
  encode: (value: Buffer): Buffer => value,
  // Range reads pass the value's size; point reads pass options and set `length` on the buffer.
  decode: (bytes: Buffer, size?: unknown): Buffer => copyOut(bytes, typeof size === 'number' ? size : bytes.length),
};

/** A copy of the first `size` bytes of lmdb-js's shared read buffer `bytes`, from Node's pool when small. */
export function copyOut(bytes: Buffer, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  // Not `bytes.copy`: lmdb-js overrides `length` on its shared buffer, which Buffer#copy trusts.
  out.set(new Uint8Array(bytes.buffer, bytes.byteOffset, size));
  return out;
}

/** 64 GiB of address space: no data on this machine's scale outgrows it (see the constructor). */
const MAP_SIZE = 2 ** 36;

export class LmdbStore {
  readonly root: RootDatabase;
  readonly system: MetaDb;
  /** Item writes go through here: one synced transaction per group of writes. */
  readonly writer: GroupCommitter;
  /** Paths in the data directory that group or others can access (the server warns about them). */
  readonly exposed: ExposedPath[];
  /** This process's hold on the data directory (released by `close`). */
  readonly lock: DirLock;
  /** Whether commits currently fail (full disk, I/O errors); see storage-fault.ts. */
  readonly health = new StorageHealth();
  /** Number-key scans opened so far, by bucket and decoder (`#numberKeyed`). */
  readonly #scans = new Map<string, Map<object, NumberKeyScan<unknown>>>();
  private generation = 0;
  private current: ReadSnapshot | null = null;

  /** Throws DataDirLockedError when another process (or another open in this one) holds `path`. */
  constructor(readonly path: string) {
    makePrivateDirSync(path);
    // The lock comes first: nothing of the store is read or written while someone else may hold it.
    this.lock = DirLock.acquire(path);
    try {
      const options = {
        path: `${path}/freshet.mdb`,
        maxDbs: 4096,
        maxReaders: 1024,
        overlappingSync: true,
        commitDelay: 0,
        // The address space reserved for the data file up front (the file itself grows only as
        // pages are written: without MDB_WRITEMAP, LMDB does not extend it to the map size).
        // lmdb-js otherwise starts at 128 KiB and doubles, and its fork of mdb.c keeps every
        // earlier map alive for lingering readers (mdb_env_set_mapsize: the munmap is commented
        // out), so each page read in several of them counted several times in the RSS: 184 MB of
        // mapped file for a 50 MB file after 2M writes (issue #16's memory phase). Past this size
        // the map still doubles as before.
        mapSize: MAP_SIZE,
        // Creation mode of the data and lock files (lmdb-js src/env.cpp, default 0664); not in its typings.
        permissionsMode: PRIVATE_FILE_MODE,
      } satisfies RootDatabaseOptionsWithPath & { permissionsMode: number };
      this.root = open(options);
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.exposed = exposedPaths(path);
    this.system = this.root.openDB<unknown, string>('system', {});
    containCommitFaults(this.root, path, this.health);
    this.writer = new GroupCommitter(this.root, path, this.health);
  }

  bucketDbs(bucket: string): BucketDbs {
    const bin = { keyEncoding: 'binary', encoding: 'binary' } as const;
    const copied = { keyEncoding: 'binary', encoder: copyingBinary } as const;
    return {
      bySeq: this.root.openDB<Buffer, Buffer>(`b/${bucket}/seq`, copied),
      changes: this.root.openDB<Buffer, Buffer>(`b/${bucket}/changes`, copied),
      expiries: this.root.openDB<Buffer, Buffer>(`b/${bucket}/exp`, bin),
      vbuckets: this.root.openDB<unknown, string>(`b/${bucket}/vb`, {}),
      collections: this.root.openDB<Buffer, Buffer>(`b/${bucket}/coll`, bin),
    };
  }

  /**
   * A bucket's by-seq index read through `decode`, which is handed each value in lmdb-js's shared
   * read buffer (valid only during the call; `size` is the value's length), with each key read as
   * its seqno (`NumberKeyScan`): warm-up takes the few fields it needs in place instead of a copy
   * of every value (engine/warmup.ts), and a backfill copies only the records it sends (follower.ts).
   * The scan is kept for the next call with the same `decode` (see `#numberKeyed`), so `decode` is
   * a function that lives as long as the module that passes it, never a closure made per call.
   */
  bySeqReader<T>(bucket: string, decode: (bytes: Buffer, size: number) => T): NumberKeyScan<T> {
    return this.#numberKeyed(bucket, 'seq', SEQNO_KEYS, decode, () => ({ encode: (value: Buffer): Buffer => value, decode }));
  }

  /** A bucket's change order (`BucketDbs.changes`), each key read as its bucket sequence (`NumberKeyScan`). */
  changesReader(bucket: string): NumberKeyScan<Buffer> {
    return this.#numberKeyed(bucket, 'changes', CHANGE_KEYS, copyingBinary, () => copyingBinary);
  }

  /**
   * The scan of database `b/{bucket}/{db}` through `decoder`, opened once: an open costs a write
   * transaction, and scans are asked for per backfill batch, `_changes` page, count and
   * compaction. Kept per bucket by decoder (each decoder reads one database); `dropBucket` forgets
   * a bucket's scans with its databases.
   */
  #numberKeyed<T>(bucket: string, db: string, keyEncoder: object, decoder: object, encoder: () => object): NumberKeyScan<T> {
    let scans = this.#scans.get(bucket);
    if (!scans) this.#scans.set(bucket, (scans = new Map()));
    let scan = scans.get(decoder);
    if (!scan) scans.set(decoder, (scan = this.#openNumberKeyed(`b/${bucket}/${db}`, keyEncoder, encoder())));
    return scan as NumberKeyScan<T>;
  }

  #openNumberKeyed<T>(name: string, keyEncoder: object, encoder: object): NumberKeyScan<T> {
    // lmdb-js types `keyEncoder` and `encoder` on the root's options only; a database takes them too.
    const options: RootDatabaseOptions = { keyEncoder, encoder };
    const db = this.root.openDB<T, Buffer>(name, options);
    return {
      // A range left open at its low end is bounded by LOWEST_KEY explicitly: for a database with
      // its own key encoder lmdb-js's default bound is ordered-binary's first key (open.js
      // DEFAULT_BEGINNING_KEY, [5]), which would leave out every key whose first byte is below 5.
      // The cast is the one boundary where lmdb-js's types cannot follow: its key type is the same
      // for the range given and the keys read, and these keys are read as numbers.
      getRange: (range) => db.getRange(range.reverse ? { end: LOWEST_KEY, ...range } : { start: LOWEST_KEY, ...range }) as unknown as Iterable<{ key: number; value: T }>,
    };
  }

  /** A structured side database owned by one bucket (e.g. CouchDB `_local` documents). */
  auxDb(bucket: string, namespace: string): MetaDb {
    return this.root.openDB<unknown, string>(`b/${bucket}/aux/${namespace}`, {});
  }

  /**
   * A side database with binary keys (memcmp order) and structured values, owned by one bucket
   * and dropped with it like `auxDb` (CouchDB view indexes, src/views).
   */
  auxBinaryDb(bucket: string, namespace: string): Database<unknown, Buffer> {
    return this.root.openDB<unknown, Buffer>(`b/${bucket}/aux/${namespace}`, { keyEncoding: 'binary' });
  }

  /**
   * A side database of raw bytes owned by one bucket, for entries written through `writer` (the
   * group commit) together with item writes. Its namespace is never also opened with `auxDb`.
   */
  bytesAuxDb(bucket: string, namespace: string): BinaryDb {
    const copied = { keyEncoding: 'binary', encoder: copyingBinary } as const;
    return this.root.openDB<Buffer, Buffer>(`b/${bucket}/aux/${namespace}`, copied);
  }

  async dropBucket(bucket: string, auxNamespaces: string[] = []): Promise<void> {
    this.#scans.delete(bucket);
    const dbs = this.bucketDbs(bucket);
    const all: Array<{ drop(): Promise<void> }> = [dbs.bySeq, dbs.changes, dbs.expiries, dbs.vbuckets, dbs.collections];
    for (const ns of auxNamespaces) all.push(this.auxDb(bucket, ns));
    for (const db of all) await db.drop();
  }

  /**
   * A structured write outside the group committer (system records, vbucket state): resolves
   * once committed; a failed commit rejects with a StorageError, never lmdb-js's bare error.
   */
  async putMeta(db: MetaDb, key: string, value: unknown): Promise<void> {
    try {
      await db.put(key, value);
    } catch (err) {
      if (!isCommitFailure(err)) throw err;
      throw await storageErrorOf(err, this.path);
    }
  }

  /** Called after every commit: later snapshots must see it. */
  noteCommit(): void {
    this.generation++;
  }

  snapshot(): ReadSnapshot {
    if (this.current && this.current.generation === this.generation) return this.current.retain();
    const snap = new ReadSnapshot(this.root.useReadTransaction(), this.generation, (s) => {
      if (this.current === s) this.current = null;
    });
    this.current = snap;
    // The store keeps no reference count of its own: the first user holds the initial ref.
    return snap;
  }

  /**
   * Resolves once everything queued so far is settled: committed and on disk, or failed (and
   * reported to its writers). A failed transaction's flush promise never settles, so a wait that a
   * failure overtakes starts again on the fresh one (storage-fault.ts).
   */
  async flushed(): Promise<void> {
    await this.writer.drain();
    for (;;) {
      const overtaken = await new Promise<boolean>((resolve) => {
        const cancel = this.health.onNextFailure(() => resolve(true));
        Promise.resolve(this.root.flushed).then(
          () => { cancel(); resolve(false); },
          () => { cancel(); resolve(false); },
        );
      });
      if (!overtaken) return;
    }
  }

  async close(): Promise<void> {
    try {
      await this.root.close();
    } finally {
      this.lock.release();
    }
  }
}
