/**
 * A bucket's key directory: kv_engine's hash table, reduced to what Freshet keeps in memory.
 *
 * - `seqnos`: every key's current seqno (tombstones included; on disk or in flight), by vbucket
 *   and directory key (key-seqnos.ts; dir-keys.ts: the latin1 string of the key bytes, prefixed
 *   for non-default collections). With it a read costs one LMDB lookup, and a write one index
 *   entry fewer; warmup rebuilds it.
 * - the versions in flight (in-flight.ts): written, not yet on disk; reads see them first.
 * - `ids`: the same keys in byte order (id-index.ts), for `_all_docs`. Built from `seqnos` when
 *   first read (one sort: about a second for a million keys) and kept up to date from then on,
 *   so a bucket that never lists its ids (a KV workload) pays nothing for it on each new key. It
 *   is told of every other change of a key's current version too (`touch`), for its counts.
 *
 * The write pipeline (bucket-core.ts) records each new version here, and settles or rolls it back
 * once its batch is on disk or failed; this module keeps the three views in step.
 */
import { IdIndex } from './id-index.js';
import { InFlightVersions, readOf, type InFlightRead, type InFlightVersion } from './in-flight.js';
import { KeySeqnos } from './key-seqnos.js';
import type { Item } from './types.js';

export class KeyDirectory {
  /** (vbucket, directory key) -> seqno of the key's current version (on disk or in flight). */
  readonly seqnos: KeySeqnos<InFlightVersion>;
  #ids: IdIndex | null = null;
  readonly #inFlight: InFlightVersions;

  constructor(numVBuckets: number) {
    this.seqnos = new KeySeqnos<InFlightVersion>(numVBuckets);
    this.#inFlight = new InFlightVersions(this.seqnos);
  }

  /** The directory's keys in byte order (built on first use). */
  get ids(): IdIndex {
    if (this.#ids === null) {
      this.#ids = new IdIndex();
      this.#ids.reset(this.seqnos.keys());
    }
    return this.#ids;
  }

  /** Warmup refilled `seqnos`: the ordered index is rebuilt when next read. */
  indexLoaded(): void {
    this.#ids = null;
  }

  /**
   * What a read of `k` finds, with one lookup: its version in flight, null (a SyncWrite in progress
   * over no surviving version), a seqno to read from disk (the key's own, or the on-disk version a
   * SyncWrite in progress hides its own behind), or undefined (no such key).
   */
  current(vb: number, k: string): InFlightRead {
    const found = this.seqnos.read(vb, k);
    return found === undefined || typeof found === 'number' ? found : readOf(found);
  }

  /** `current` of a default-collection key given as its bytes (no directory-key string made). */
  currentBytes(vb: number, key: Uint8Array): InFlightRead {
    const found = this.seqnos.readBytes(vb, key);
    return found === undefined || typeof found === 'number' ? found : readOf(found);
  }

  /** A SyncWrite of `k` is waiting for the disk. */
  syncInProgress(vb: number, k: string): boolean {
    return this.#inFlight.syncInProgress(vb, k);
  }

  /** `item` replaces `prev` as the key's version, in flight until `settle` or `rollBack`. */
  record(k: string, item: Item, prev: Item | undefined, sync: boolean, hint = 0): InFlightVersion {
    const version = this.#inFlight.add(k, item, prev, sync);
    if (this.seqnos.set(item.vbucket, k, item.seqno, hint)) this.#ids?.add(k);
    // The ids' counts are of live keys: only a write that makes a key live or a tombstone moves them.
    else if (prev === undefined || prev.deleted !== item.deleted) this.#ids?.touch(k);
    return version;
  }

  /** `version` is on disk: reads of the key go to the disk unless a newer one is in flight. */
  settle(k: string, version: InFlightVersion): void {
    this.#inFlight.settle(k, version);
    // A SyncWrite's version was hidden until now: what reads (and counts) see changes.
    if (version.sync) this.#ids?.touch(k);
  }

  /**
   * `version`'s transaction was aborted: the key goes back to the newest version that was not
   * lost (in-flight.ts), or leaves the directory when none survives.
   */
  rollBack(k: string, version: InFlightVersion): void {
    const back = this.#inFlight.rollBack(k, version);
    const vb = version.item.vbucket;
    if (back && back.survivor !== undefined) {
      this.seqnos.set(vb, k, back.survivor);
      this.#ids?.touch(k);
    }
    else if (back) {
      this.seqnos.delete(vb, k);
      this.#ids?.remove(k);
    }
  }

  /** Drop `k` of vbucket `vb` if its current version is still `seqno` (purged or discarded). */
  forget(vb: number, k: string, seqno: number): void {
    if (this.seqnos.get(vb, k) !== seqno) return;
    this.seqnos.delete(vb, k);
    this.#ids?.remove(k);
  }
}
