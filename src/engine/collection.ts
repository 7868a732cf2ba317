/**
 * One collection of a bucket as the faces address it: the document API (semantics in
 * mutations.ts) bound to a collection id. `Bucket.collection(id)` hands these out; the bucket's own
 * document methods are those of its `_default` collection, which is what a client that does not
 * speak collections reaches (kv docs/Collections.md "legacy clients").
 *
 * Every operation checks the manifest in force: a dropped (or never created) collection answers
 * UNKNOWN_COLLECTION carrying the manifest uid, which KV returns so that SDKs refresh.
 */
import { EngineError } from './errors.js';
import { isExpired } from './expiry.js';
import type { BucketCore } from './bucket-core.js';
import * as ops from './mutations.js';
import * as locks from './locks.js';
import type { StoreMode, VersionSpec } from './mutations.js';
import { editDocument, type DocumentEdit, type EditOptions } from './subdoc-write.js';
import { writeWithMeta, type WithMeta, type WithMetaOptions } from './with-meta.js';
import type { CounterOptions, CounterResult, DeleteOptions, DurabilityLevel, Item, Key, MutationResult, WriteOptions, Written } from './types.js';

/** Async operations report validation errors as rejections, never as synchronous throws. */
function settle<T>(op: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(op());
  } catch (err) {
    return Promise.reject(err);
  }
}

function bytes(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

export class Collection {
  readonly #core: BucketCore;

  constructor(
    core: BucketCore,
    /** The collection id (manifest.ts). */
    readonly id: number,
  ) {
    this.#core = core;
  }

  /** Whether the collection is in the manifest in force. */
  get exists(): boolean {
    return this.#core.manifest.hasCollection(this.id);
  }

  /** The current version of a key, tombstones and not-yet-expired-on-disk items included. */
  lookup(key: Buffer): Item | undefined {
    ops.checkCollection(this.#core, this.id);
    return this.#core.lookup(key, this.id);
  }
  /** The current item (tombstones included) in an active vbucket; expired items become tombstones. */
  current(key: Buffer): Item | undefined {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    // GET_META without the KEY_ENOENT throw: a missing document is common for the HTTP face, and
    // an Error per miss is costly. One lookup, unless expired.
    const vb = core.activeVBucket(key);
    const item = core.lookup(key, this.id, vb.id);
    if (item === undefined || item.deleted || item.expiry === 0 || !isExpired(item.expiry, core.nowSeconds())) return item;
    core.live(key, vb, this.id);
    return core.lookup(key, this.id, vb.id);
  }
  /**
   * GET_REPLICA: the live document in this node's replica of its vbucket; NOT_MY_VBUCKET when the
   * vbucket is not a replica here (kv_engine answers the same for the active), KEY_ENOENT when
   * missing, deleted or expired. A replica does not expire items itself (the active does).
   */
  replicaGet(rawKey: Key, vbId: number): Item {
    const item = this.replicaLookup(rawKey, vbId);
    if (!item || item.deleted || (item.expiry !== 0 && isExpired(item.expiry, this.#core.nowSeconds()))) throw new EngineError('KEY_ENOENT');
    return item;
  }
  /** The current version in this node's replica of the key's vbucket, tombstones included (replicaGet; sub-document ReplicaRead). */
  replicaLookup(rawKey: Key, vbId: number): Item | undefined {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    const key = core.toKey(rawKey);
    const id = core.vbucketOf(key);
    if (id !== vbId) throw new EngineError('NOT_MY_VBUCKET', `key belongs to vbucket ${id}, not ${vbId}`);
    const state = core.vbucket(id).state;
    if (state !== 'replica') throw new EngineError('NOT_MY_VBUCKET', `vbucket ${id} is ${state} here, not a replica`);
    return core.lookup(key, this.id, id);
  }
  /**
   * Get a live document; KEY_ENOENT when missing, deleted or expired. A locked document comes
   * with CAS 0xffffffffffffffff (locks.ts), so that only the locker can write it.
   */
  get(rawKey: Key, vbId?: number): Item {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    const key = core.toKey(rawKey);
    const item = core.live(key, core.activeVBucket(key, vbId), this.id);
    if (!item) throw new EngineError('KEY_ENOENT');
    return locks.hideLockedCas(core, item);
  }
  /**
   * `get` without an Item, for a reply built straight from the stored bytes (the KV face's GET):
   * the live version's record (record-view.ts reads its fields) as a view valid only until the
   * next write, so the caller is done with it before it returns; undefined when there is no live
   * document; null when `get` must answer (a version in flight or not in memory, an expiry to
   * check, a lock in the bucket).
   */
  residentRecord(rawKey: Buffer, vbId?: number): Buffer | undefined | null {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    if (locks.anyLocked(core)) return null;
    const key = core.toKey(rawKey);
    return core.residentRecord(key, core.activeVBucket(key, vbId), this.id);
  }
  /**
   * GET_LOCKED: lock a live document for `seconds` (0 or above 30 → 15, as kv) and return it with
   * the lock CAS; LOCKED_TMPFAIL when already locked (locks.ts).
   */
  getAndLock(rawKey: Key, seconds: number, vbId?: number): Item {
    ops.checkCollection(this.#core, this.id);
    return locks.getAndLock(this.#core, this.id, rawKey, locks.lockSeconds(seconds), vbId);
  }
  /** UNLOCK_KEY: release a lock with its lock CAS (LOCKED_TMPFAIL / NOT_LOCKED otherwise). */
  unlock(rawKey: Key, cas: bigint, vbId?: number): void {
    ops.checkCollection(this.#core, this.id);
    locks.unlock(this.#core, this.id, rawKey, cas, vbId);
  }
  /**
   * EVICT_KEY: drop a live document's value from memory, as kv_engine's value eviction
   * (ep_vbucket.cc `evictKey`): KEY_ENOENT when there is no live document, KEY_EEXISTS while its
   * version is not yet on disk (kv cannot eject a dirty item); the next read goes to LMDB.
   */
  evictKey(rawKey: Key, vbId?: number): void {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    const key = core.toKey(rawKey);
    const vb = core.activeVBucket(key, vbId);
    const item = core.live(key, vb, this.id);
    if (!item) throw new EngineError('KEY_ENOENT', 'Not found.');
    if (item.seqno > vb.persistedSeqno) throw new EngineError('KEY_EEXISTS', "Can't eject: Dirty object.");
    core.forgetRecord(vb, item.seqno);
  }
  /** Metadata of the current version, tombstones included (GET_META); KEY_ENOENT when there is none. */
  getMeta(rawKey: Key, vbId?: number): Item {
    const core = this.#core;
    ops.checkCollection(core, this.id);
    const key = core.toKey(rawKey);
    core.live(key, core.activeVBucket(key, vbId), this.id);
    const item = core.lookup(key, this.id);
    if (!item) throw new EngineError('KEY_ENOENT');
    return item;
  }
  storeItem(mode: StoreMode, key: Key, value: Buffer, opts?: WriteOptions, vbId?: number): Promise<MutationResult> {
    return settle(() => this.storeItemNow(mode, key, value, opts, vbId));
  }
  /**
   * `storeItem` for a face that answers in the same turn (the KV face): the result itself when the
   * write is acknowledged from memory, a promise when it waits for the disk; a refusal throws.
   */
  storeItemNow(mode: StoreMode, key: Key, value: Buffer, opts?: WriteOptions, vbId?: number): Written {
    return ops.store(this.#core, this.id, mode, key, value, opts, vbId);
  }
  set(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this.#core, this.id, 'set', key, bytes(value), opts));
  }
  add(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this.#core, this.id, 'add', key, bytes(value), opts));
  }
  replace(key: Key, value: Buffer | string, opts?: WriteOptions): Promise<MutationResult> {
    return settle(() => ops.store(this.#core, this.id, 'replace', key, bytes(value), opts));
  }
  delete(key: Key, opts?: DeleteOptions, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.remove(this.#core, this.id, key, opts, vbId));
  }
  touch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.touch(this.#core, this.id, key, expiry, vbId));
  }
  /** Get-and-touch: the document with its new expiry. */
  getAndTouch(key: Key, expiry: number, vbId?: number): Promise<MutationResult> {
    return settle(() => ops.touch(this.#core, this.id, key, expiry, vbId));
  }
  increment(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return settle(() => ops.counter(this.#core, this.id, 'incr', key, opts, vbId));
  }
  decrement(key: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
    return settle(() => ops.counter(this.#core, this.id, 'decr', key, opts, vbId));
  }
  append(key: Key, data: Buffer | string, cas?: bigint, vbId?: number, durability?: DurabilityLevel): Promise<MutationResult> {
    return settle(() => ops.concat(this.#core, this.id, 'append', key, bytes(data), cas, vbId, durability));
  }
  prepend(key: Key, data: Buffer | string, cas?: bigint, vbId?: number, durability?: DurabilityLevel): Promise<MutationResult> {
    return settle(() => ops.concat(this.#core, this.id, 'prepend', key, bytes(data), cas, vbId, durability));
  }
  /** Atomic read-modify-write of one document, tombstones included (subdoc-write.ts). */
  edit(key: Key, opts: EditOptions, fn: (current: Item | undefined, cas: bigint) => DocumentEdit, vbId?: number): Promise<MutationResult> {
    return settle(() => editDocument(this.#core, this.id, key, opts, fn, vbId));
  }
  /** Compare-and-write against the current version including tombstones (see mutations.ts). */
  writeVersion(key: Key, expect: bigint | null, spec: VersionSpec): Promise<MutationResult> {
    return settle(() => ops.writeVersion(this.#core, this.id, key, expect, spec));
  }
  /** An XDCR write with its own metadata, after conflict resolution (with-meta.ts). */
  writeWithMeta(key: Key, meta: WithMeta, value: Buffer, opts: WithMetaOptions, vbId?: number): Promise<MutationResult> {
    return settle(() => writeWithMeta(this.#core, this.id, key, meta, value, opts, vbId));
  }
}
