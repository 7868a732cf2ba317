/**
 * One process per data directory: an exclusive lock file (`freshet.lock`) taken before LMDB opens.
 *
 * LMDB itself lets several processes share an environment, so without this a second `freshet
 * serve` on the same directory would read the live server's "running" marker as an unclean
 * shutdown, rewrite every failover log (engine.ts) and interleave its writes with the first
 * server's. Node has no flock/fcntl, so the lock is a file published atomically with `link(2)`
 * (which fails with EEXIST when the name exists) holding the holder's pid, host and process start
 * time. A lock whose holder is gone (`kill -9`) is stale and is taken over: it is renamed to a
 * private name, and removed only if what was moved is still the stale content we judged — a
 * racer's fresh lock moved by mistake is linked back. Within one process a set of held
 * directories refuses a second open of the same directory.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errorCode, FreshetError } from '../common/errors.js';

export const LOCK_FILE = 'freshet.lock';

/** The data directory is held by another live process (or already open in this one). */
export class DataDirLockedError extends FreshetError<'STORE_DIR_LOCKED'> {
  override name = 'DataDirLockedError';
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly host: string,
  ) {
    const where = host === hostname() ? '' : ` on host ${host}`;
    const extra = host === hostname() ? '' : ` (if that host no longer runs it, remove ${join(dir, LOCK_FILE)})`;
    super(errorCode('STORE', 'DIR_LOCKED'), `data directory ${dir} is in use by process ${pid}${where}${extra}`);
  }
}

interface LockRecord {
  pid: number;
  host: string;
  /** Process start time (Linux: clock ticks since boot), so a reused pid is not taken for the holder. */
  started: number | null;
  nonce: string;
}

/** Directories (realpath) this process holds. */
const held = new Set<string>();

/** Field 22 of /proc/PID/stat (proc(5)); null where there is no /proc. */
function processStartTime(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[22 - 3]);
    return Number.isSafeInteger(v) ? v : null;
  } catch {
    return null;
  }
}

function parseRecord(text: string): LockRecord | null {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isSafeInteger(r.pid) || (r.pid as number) <= 0 || typeof r.host !== 'string') return null;
    return { pid: r.pid as number, host: r.host, started: typeof r.started === 'number' ? r.started : null, nonce: String(r.nonce) };
  } catch {
    return null;
  }
}

/** Whether the recorded holder may still be running (when in doubt: yes). */
function holderAlive(r: LockRecord): boolean {
  if (r.host !== hostname()) return true; // no way to look at another machine's processes
  if (r.pid === process.pid) return false; // an earlier incarnation with our pid (containers restart as pid 1)
  try {
    process.kill(r.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: alive, owned by someone else
  }
  if (r.started === null) return true;
  const now = processStartTime(r.pid);
  return now === null || now === r.started; // a different start time: the pid was reused
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function writeFileDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class DirLock {
  private released = false;
  private constructor(
    readonly dir: string,
    private readonly real: string,
    readonly path: string,
    private readonly content: string,
    /** The pid of a stale lock this one replaced (its holder died without closing), if any. */
    readonly replacedPid: number | null,
  ) {}

  /** Take the lock on an existing directory or throw DataDirLockedError. Synchronous: nothing runs in between. */
  static acquire(dir: string): DirLock {
    const real = realpathSync(dir);
    if (held.has(real)) throw new DataDirLockedError(dir, process.pid, hostname());
    const path = join(dir, LOCK_FILE);
    const record: LockRecord = { pid: process.pid, host: hostname(), started: processStartTime('self'), nonce: randomBytes(8).toString('hex') };
    const content = `${JSON.stringify(record)}\n`;
    const tmp = `${path}.${process.pid}.${record.nonce}.tmp`;
    writeFileDurably(tmp, content);
    let replacedPid: number | null = null;
    try {
      // A few rounds cover racers that come and go; each round either wins, refuses or clears a stale lock.
      for (let round = 0; round < 8; round++) {
        try {
          linkSync(tmp, path);
          if (readOrNull(path) !== content) continue; // a stale-lock breaker moved ours away just now
          held.add(real);
          return new DirLock(dir, real, path, content, replacedPid);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const seen = readOrNull(path);
        if (seen === null) continue;
        const holder = parseRecord(seen);
        if (holder && holderAlive(holder)) throw new DataDirLockedError(dir, holder.pid, holder.host);
        if (breakStale(path, seen, record.nonce)) replacedPid = holder?.pid ?? null;
      }
      throw new Error(`could not lock data directory ${dir}: ${path} keeps changing`);
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Remove the lock file if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.real);
    if (readOrNull(this.path) === this.content) unlinkSync(this.path);
  }
}

/** Move a stale lock out of the way, unless it changed since we judged it (then put it back). True if removed. */
function breakStale(path: string, judged: string, nonce: string): boolean {
  const aside = `${path}.stale.${process.pid}.${nonce}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // someone else cleared it
    throw err;
  }
  const removed = readFileSync(aside, 'utf8') === judged;
  if (!removed) {
    // We moved a racer's fresh lock: restore it (EEXIST: a third racer already published one).
    try {
      linkSync(aside, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  unlinkSync(aside);
  return removed;
}
