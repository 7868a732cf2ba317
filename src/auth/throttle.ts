/**
 * Slowing down password guessing: one throttle, keyed by remote address, shared by the three
 * faces (CouchDB HTTP Basic and `POST /_session`, the cluster manager's Basic auth, KV SASL).
 *
 * Without it a single client could try ~370 passwords a second over HTTP and ~60 a second on one
 * KV connection. The rule: after `freeFailures` failed password checks from one address, every
 * further attempt from that address is answered only after a delay that doubles with each failure
 * (`baseDelayMs`, 2×, 4×, … capped at `maxDelayMs`). The delay is a timer, never a busy wait, so
 * other connections and addresses are not slowed. An attempt that is delayed is then checked
 * normally: a correct password still succeeds, after at most the delay in force.
 *
 * Choices, and why:
 * - Keyed by address, not by user (CouchDB's `[chttpd_auth_lockout]`, couch_auth_lockout.erl,
 *   keys by peer and user): a guesser trying many user names is slowed as well. The defaults
 *   follow that section: threshold 5, 10 000 tracked entries, a 5-minute lifetime.
 * - Delay, not lockout (CouchDB answers 403 even to the right password while locked): a lockout
 *   lets anyone who can reach the port lock the administrator out; a delay only costs time.
 *   The CouchDB face has CouchDB's lockout as well, off unless `[chttpd_auth_lockout] mode` turns
 *   it on (src/http/auth-lockout.ts).
 * - A success from an address forgets its failures (as Vault's user lockout resets its counter):
 *   HTTP Basic authenticates every request, so a client that mistyped once must not stay slowed
 *   for every later request. An attacker who owns a valid account could reset its own counter this
 *   way; the delay before each attempt from a throttled address still applies until then.
 * - Bounded everywhere: the failure table is an LRU of at most `maxEntries` addresses (the oldest
 *   failure is evicted first; entries expire `forgetAfterMs` after their last failure), and at
 *   most `maxWaiting` attempts per address (and `maxEntries` in all) wait on a timer at once.
 *   An attempt beyond that is refused at once with the face's normal authentication failure,
 *   without checking the password (so it gives a guesser nothing), and counted as `rejected`.
 * - `false` turns the delays off; failed logins are still counted and logged.
 * Logged at warn: each failed login (address, user name, face; never the password: an operator
 * watching warnings sees password guessing), and each change of an address's state (throttled /
 * no longer throttled, with the reason).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SILENT_LOGGER, type Logger } from '../common/logger.js';

export interface AuthThrottleOptions {
  /** Failed logins from one address answered without delay (default 5). */
  readonly freeFailures?: number;
  /** Delay of the first throttled attempt, doubled per further failure (default 100 ms). */
  readonly baseDelayMs?: number;
  /** Upper bound of the delay (default 5000 ms). */
  readonly maxDelayMs?: number;
  /** Addresses remembered at most (default 10 000); the least recently failing is dropped. */
  readonly maxEntries?: number;
  /** An address is forgotten this long after its last failure (default 300 000 ms). */
  readonly forgetAfterMs?: number;
  /** Attempts from one address waiting on their delay at once (default 4). */
  readonly maxWaiting?: number;
}

/** The ServerOptions field: options (missing ones take the defaults) or false for no delays. */
export type AuthThrottleConfig = AuthThrottleOptions | false;

export const DEFAULT_AUTH_THROTTLE: Readonly<Required<AuthThrottleOptions>> = {
  freeFailures: 5,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  maxEntries: 10_000,
  forgetAfterMs: 300_000,
  maxWaiting: 4,
};

/** The part of the tree's logger contract (common/logger.ts) the throttle writes to. */
export type ThrottleLog = Pick<Logger, 'warn' | 'info'>;

export interface AuthThrottleStats {
  /** Password checks that failed (every face). */
  readonly failedLogins: number;
  /** Attempts answered after a delay. */
  readonly throttledAttempts: number;
  /** Attempts refused unchecked because too many from their address were already waiting. */
  readonly rejectedAttempts: number;
  /** Addresses whose next attempt will be delayed. */
  readonly throttledAddresses: number;
  /** Addresses in the failure table (at most maxEntries). */
  readonly trackedAddresses: number;
  /** Failed password checks per face (`kv`, `rest`, `couchdb`). */
  readonly failuresByFace: Readonly<Record<string, number>>;
}

export interface AuthThrottleDeps {
  readonly log?: ThrottleLog;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
  /** Timer; tests may inject one. Must not block the event loop. */
  readonly wait?: (ms: number) => Promise<void>;
}

interface Entry {
  failures: number;
  lastFailure: number;
  throttled: boolean;
}

/** The address a socket reports, with an IPv4-mapped IPv6 form collapsed onto the IPv4 one. */
export function clientAddress(raw: string | undefined): string {
  if (raw === undefined || raw.length === 0) return 'unknown';
  return raw.toLowerCase().startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}

const NO_LOG: ThrottleLog = SILENT_LOGGER;

export class AuthThrottle {
  readonly enabled: boolean;
  readonly options: Required<AuthThrottleOptions>;
  readonly #log: ThrottleLog;
  readonly #now: () => number;
  readonly #wait: (ms: number) => Promise<void>;
  /** Insertion order = order of last failure (an entry is moved to the end on each failure). */
  readonly #table = new Map<string, Entry>();
  /** Attempts waiting on a timer, per address; a key exists only while its count is positive. */
  readonly #waiting = new Map<string, number>();
  #waitingTotal = 0;
  #throttledNow = 0;
  #failedLogins = 0;
  /** Per face; the faces are the three callers' fixed names, so the table stays small. */
  readonly #failuresByFace: Record<string, number> = {};
  #throttledAttempts = 0;
  #rejectedAttempts = 0;

  constructor(config: AuthThrottleConfig | undefined, deps: AuthThrottleDeps = {}) {
    this.enabled = config !== false;
    const given = config === false || config === undefined ? {} : config;
    const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    this.options = { ...DEFAULT_AUTH_THROTTLE, ...defined };
    for (const [name, value] of Object.entries(this.options)) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`authThrottle.${name} must be a number >= 0`);
    }
    if (this.options.maxEntries < 1) throw new RangeError('authThrottle.maxEntries must be >= 1');
    this.#log = deps.log ?? NO_LOG;
    this.#now = deps.now ?? Date.now;
    this.#wait = deps.wait ?? ((ms) => sleep(ms, undefined, { ref: false }));
  }

  /** The delay the next attempt from `address` would wait, in ms (0: not throttled). */
  delayFor(address: string): number {
    if (!this.enabled) return 0;
    this.#expire();
    const entry = this.#table.get(address);
    return entry === undefined ? 0 : this.#delayOf(entry.failures);
  }

  /**
   * Wait this address's turn. `true` at once (no promise) when it is not throttled; otherwise a
   * promise of `true` after the delay, or of `false` when too many of its attempts already wait:
   * answer that one with the face's authentication failure without checking the password.
   */
  admit(address: string): true | Promise<boolean> {
    const delay = this.delayFor(address);
    if (delay === 0) return true;
    const waiting = this.#waiting.get(address) ?? 0;
    if (waiting >= this.options.maxWaiting || this.#waitingTotal >= this.options.maxEntries) {
      this.#rejectedAttempts++;
      return Promise.resolve(false);
    }
    this.#waiting.set(address, waiting + 1);
    this.#waitingTotal++;
    this.#throttledAttempts++;
    const release = (): boolean => {
      const left = (this.#waiting.get(address) ?? 1) - 1;
      if (left > 0) this.#waiting.set(address, left);
      else this.#waiting.delete(address);
      this.#waitingTotal--;
      return true;
    };
    return this.#wait(delay).then(release, release);
  }

  /** A password check from `address` failed. */
  failed(address: string, user: string, face: string): void {
    this.#failedLogins++;
    this.#failuresByFace[face] = (this.#failuresByFace[face] ?? 0) + 1;
    this.#log.warn({ address, user, face }, 'failed login');
    if (!this.enabled) return;
    this.#expire();
    const entry = this.#table.get(address) ?? { failures: 0, lastFailure: 0, throttled: false };
    entry.failures++;
    entry.lastFailure = this.#now();
    // Move to the end: the table stays ordered by last failure, for expiry and eviction.
    this.#table.delete(address);
    this.#table.set(address, entry);
    if (!entry.throttled && this.#delayOf(entry.failures) > 0) {
      entry.throttled = true;
      this.#throttledNow++;
      this.#log.warn({ address, failures: entry.failures, user, face }, 'address throttled after repeated failed logins');
    }
    while (this.#table.size > this.options.maxEntries) {
      const oldest = this.#table.keys().next();
      if (oldest.done === true) break;
      this.#forget(oldest.value, 'evicted');
    }
  }

  /** A password check from `address` succeeded: its failures are forgotten. */
  succeeded(address: string): void {
    if (this.#table.has(address)) this.#forget(address, 'successful login');
  }

  /** Admit, run the password check, record the outcome; false for a refused or failed attempt. */
  async check(address: string, user: string, face: string, verify: () => boolean | Promise<boolean>): Promise<boolean> {
    const gate = this.admit(address);
    if (gate !== true && !(await gate)) return false;
    const ok = await verify();
    if (ok) this.succeeded(address);
    else this.failed(address, user, face);
    return ok;
  }

  stats(): AuthThrottleStats {
    this.#expire();
    return {
      failedLogins: this.#failedLogins,
      throttledAttempts: this.#throttledAttempts,
      rejectedAttempts: this.#rejectedAttempts,
      throttledAddresses: this.#throttledNow,
      trackedAddresses: this.#table.size,
      failuresByFace: { ...this.#failuresByFace },
    };
  }

  /** 0 up to freeFailures failures, then baseDelayMs (from the first failure when freeFailures is 0), doubling. */
  #delayOf(failures: number): number {
    const over = failures - Math.max(1, this.options.freeFailures);
    if (failures < this.options.freeFailures || over < 0) return 0;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over, 30));
  }

  /**
   * Drop entries whose last failure is older than forgetAfterMs (they sit at the front). Run on
   * every use of the throttle, so an expiry is noticed (and its release logged) at the next one.
   */
  #expire(): void {
    const horizon = this.#now() - this.options.forgetAfterMs;
    for (const [address, entry] of this.#table) {
      if (entry.lastFailure > horizon) break;
      this.#forget(address, 'expired');
    }
  }

  #forget(address: string, reason: string): void {
    const entry = this.#table.get(address);
    if (entry === undefined) return;
    this.#table.delete(address);
    if (entry.throttled) {
      this.#throttledNow--;
      this.#log.warn({ address, failures: entry.failures, reason }, 'address no longer throttled');
    }
  }
}
