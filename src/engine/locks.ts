/**
 * Document locks: GET_LOCKED (0x94, the SDKs' `getAndLock`) and UNLOCK_KEY (0x95, `unlock`), with
 * kv_engine's rules (engines/ep/src/vbucket.cc `getLocked`, kv_bucket.cc `unlockKey`,
 * ep_engine.cc `getLockedInner`, stored_value.h `lock`/`isLocked`):
 *
 * - a lock is taken on a live document for a timeout in seconds: 0, or more than the maximum
 *   (`getl_max_timeout`, 30 s), means the default (`getl_default_timeout`, 15 s);
 * - the locker gets the document with a fresh CAS, the lock CAS; the document's own CAS does not
 *   change and nothing is written (a lock is no mutation, and DCP never sees it);
 * - while locked, GET answers CAS 0xffffffffffffffff to everyone (kv's HIDE_LOCKED_CAS), a second
 *   GET_LOCKED is refused (`locked_tmpfail`), and a mutation is refused (`locked`, or
 *   `locked_tmpfail` for a delete with a wrong CAS) unless it carries the lock CAS: then it
 *   succeeds and the lock is gone;
 * - UNLOCK_KEY with the lock CAS releases it; another CAS is `locked_tmpfail`; an unlocked live
 *   document is `not_locked`; a missing one KEY_ENOENT;
 * - locks expire after their timeout (the engine `Clock`, so tests move time instead of
 *   sleeping) and live in memory only: a restart drops them all, as kv's hash table does.
 *
 * The engine kinds LOCKED, LOCKED_TMPFAIL and NOT_LOCKED keep kv's distinction; the KV face maps
 * them to LOCKED (0x09) / NOT_LOCKED (0x0e) for a client that negotiated XERROR and to kv's
 * legacy statuses otherwise (kv/error-map.ts).
 *
 * The table is per bucket core, keyed like the key directory (dir-keys.ts), so it never holds
 * more entries than the bucket has keys. An entry also remembers the CAS of the version it
 * locked: any change of the document by a path that does not consult the table (expiry on access,
 * a replica or XDCR apply) leaves a stale entry that is dropped the next time it is read. Expired
 * entries are dropped when read, and swept when the table doubles.
 */
import { EngineError, type EngineErrorKind } from './errors.js';
import type { BucketCore } from './bucket-core.js';
import { dirKey } from './dir-keys.js';
import type { Item, Key } from './types.js';

/** kv_engine configuration.json `getl_default_timeout` and `getl_max_timeout`, in seconds. */
export const DEFAULT_LOCK_SECONDS = 15;
export const MAX_LOCK_SECONDS = 30;
/** The CAS a GET shows for a locked document (kv: `uint64_t(-1)`). */
export const LOCKED_CAS = 0xffff_ffff_ffff_ffffn;

/** Outcome counters (STAT: cmd_lock and the lock_* figures). */
export interface LockStats {
  /** GET_LOCKED that took a lock. */
  locked: number;
  /** GET_LOCKED refused: the document was already locked. */
  lockRefused: number;
  /** Locks released by UNLOCK_KEY. */
  unlocked: number;
  /** UNLOCK_KEY refused: wrong CAS or not locked. */
  unlockRefused: number;
  /** Locks released by a mutation carrying the lock CAS. */
  releasedByMutation: number;
  /** Mutations refused because the document was locked. */
  mutationsRefused: number;
  /** Locks that timed out (counted when found expired). */
  expired: number;
}

interface Lock {
  readonly cas: bigint;
  /** The CAS of the locked version: another version means the lock no longer applies. */
  readonly itemCas: bigint;
  /** Engine clock milliseconds at which the lock lapses. */
  readonly until: number;
}

const MIN_SWEEP = 1024;

class LockTable {
  readonly #locks = new Map<string, Lock>();
  readonly stats: LockStats = { locked: 0, lockRefused: 0, unlocked: 0, unlockRefused: 0, releasedByMutation: 0, mutationsRefused: 0, expired: 0 };
  #nextSweep = MIN_SWEEP;

  get size(): number {
    return this.#locks.size;
  }

  /** The lock in force on `item` (its directory key `k`), dropping a lapsed or stale entry. */
  active(k: string, item: Item, now: number): Lock | undefined {
    const lock = this.#locks.get(k);
    if (lock === undefined) return undefined;
    if (lock.itemCas === item.cas && now < lock.until) return lock;
    if (now >= lock.until) this.stats.expired++;
    this.#locks.delete(k);
    return undefined;
  }

  set(k: string, lock: Lock, now: number): void {
    this.#locks.set(k, lock);
    if (this.#locks.size >= this.#nextSweep) this.#sweep(now);
  }

  delete(k: string): void {
    this.#locks.delete(k);
  }

  clear(): void {
    this.#locks.clear();
  }

  /** Drop every lapsed lock; the next sweep waits until the table has doubled again. */
  #sweep(now: number): void {
    for (const [k, lock] of this.#locks) {
      if (now >= lock.until) {
        this.#locks.delete(k);
        this.stats.expired++;
      }
    }
    this.#nextSweep = Math.max(MIN_SWEEP, this.#locks.size * 2);
  }
}

/** One table per bucket core: a new core (a restart, a re-created bucket) starts with none. */
const tables = new WeakMap<BucketCore, LockTable>();

function tableOf(core: BucketCore): LockTable {
  let t = tables.get(core);
  if (t === undefined) tables.set(core, (t = new LockTable()));
  return t;
}

/** The lock timeout kv applies to a requested one (ep_engine.cc `getLockedInner`). */
export function lockSeconds(requested: number): number {
  return requested === 0 || requested > MAX_LOCK_SECONDS ? DEFAULT_LOCK_SECONDS : requested;
}

/**
 * Lock a live document for `seconds` (already through `lockSeconds`); returns it with the lock
 * CAS. KEY_ENOENT when missing, deleted or expired; LOCKED_TMPFAIL when locked already. The
 * caller has checked the collection.
 */
export function getAndLock(core: BucketCore, collection: number, rawKey: Key, seconds: number, vbId?: number): Item {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_LOCK_SECONDS) {
    throw new EngineError('EINVAL', `lock timeout ${seconds} is not 1..${MAX_LOCK_SECONDS} seconds`);
  }
  const key = core.toKey(rawKey);
  const item = core.live(key, core.activeVBucket(key, vbId), collection);
  if (item === undefined) throw new EngineError('KEY_ENOENT');
  const table = tableOf(core);
  const k = dirKey(collection, key);
  const now = core.clock.now();
  if (table.active(k, item, now) !== undefined) {
    table.stats.lockRefused++;
    throw new EngineError('LOCKED_TMPFAIL', 'the document is locked');
  }
  const cas = core.hlc.next();
  table.set(k, { cas, itemCas: item.cas, until: now + seconds * 1000 }, now);
  table.stats.locked++;
  return { ...item, cas };
}

/** Release the lock on a live document with its lock CAS (kv_bucket.cc `unlockKey`). */
export function unlock(core: BucketCore, collection: number, rawKey: Key, cas: bigint, vbId?: number): void {
  const key = core.toKey(rawKey);
  const item = core.live(key, core.activeVBucket(key, vbId), collection);
  if (item === undefined) throw new EngineError('KEY_ENOENT');
  const table = tableOf(core);
  const k = dirKey(collection, key);
  const lock = table.active(k, item, core.clock.now());
  if (lock === undefined) {
    table.stats.unlockRefused++;
    throw new EngineError('NOT_LOCKED', 'the document is not locked');
  }
  if (lock.cas !== cas) {
    table.stats.unlockRefused++;
    throw new EngineError('LOCKED_TMPFAIL', 'the document is locked with another CAS');
  }
  table.delete(k);
  table.stats.unlocked++;
}

/** Whether any key of the bucket may be locked (a reader must then look at its version's lock). */
export function anyLocked(core: BucketCore): boolean {
  const table = tables.get(core);
  return table !== undefined && table.size > 0;
}

/** Drop every lock of the bucket (a flush deletes locked documents too); how many were held. */
export function releaseAllLocks(core: BucketCore): number {
  const table = tables.get(core);
  if (table === undefined) return 0;
  const held = table.size;
  table.clear();
  return held;
}

/** `item` as a reader other than the locker sees it: CAS 0xffffffffffffffff while locked. */
export function hideLockedCas(core: BucketCore, item: Item): Item {
  const table = tables.get(core);
  if (table === undefined || table.size === 0) return item;
  return table.active(dirKey(item.collection, item.key), item, core.clock.now()) === undefined ? item : { ...item, cas: LOCKED_CAS };
}

/**
 * The lock check of every mutation of a live `current` version, placed where the CAS is checked:
 * not locked → `cas` unchanged, for the ordinary CAS check; locked and `cas` is the lock CAS →
 * the lock is released and undefined returned (the write goes ahead, whatever the document's own
 * CAS); locked otherwise → `refusal` (kv: `locked`, or `locked_tmpfail` for a delete with a CAS).
 */
export function passLock(core: BucketCore, current: Item | undefined, cas: bigint | undefined, refusal: EngineErrorKind = 'LOCKED'): bigint | undefined {
  if (current === undefined) return cas;
  const table = tables.get(core);
  if (table === undefined || table.size === 0) return cas;
  const k = dirKey(current.collection, current.key);
  const lock = table.active(k, current, core.clock.now());
  if (lock === undefined) return cas;
  if (cas !== undefined && cas === lock.cas) {
    table.delete(k);
    table.stats.releasedByMutation++;
    return undefined;
  }
  table.stats.mutationsRefused++;
  throw new EngineError(refusal, 'the document is locked');
}

/** The bucket's lock counters and the locks currently held (lapsed ones not yet swept included). */
export function lockStats(core: BucketCore): LockStats & { held: number } {
  const table = tableOf(core);
  return { ...table.stats, held: table.size };
}
