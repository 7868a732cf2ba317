/**
 * One process per data directory (store/dir-lock.ts): a second `freshet serve` on a directory in
 * use exits 1 before touching any state, a lock left by `kill -9` does not block the next start,
 * and a second open inside one process is refused too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTestServer, tempDir, ADMIN } from '../helpers/server.js';
import { Engine } from '../../src/engine/engine.js';
import { DataDirLockedError, LOCK_FILE } from '../../src/store/dir-lock.js';

const CLI = new URL('../../src/cli/entry.ts', import.meta.url).pathname;
const RACER = new URL('../fixtures/lock-racer.ts', import.meta.url).pathname;
const AUTH = { Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` };

interface Serve {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function serve(dir: string): Serve {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data', dir, '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', '8', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, lines, stderr: () => err, exited };
}

async function ready(s: Serve): Promise<{ mgmt: number; http: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = s.lines.find((l) => l.startsWith('freshet ready'));
    if (line) {
      const m = /mgmt=(\d+) http=(\d+)/.exec(line)!;
      return { mgmt: Number(m[1]), http: Number(m[2]) };
    }
    if (s.proc.exitCode !== null) throw new Error(`serve exited with ${s.proc.exitCode}: ${s.stderr()}`);
    if (Date.now() > deadline) throw new Error('serve did not become ready');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function failoverLogs(mgmt: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let vb = 0; vb < 8; vb++) {
    const res = await fetch(`http://127.0.0.1:${mgmt}/freshet/buckets/default/vbuckets/${vb}`, { headers: AUTH });
    assert.equal(res.status, 200);
    out.push(((await res.json()) as { failoverLog: unknown }).failoverLog);
  }
  return out;
}

async function putAndGet(http: number, id: string): Promise<void> {
  const put = await fetch(`http://127.0.0.1:${http}/default/${id}`, { method: 'PUT', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ id }) });
  assert.equal(put.status, 201, await put.clone().text());
  await getDoc(http, id);
}

async function getDoc(http: number, id: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${http}/default/${id}`, { headers: AUTH });
  assert.equal(res.status, 200, `GET ${id}`);
  assert.equal(((await res.json()) as { id: string }).id, id);
}

describe('server > one process per data directory', () => {
  test('a second serve on the same directory exits 1 naming the holder; after kill -9 the next start is ready', async (t) => {
    const dir = tempDir('freshet-lock-');
    const procs: Serve[] = [];
    t.after(async () => {
      for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      rmSync(dir, { recursive: true, force: true });
    });
    const a = serve(dir);
    procs.push(a);
    const aPorts = await ready(a);
    await putAndGet(aPorts.http, 'before');
    const logsBefore = await failoverLogs(aPorts.mgmt);

    const b = serve(dir);
    procs.push(b);
    const timeout = new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000).unref());
    assert.equal(await Promise.race([b.exited, timeout]), 1, b.lines.join('\n'));
    assert.ok(b.stderr().includes(`freshet: data directory ${dir} is in use by process ${a.proc.pid}`), b.stderr());
    assert.deepEqual(b.lines, [], 'no ready line');

    // A is untouched: it still serves, and its failover logs were not rewritten as after a crash.
    await putAndGet(aPorts.http, 'after');
    assert.deepEqual(await failoverLogs(aPorts.mgmt), logsBefore);

    a.proc.kill('SIGKILL');
    await a.exited;
    assert.ok(existsSync(join(dir, LOCK_FILE)), 'kill -9 leaves the lock file behind');
    const c = serve(dir);
    procs.push(c);
    const cPorts = await ready(c);
    for (const id of ['before', 'after']) await getDoc(cPorts.http, id);
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, c.proc.pid);
    c.proc.kill('SIGTERM');
    assert.equal(await c.exited, 0);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'a clean shutdown removes the lock');
    assert.ok(c.stderr().includes(`took over the data directory lock of process ${a.proc.pid}`), c.stderr());
  });

  test('in one process: a second open of the same directory is refused, a different directory is not', async (t) => {
    const first = await startTestServer();
    t.after(() => first.close());
    const err = await secondStartError(first.dataDir);
    assert.ok(err instanceof DataDirLockedError, String(err));
    assert.equal(err.pid, process.pid);
    assert.equal(err.dir, first.dataDir);
    await assert.rejects(Engine.open({ dataDir: `${first.dataDir}/.`, expiryPagerMs: 0 }), DataDirLockedError);
    const other = await startTestServer();
    await other.close();
    // Closing releases it: the same directory opens again in this process.
    await first.server.close();
    const again = await Engine.open({ dataDir: first.dataDir, expiryPagerMs: 0 });
    assert.equal(again.recoveredFromCrash, false);
    await again.close();
  });

  test('a lock naming a live process is honoured; a dead, reused or unreadable one is taken over', async (t) => {
    const dir = tempDir('freshet-lock-');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    t.after(() => {
      sleeper.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const lockPath = join(dir, LOCK_FILE);
    const record = (o: Record<string, unknown>): void => writeFileSync(lockPath, JSON.stringify({ host: hostname(), started: null, nonce: 'x', ...o }));

    record({ pid: sleeper.pid });
    await assert.rejects(Engine.open({ dataDir: dir, expiryPagerMs: 0 }), (e: unknown) => e instanceof DataDirLockedError && e.pid === sleeper.pid);
    assert.equal(existsSync(join(dir, 'freshet.mdb')), false, 'refused before LMDB was opened');
    record({ pid: sleeper.pid, host: 'elsewhere.example' });
    await assert.rejects(Engine.open({ dataDir: dir, expiryPagerMs: 0 }), /on host elsewhere\.example/);

    const stale: Array<[() => void, number | null]> = [
      [() => record({ pid: 2 ** 22 + 12345 }), 2 ** 22 + 12345], // above Linux's pid_max: no such process
      [() => record({ pid: sleeper.pid, started: -1 }), sleeper.pid!], // alive, but started at another time: a reused pid
      [() => writeFileSync(lockPath, ''), null], // torn or foreign content
    ];
    for (const [write, replaced] of stale) {
      write();
      const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
      assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, process.pid);
      assert.equal(engine.store.lock.replacedPid, replaced);
      await engine.close();
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)), [], 'no lock, temporary or set-aside file is left');
  });

  test('racers for a stale lock: exactly one wins, the others name the winner', async (t) => {
    const dir = tempDir('freshet-lock-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: null, nonce: 'x' }));
    const at = Date.now() + 4000;
    const racers = Array.from({ length: 4 }, () => {
      const proc = spawn(process.execPath, ['--import', 'tsx', RACER, dir, String(at)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const line = new Promise<string>((resolve, reject) => {
        createInterface({ input: proc.stdout! }).once('line', resolve);
        proc.once('exit', (code) => reject(new Error(`racer exited with ${code}`)));
      });
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      return { proc, line, exited };
    });
    t.after(async () => {
      for (const r of racers) r.proc.kill('SIGKILL');
      await Promise.all(racers.map((r) => r.exited));
    });
    const lines = await Promise.all(racers.map((r) => r.line));
    const winners = racers.filter((_, i) => lines[i] === 'won');
    assert.equal(winners.length, 1, lines.join(', '));
    const winner = winners[0]!.proc.pid;
    for (const l of lines) if (l !== 'won') assert.equal(l, `refused ${winner}`);
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, winner);
    winners[0]!.proc.stdin!.end();
    assert.equal(await winners[0]!.exited, 0);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });
});

async function secondStartError(dataDir: string): Promise<unknown> {
  try {
    const s = await startTestServer({ dataDir });
    await s.server.close();
    return new Error('the second start succeeded');
  } catch (err) {
    return err;
  }
}
