/**
 * `npm run bench -- startup`: cold start of the packaged command (`node bin/freshet.js serve`,
 * from dist/, built first when sources changed) to its ready line, on an empty data directory
 * and on one holding BENCH_DOCS documents (default 1,000,000, written in-process through the
 * engine in windows of pipelined writes, then closed), plus the idle RSS (VmRSS from
 * /proc/PID/status after ~1 s idle). Targets: < 300 ms to ready on empty data, idle RSS < 60 MB.
 * BENCH_RUNS (default 3) starts per data directory; the best and the median are shown. The last
 * start of each stays up BENCH_SETTLE seconds (default 15) and prints its RSS then too: V8's
 * memory reducer shrinks the young generation that start-up grew (to --max-semi-space-size)
 * about ten seconds into an idle process, and that is the footprint an idle server keeps.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Engine } from '../src/engine/engine.js';
import { windowedWrites } from './engine-load.js';
import { SERVER_NODE_FLAGS } from '../src/cli/v8-tuning.js';

const root = new URL('..', import.meta.url).pathname;
const SETTLE_S = Number(process.env.BENCH_SETTLE ?? 15);

interface Start {
  readyMs: number;
  rssMb: number;
  /** RSS after `settleS` seconds idle, when asked for. */
  settledMb?: number;
}

const rssOf = (pid: number | undefined): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function startOnce(dir: string, settleS = 0): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, join(root, 'bin/freshet.js'), 'serve', '--data', dir, '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--log-level', 'error', '-p', 'bench-password'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('freshet ready') && resolve());
    child.once('exit', (code) => reject(new Error(`freshet serve exited with ${code}`)));
  });
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  const rssMb = rssOf(child.pid);
  if (settleS > 1) await new Promise((r) => setTimeout(r, (settleS - 1) * 1000));
  const settledMb = settleS > 1 ? rssOf(child.pid) : undefined;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, rssMb, ...(settledMb === undefined ? {} : { settledMb }) };
}

async function load(dir: string, docs: number): Promise<void> {
  const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
  const bucket = engine.bucket('default') ?? (await engine.createBucket('default', { numVBuckets: 1024 }));
  const value = Buffer.from(JSON.stringify({ n: 0, text: 'x'.repeat(60) }));
  // Through the shared load helper: a load this fast outruns the flusher, and the engine answers
  // TMPFAIL past its dirty limit (issue #16), which the helper waits out and retries.
  await windowedWrites(bucket, docs, 20_000, (i) => bucket.set(`doc-${i}`, value));
  await engine.close();
}

function report(label: string, runs: Start[]): void {
  const ms = runs.map((r) => r.readyMs).sort((a, b) => a - b);
  const rss = runs.map((r) => r.rssMb).sort((a, b) => a - b);
  const med = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
  process.stdout.write(
    `${label.padEnd(28)} ready best ${ms[0]!.toFixed(0)} ms, median ${med(ms).toFixed(0)} ms | idle RSS median ${med(rss).toFixed(1)} MB\n`,
  );
  const settled = runs.find((r) => r.settledMb !== undefined);
  if (settled) process.stdout.write(`${''.padEnd(28)} idle RSS after ${SETTLE_S} s (the memory reducer has run): ${settled.settledMb!.toFixed(1)} MB\n`);
}

export async function run(): Promise<void> {
  const build = spawnSync(process.execPath, [join(root, 'scripts/build-if-needed.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  process.stdout.write(`startup: node bin/freshet.js serve to its ready line; targets: < 300 ms on empty data, idle RSS < 60 MB\n`);
  const empty = mkdtempSync(join(tmpdir(), 'freshet-startup-'));
  const full = mkdtempSync(join(tmpdir(), 'freshet-startup-'));
  try {
    // The first start creates the data directory and bucket default: measured apart.
    const first = await startOnce(empty);
    process.stdout.write(`${'first start (creates data)'.padEnd(28)} ready ${first.readyMs.toFixed(0)} ms | idle RSS ${first.rssMb.toFixed(1)} MB\n`);
    const e: Start[] = [];
    for (let i = 0; i < runs; i++) e.push(await startOnce(empty, i === runs - 1 ? SETTLE_S : 0));
    report('empty data', e);
    const t0 = performance.now();
    await startOnce(full); // creates bucket default with the server's own settings
    await load(full, docs);
    process.stdout.write(`loaded ${docs.toLocaleString('en')} documents in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const f: Start[] = [];
    for (let i = 0; i < runs; i++) f.push(await startOnce(full, i === runs - 1 ? SETTLE_S : 0));
    report(`${docs.toLocaleString('en')} documents`, f);
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(full, { recursive: true, force: true });
  }
}
