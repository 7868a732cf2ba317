/**
 * KV benchmark (issue 16): SETs/s and GETs/s of 100-byte values, pipelined (by default 4
 * connections x 64 = 256 requests in flight), against Freshet (in-process, over a temp dir) and
 * against memcached, with the same load generator (bench/kv-load.ts) in the same run. memcached
 * speaks the same memcached binary protocol (without auth or vbuckets), so the figures compare the
 * two servers' request paths. Freshet's SETs are measured twice at the same load: with no
 * durability (acknowledged once applied in memory, as Couchbase does) and with durability level
 * persistToMajority (frame info 0x01 level 3: acknowledged once fsynced). Each figure is printed
 * with its ratio to memcached and the issue's target; Freshet's phases also print the share of reads of
 * current versions (GETs, and the version a SET replaces) served from memory (engine/record-cache.ts),
 * and every phase prints its CPU per operation (bench/thread-cpu.ts): the server's event loop, its
 * other threads, and the load generator, with the rate this machine's cores allow at that cost.
 *
 *   BENCH_KV_CONNECTIONS  connections per worker (default 4)
 *   BENCH_KV_DEPTH        requests in flight per connection (default 64)
 *   BENCH_KV_WORKERS      load-generator threads (default 1)
 *   BENCH_KV_SECONDS      measured seconds per figure (default 5), after BENCH_KV_WARMUP s (default 1)
 *   BENCH_KV_KEYS         key space (default 100,000), all written before the GETs are measured
 *   BENCH_KV_VALUE        value size in bytes (default 100)
 *   BENCH_KV_MEMCACHED    path of memcached (default: from PATH, installed with apt-get if missing)
 *   BENCH_KV_BURST        SETs of the burst phase (default 1,000,000; 0 skips it)
 *
 * The burst phase (Freshet only, after the figures above): BENCH_KV_BURST SETs with no durability,
 * each key once, at the same load, with the TMPFAILs they got and the peak of the dirty backlog
 * against its limit. Issue #16: the default limit is large enough that a burst of 1M 100-byte
 * writes never sees TMPFAIL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurabilityLevel } from '../src/codec/index.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { env, errorNote, load, type LoadJob } from './kv-load.js';
import { fmt, line, rate } from './report.js';
import { processSnapshot, snapshot, split, type CpuSplit, type ThreadCpu } from './thread-cpu.js';

interface Target {
  readonly name: string;
  readonly port: number;
  readonly auth: LoadJob['auth'];
  /** Also measure SETs with durability persistToMajority (Freshet; memcached has no durability). */
  readonly durableSets: boolean;
  /**
   * Freshet: the bucket's reads of current versions so far, from memory (the record cache) and
   * from LMDB, so each phase prints the share it served from memory (a GET, and the read of the
   * version a SET replaces).
   */
  readonly reads?: () => { memory: number; disk: number };
  /** CPU so far of the server's threads (Freshet: this process's; memcached: its process), for the split per operation. */
  readonly cpu: () => ThreadCpu | null;
  /** The thread whose CPU is the server's event loop (Freshet: the main thread; memcached: its pid). */
  readonly mainTid: number;
}

interface Figures {
  sets: number;
  durableSets: number;
  gets: number;
}

/** The load every phase runs (the header's BENCH_KV_* settings), against `port`. */
function loadShape(port: number, auth: LoadJob['auth']): { port: number; auth: LoadJob['auth']; connections: number; depth: number; valueSize: number; numVBuckets: number; durability: null } {
  return { port, auth, connections: env('BENCH_KV_CONNECTIONS', 4), depth: env('BENCH_KV_DEPTH', 64), valueSize: env('BENCH_KV_VALUE', 100), numVBuckets: 1024, durability: null };
}

async function measure(target: Target): Promise<Figures> {
  const workers = env('BENCH_KV_WORKERS', 1);
  const ms = env('BENCH_KV_SECONDS', 5) * 1000;
  const warmupMs = env('BENCH_KV_WARMUP', 1) * 1000;
  const keys = env('BENCH_KV_KEYS', 100_000);
  const base = loadShape(target.port, target.auth);

  const populate = await load({ ...base, op: 'set', ms: 0, once: true }, keys, workers);
  if (populate.errors > 0) throw new Error(`${target.name}: ${populate.errors} errors while writing the key space${errorNote(populate)}`);
  const figures: Figures = { sets: 0, durableSets: 0, gets: 0 };
  const phases: Array<{ label: string; op: 'set' | 'get'; durability: number | null; figure: keyof Figures }> = [
    { label: target.durableSets ? 'sets/s, durability none' : 'sets/s', op: 'set', durability: null, figure: 'sets' },
    ...(target.durableSets ? [{ label: 'sets/s, persistToMajority', op: 'set' as const, durability: DurabilityLevel.PersistToMajority, figure: 'durableSets' as const }] : []),
    { label: 'gets/s', op: 'get', durability: null, figure: 'gets' },
  ];
  for (const p of phases) {
    await load({ ...base, op: p.op, durability: p.durability, ms: warmupMs, once: false }, keys, workers);
    const before = target.reads?.();
    const cpu0 = target.cpu();
    const r = await load({ ...base, op: p.op, durability: p.durability, ms, once: false }, keys, workers);
    const cpu1 = target.cpu();
    figures[p.figure] = rate(r.ops, r.ms);
    line(`${target.name} ${p.label}`, `${fmt(figures[p.figure])}${errorNote(r)}`);
    if (cpu0 && cpu1) printCpu(target, split(cpu0, cpu1, r.ops, r.cpuMs, target.mainTid));
    const after = target.reads?.();
    if (before && after) {
      const memory = after.memory - before.memory;
      const all = memory + after.disk - before.disk;
      line('  reads of current versions from memory', `${all > 0 ? ((memory / all) * 100).toFixed(1) : 'n/a'}% of ${fmt(all)} (the rest from LMDB)`);
    }
  }
  return figures;
}

/** Where an operation's CPU went, and the rate the machine's cores allow at that cost. */
function printCpu(target: Target, c: CpuSplit): void {
  const us = (n: number): string => n.toFixed(2);
  const server = target.name === 'freshet' ? `event loop ${us(c.mainUs)}, other threads ${us(c.otherUs)} (LMDB writer, GC helpers)` : `${target.name} ${us(c.mainUs + c.otherUs)}`;
  line('  CPU per op, microseconds', `${server}, load generator ${us(c.loadUs)}: ${c.cores} cores allow ${fmt(c.ceiling)}/s`);
}

/** The burst phase (see the header): TMPFAILs and the dirty backlog's peak. */
async function burst(server: FreshetServer, auth: LoadJob['auth']): Promise<void> {
  const count = env('BENCH_KV_BURST', 1_000_000);
  if (count === 0) return;
  const bucket = server.engine.requireBucket('default');
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, bucket.dirtyBytes)), 2);
  // Keys 0 to count - 1: the first BENCH_KV_KEYS of them replace the key space's versions.
  const r = await load({ ...loadShape(server.ports.kv, auth), op: 'set', ms: 0, once: true }, count, env('BENCH_KV_WORKERS', 1)).finally(() => clearInterval(sampler));
  const tmpfails = r.statuses['0x86'] ?? 0;
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  line(`freshet burst of ${fmt(count)} sets`, `${fmt(rate(r.ops, r.ms))}/s, ${fmt(tmpfails)} TMPFAIL (target 0)${errorNote(r)}`);
  line('  dirty backlog peak', `${mib(peak)} MiB of the ${mib(bucket.maxDirtyBytes)} MiB limit (sampled every 2 ms)`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function findMemcached(): string | null {
  const configured = process.env.BENCH_KV_MEMCACHED;
  if (configured) return configured;
  const which = (): string | null => {
    const r = spawnSync('sh', ['-c', 'command -v memcached'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
  };
  const found = which();
  if (found) return found;
  process.stdout.write('memcached not found: installing it with apt-get\n');
  const install = (): boolean => spawnSync('apt-get', ['install', '-y', 'memcached'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    if (!install()) return null;
  }
  return which();
}

async function startMemcached(bin: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  // memcached refuses to run as root unless told which user to run as.
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const child = spawn(bin, ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-m', '1024', ...asRoot], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`memcached exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { port, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('memcached did not start listening');
}

/** "0.42x memcached (target >= 0.5x)". */
function ratio(a: number, b: number, target: number): string {
  return `${b > 0 ? (a / b).toFixed(2) : 'n/a'}x memcached (target >= ${target}x)`;
}

export async function run(): Promise<void> {
  const c = env('BENCH_KV_CONNECTIONS', 4);
  const d = env('BENCH_KV_DEPTH', 64);
  line('load', `${c} connections x ${d} in flight x ${env('BENCH_KV_WORKERS', 1)} worker(s), ${env('BENCH_KV_VALUE', 100)}-byte values, ${fmt(env('BENCH_KV_KEYS', 100_000))} keys`);

  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-kv-'));
  let freshet: Figures;
  const server = await FreshetServer.start({ dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, numVBuckets: 1024, username: 'Administrator', password: 'password' });
  try {
    const reads = (): { memory: number; disk: number } => {
      const stats = server.engine.requireBucket('default').stats;
      return { memory: stats.recordCacheHits, disk: stats.bgFetches };
    };
    const auth = { user: 'Administrator', password: 'password', bucket: 'default' };
    freshet = await measure({ name: 'freshet', port: server.ports.kv, auth, durableSets: true, reads, cpu: snapshot, mainTid: process.pid });
    await burst(server, auth);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const bin = findMemcached();
  if (!bin) {
    line('memcached', 'skipped: not installed and apt-get install memcached failed');
    return;
  }
  const mc = await startMemcached(bin);
  let memcached: Figures;
  try {
    const pid = mc.child.pid ?? 0;
    memcached = await measure({ name: 'memcached', port: mc.port, auth: null, durableSets: false, cpu: () => processSnapshot(pid), mainTid: pid });
  } finally {
    mc.child.kill('SIGTERM');
  }
  line('freshet/memcached sets, durability none', ratio(freshet.sets, memcached.sets, 0.5));
  line('freshet/memcached sets, persistToMajority', ratio(freshet.durableSets, memcached.sets, 0.15));
  line('freshet/memcached gets', ratio(freshet.gets, memcached.gets, 0.5));
}
