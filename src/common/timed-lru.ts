/**
 * A bounded map with CouchDB's ets_lru rules (src/ets_lru/src/ets_lru.erl), for the caches the
 * CouchDB face keeps per user and address: at most `maxObjects` entries, the least recently used
 * dropped first (trim_count/drop_lru); an entry removed `maxLifetimeMs` after it was created
 * (trim_lifetime, by ctime: updating it does not extend its life) or `maxIdleMs` after it was
 * last read or written (trim_idle, by atime). Limits are read at each use, so a `_config` change
 * applies at once.
 *
 * Two insertion-ordered Maps stand for ets_lru's ordered atime and ctime tables: `#byAtime` is
 * re-inserted on every access, so its first entry is the least recently used; `#byCtime` keeps
 * creation order, so its first entry is the oldest. Expiry and eviction look only at the fronts.
 */

export interface TimedLruLimits {
  readonly maxObjects: number;
  /** Milliseconds from creation; undefined: no limit. */
  readonly maxLifetimeMs?: number;
  /** Milliseconds from the last access; undefined: no limit. */
  readonly maxIdleMs?: number;
}

interface Entry<V> {
  value: V;
  created: number;
  accessed: number;
}

export class TimedLru<V> {
  readonly #byAtime = new Map<string, Entry<V>>();
  readonly #byCtime = new Map<string, Entry<V>>();

  constructor(
    private readonly limits: () => TimedLruLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    this.#trim();
    return this.#byAtime.size;
  }

  /** ets_lru:lookup_d/2: the value, marking the entry used. */
  get(key: string): V | undefined {
    this.#trim();
    const entry = this.#byAtime.get(key);
    if (entry === undefined) return undefined;
    this.#touch(key, entry);
    return entry.value;
  }

  /** ets_lru:insert/3: a new entry, or a new value for an existing one (which keeps its creation time). */
  set(key: string, value: V): void {
    this.update(key, () => value);
  }

  /** ets_lru:update_counter/3 generalised: the next value from the current one (undefined when none). */
  update(key: string, next: (current: V | undefined) => V): V {
    this.#trim();
    const entry = this.#byAtime.get(key);
    if (entry !== undefined) {
      entry.value = next(entry.value);
      this.#touch(key, entry);
      return entry.value;
    }
    const now = this.now();
    const created: Entry<V> = { value: next(undefined), created: now, accessed: now };
    this.#byAtime.set(key, created);
    this.#byCtime.set(key, created);
    this.#trim();
    return created.value;
  }

  delete(key: string): void {
    this.#byAtime.delete(key);
    this.#byCtime.delete(key);
  }

  #touch(key: string, entry: Entry<V>): void {
    entry.accessed = this.now();
    this.#byAtime.delete(key);
    this.#byAtime.set(key, entry);
  }

  #trim(): void {
    const { maxObjects, maxLifetimeMs, maxIdleMs } = this.limits();
    const now = this.now();
    if (maxLifetimeMs !== undefined) {
      for (const [key, entry] of this.#byCtime) {
        if (now - entry.created <= maxLifetimeMs) break;
        this.delete(key);
      }
    }
    if (maxIdleMs !== undefined) {
      for (const [key, entry] of this.#byAtime) {
        if (now - entry.accessed <= maxIdleMs) break;
        this.delete(key);
      }
    }
    for (const key of this.#byAtime.keys()) {
      if (this.#byAtime.size <= Math.max(0, maxObjects)) break;
      this.delete(key);
    }
  }
}
