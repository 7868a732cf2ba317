/**
 * `freshet serve` in a child process for the benchmarks: ephemeral ports, a data directory (a
 * fresh temp one unless given), resolved once the ready line is printed. With BENCH_CPU_PROF set
 * to a directory the child writes a CPU profile there (`--cpu-prof` is not allowed in
 * NODE_OPTIONS, so it is passed here). With `packaged` it runs the built command
 * (`bin/freshet.js`, dist/ built first when sources changed, as bench/startup.ts does) instead of
 * the sources through tsx, so the child's RSS is the server's own, without the TypeScript loader.
 */
import { spawn, spawnSync } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../src/cli/v8-tuning.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface FreshetChild {
  readonly dir: string;
  /** The server's process id (for /proc/PID/status). */
  readonly pid: number;
  readonly ports: { kv: number; mgmt: number; http: number };
  /** SIGTERM (a clean shutdown), then remove the data directory if this helper made it. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Serve this existing directory (kept on stop); default a fresh temp directory. */
  dir?: string;
  /** Vbuckets of the default bucket created on first start. */
  vbuckets?: number;
  /** Run bin/freshet.js (dist/) rather than src/ through tsx. */
  packaged?: boolean;
}

export async function spawnFreshet(opts: SpawnOptions = {}): Promise<FreshetChild> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'freshet-bench-'));
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const args = ['serve', '--data', dir, '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--log-level', 'warn'];
  if (opts.vbuckets !== undefined) args.push('--vbuckets', String(opts.vbuckets));
  let entry = ['--import', 'tsx', 'src/cli/entry.ts'];
  if (opts.packaged) {
    const build = spawnSync(process.execPath, ['scripts/build-if-needed.mjs'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('build failed');
    entry = ['bin/freshet.js'];
  }
  // Node's own flags as `npm start` gives them (cli/v8-tuning.ts SERVER_NODE_FLAGS).
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...prof, ...entry, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('freshet ready') && resolve(l));
    child.once('exit', (code) => reject(new Error(`freshet serve exited with ${code}`)));
  });
  const port = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(ready)?.[1] ?? NaN);
  return {
    dir,
    pid: child.pid!,
    ports: { kv: port('kv'), mgmt: port('mgmt'), http: port('http') },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
