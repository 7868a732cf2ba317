/**
 * `[chttpd_auth_lockout]`, CouchDB 3.4's lockout after repeated failed logins
 * (couch/src/couch_auth_lockout.erl, called from couch_httpd_auth:authenticate/5 for Basic
 * credentials and `POST /_session`; a cookie is no password check and is not counted).
 *
 * Failures are counted per (client address, user name, user salt): a changed password starts
 * afresh. Once `threshold` (default 5) failures are counted, `mode`:
 * - `enforce`: every further password check of that user from that address is refused before
 *   the password is looked at, the right one too, with 403 `forbidden` "Account is temporarily
 *   locked due to multiple authentication failures" (couch_httpd_auth ?LOCKOUT_MSG);
 * - `warn`: the check goes on as usual, and "authentication failure threshold reached" is logged;
 * - `off`: nothing is counted. Any other value counts as `off`, as lockout_mode/0 reads it.
 * Counts are an ets_lru of `max_objects` (10 000) entries, each dropped `max_lifetime` (300 000
 * ms) after its first failure, so a lockout ends at most that long after it began. All four keys
 * are read at each check (CouchDB reads `max_objects` and `max_lifetime` at start only).
 * `client_ip_header` (CouchDB 3.5), when set, names a header whose first address is the client's
 * (behind a proxy); without it, or when the header is absent or blank, the socket's peer.
 *
 * Freshet's default mode is `off`, CouchDB 3.3's behaviour (Freshet answers as CouchDB 3.3.3):
 * CouchDB 3.4 defaults to `enforce`, which lets any client that can reach the port lock a user,
 * the administrator included, out from its own address. The failed-login throttle
 * (src/auth/throttle.ts) already slows password guessing without locking anyone out.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../common/logger.js';
import { TimedLru } from '../common/timed-lru.js';
import { CouchError } from '../couch/errors.js';
import type { CouchConfig } from '../couchdb/config.js';
import { clientAddress } from '../auth/throttle.js';

const SECTION = 'chttpd_auth_lockout';
const LOCKOUT_MSG = 'Account is temporarily locked due to multiple authentication failures';

type Mode = 'off' | 'warn' | 'enforce';

export class AuthLockout {
  readonly #failures: TimedLru<number>;

  constructor(
    private readonly config: CouchConfig,
    private readonly logger: Pick<Logger, 'warn'>,
    now: () => number = Date.now,
  ) {
    this.#failures = new TimedLru(() => ({ maxObjects: config.int(SECTION, 'max_objects', 10_000), maxLifetimeMs: config.int(SECTION, 'max_lifetime', 300_000) }), now);
  }

  /** lockout_mode/0, with Freshet's default (`off`, see the header). */
  get mode(): Mode {
    const mode = this.config.get(SECTION, 'mode') ?? 'off';
    return mode === 'warn' || mode === 'enforce' ? mode : 'off';
  }

  /**
   * is_locked_out/3, before a password check: throws 403 when `enforce` has locked this user out
   * from this address; logs when `warn` would have.
   */
  check(req: IncomingMessage, name: string, salt: string): void {
    const mode = this.mode;
    if (mode === 'off') return;
    const peer = this.#peer(req);
    // No failure on record locks nobody out, whatever the threshold (couch_auth_lockout
    // is_locked_out/3 looks the entry up first): a threshold of 0 must not lock out everyone.
    const failures = this.#failures.get(key(peer, name, salt));
    if (failures === undefined || failures < this.config.int(SECTION, 'threshold', 5)) return;
    if (mode === 'warn') {
      this.logger.warn({ user: name, peer }, 'authentication failure threshold reached');
      return;
    }
    // couch_httpd_auth lockout_warning/2
    this.logger.warn({ user: name, peer }, 'authentication rejected for locked-out user');
    throw new CouchError('forbidden', { params: { detail: LOCKOUT_MSG } });
  }

  /** lockout/3, after a failed password check. */
  failed(req: IncomingMessage, name: string, salt: string): void {
    if (this.mode === 'off') return;
    this.#failures.update(key(this.#peer(req), name, salt), (n) => (n ?? 0) + 1);
  }

  /** couch_auth_lockout peer/1: the configured header's first address, else the socket's. */
  #peer(req: IncomingMessage): string {
    const header = this.config.get(SECTION, 'client_ip_header');
    if (header !== undefined && header !== '') {
      const value = req.headers[header.toLowerCase()];
      const first = (Array.isArray(value) ? value[0] : value)?.split(/[, ]+/).find((part) => part !== '');
      if (first !== undefined) return first;
    }
    return clientAddress(req.socket.remoteAddress);
  }
}

function key(peer: string, name: string, salt: string): string {
  return JSON.stringify([peer, name, salt]);
}
