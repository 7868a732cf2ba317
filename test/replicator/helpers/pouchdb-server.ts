/**
 * A real pouchdb-server (in-memory) as a replication peer: each test starts its own on a free
 * port, in a temporary working directory (pouchdb-server writes config.json and log.txt into its
 * cwd), and stops it afterwards. NODE_OPTIONS keeps it alive on the unhandled rejections it
 * produces on Node 20 (couch-replication.md §2.10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve('node_modules/pouchdb-server/bin/pouchdb-server');

export interface PouchServer {
  port: number;
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** Creates a database and returns its URL. */
  createDb(name: string): Promise<string>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitUp(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pouchdb-server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('pouchdb-server did not start in 20 s');
}

export async function startPouchServer(): Promise<PouchServer> {
  const cwd = mkdtempSync(join(tmpdir(), 'freshet-pouchdb-server-'));
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, '--in-memory', '-p', String(port), '-n'], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '--unhandled-rejections=warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUp(base, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    port,
    base,
    async createDb(name: string): Promise<string> {
      const res = await fetch(`${base}/${name}`, { method: 'PUT' });
      if (res.status !== 201 && res.status !== 412) throw new Error(`PUT /${name}: ${res.status}`);
      return `${base}/${name}`;
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
