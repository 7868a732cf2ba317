/**
 * CPU time per thread of this process, from /proc (Linux; elsewhere `snapshot` returns null and
 * the figures are left out). `bench kv` uses it to show where a SET's CPU goes on this machine:
 * the server's event loop (this process's main thread), the load generator (its worker threads,
 * which measure their own CPU), and every other thread (lmdb-js's writer on the libuv
 * pool, V8's GC and compiler helpers). With every thread's cost per operation known, the cores
 * of the machine bound the rate: cores / (total CPU per operation).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Thread id -> CPU milliseconds (user + system). */
export type ThreadCpu = Map<number, number>;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

function cpuMsOf(statPath: string): number | null {
  try {
    const stat = readFileSync(statPath, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** A whole process's CPU so far (memcached, the peer), as one entry, or null without /proc. */
export function processSnapshot(pid: number): ThreadCpu | null {
  const ms = cpuMsOf(`/proc/${pid}/stat`);
  return ms === null ? null : new Map([[pid, ms]]);
}

/** Every thread of this process and its CPU so far, or null without /proc. */
export function snapshot(): ThreadCpu | null {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  const out: ThreadCpu = new Map();
  for (const tid of tids) {
    const ms = cpuMsOf(`/proc/self/task/${tid}/stat`);
    if (ms !== null) out.set(Number(tid), ms);
  }
  return out;
}

/** The calling thread's CPU so far (a load worker measures its own phase), or null without /proc. */
export function ownCpuMs(): number | null {
  return cpuMsOf('/proc/thread-self/stat');
}

export interface CpuSplit {
  /** Microseconds of CPU per operation: the server's main thread (all of a peer process), its other threads, the load generator. */
  readonly mainUs: number;
  readonly loadUs: number;
  readonly otherUs: number;
  /** The rate the machine's cores allow at these costs: cores / total per operation. */
  readonly ceiling: number;
  readonly cores: number;
}

/**
 * Split the CPU between two snapshots over `ops` operations. Threads that started in between
 * (the load generator's workers, created per phase) are left out: the workers measure their own
 * CPU over the phase (`loadMs`), without their startup.
 */
export function split(before: ThreadCpu, after: ThreadCpu, ops: number, loadMs: number, mainTid = process.pid): CpuSplit {
  let mainMs = 0;
  let otherMs = 0;
  for (const [tid, ms] of after) {
    const was = before.get(tid);
    if (was === undefined) continue;
    if (tid === mainTid) mainMs += ms - was;
    else otherMs += ms - was;
  }
  const per = (ms: number): number => (ms * 1000) / ops;
  const cores = availableParallelism();
  const total = per(mainMs) + per(loadMs) + per(otherMs);
  return { mainUs: per(mainMs), loadUs: per(loadMs), otherUs: per(otherMs), ceiling: total > 0 ? Math.round((cores * 1e6) / total) : NaN, cores };
}
