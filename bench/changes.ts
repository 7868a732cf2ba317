/**
 * `_changes` benchmark (issue 6): Freshet against pouchdb-server in the same run.
 *
 *   - rows/s of `GET /{db}/_changes?since=0` over CHANGES_DOCS documents, on both servers, and
 *     the ratio (anchor: CouchDB streams 16–29k rows/s on one node; target ≥ 500k and ≥ 20×);
 *   - `include_docs=true&style=all_docs` rows/s (Freshet);
 *   - a continuous feed under write load (rows/s delivered while PUTs go on), on both servers;
 *   - write-to-continuous-row latency p50/p99: HTTP PUT → row on both servers, and an engine
 *     write → row on an in-process Freshet (target p99 < 2 ms);
 *   - a PouchDB pull replication (npm `pouchdb` + `pouchdb-adapter-memory` as the client, its
 *     default batch_size 100 / batches_limit 10) of CHANGES_PULL_DOCS documents from Freshet and
 *     from pouchdb-server: docs/s of each and the ratio (target ≥ 3×).
 *
 * Both servers run in their own processes (`freshet serve`; pouchdb-server --in-memory, via
 * test/replicator/helpers/pouchdb-server.ts), so neither shares the client's event loop; on a
 * 2-CPU machine they still share CPUs with it.
 *
 *   CHANGES_DOCS       documents for the `_changes` scans (default 1,000,000)
 *   CHANGES_PULL_DOCS  documents for the PouchDB pulls (default 100,000)
 *   CHANGES_WRITES     writes for the load and latency figures (default 2,000)
 *   CHANGES_POUCH=0    leave pouchdb-server out (it is started whenever it is installed)
 *
 * Run: `npm run bench -- changes`; a quick run:
 *      CHANGES_DOCS=50000 CHANGES_PULL_DOCS=5000 npm run bench -- changes
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { FreshetServer } from '../src/server/freshet-server.js';
import { startPouchServer } from '../test/replicator/helpers/pouchdb-server.js';
import { spawnFreshet } from './serve.js';
import { fmt, line, percentile, rate } from './report.js';

const AUTH = { username: 'Administrator', password: 'password' };
const AUTH_HEADER = 'Basic ' + Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64');

interface Target {
  name: string;
  base: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** `freshet serve` in a child process on ephemeral ports, 64 vbuckets. */
async function startFreshet(): Promise<Target> {
  const child = await spawnFreshet({ vbuckets: 64 });
  return { name: 'Freshet', base: `http://127.0.0.1:${child.ports.http}`, headers: { authorization: AUTH_HEADER }, stop: () => child.stop() };
}

async function startPouch(): Promise<Target> {
  const ps = await startPouchServer();
  return { name: 'pouchdb-server', base: ps.base, headers: {}, stop: () => ps.stop() };
}

async function call(t: Target, agent: Agent, method: string, path: string, body?: unknown): Promise<string> {
  const res = await request(t.base + path, {
    method: method as 'GET',
    headers: { ...t.headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${t.name}: ${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

async function load(t: Target, agent: Agent, db: string, docs: number): Promise<number> {
  const t0 = performance.now();
  const batch = 1000;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < docs; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, docs - i) }, (_, j) => ({ _id: `doc-${String(i + j).padStart(8, '0')}`, n: i + j, name: `name ${i + j}`, tags: ['a', 'b'] }));
    inFlight.push(call(t, agent, 'POST', `/${db}/_bulk_docs`, { docs: chunk }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return rate(docs, performance.now() - t0);
}

/** Best of up to three full reads of a `_changes` URL (fewer when one read takes over 20 s). */
async function fullScan(t: Target, agent: Agent, path: string): Promise<{ rowsPerSec: number; rows: number }> {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i < 3 && !(i > 0 && best > 20_000); i++) {
    const t0 = performance.now();
    const text = await call(t, agent, 'GET', path);
    const ms = performance.now() - t0;
    rows = (JSON.parse(text) as { results: unknown[] }).results.length;
    best = Math.min(best, ms);
  }
  return { rowsPerSec: rate(rows, best), rows };
}

/** Newline-delimited rows of a continuous feed, each handed to `onRow` with its arrival time. */
async function follow(t: Target, db: string, onRow: (id: string, at: number) => void): Promise<{ stop(): Promise<void> }> {
  const res = await request(`${t.base}/${db}/_changes?feed=continuous&since=now&heartbeat=60000`, { headers: t.headers });
  let buf = '';
  const reader = (async () => {
    for await (const chunk of res.body) {
      const at = performance.now();
      buf += Buffer.from(chunk as Uint8Array).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (text.length === 0) continue;
        const id = (JSON.parse(text) as { id?: unknown }).id;
        if (typeof id === 'string') onRow(id, at);
      }
    }
  })();
  return {
    stop: async () => {
      res.body.destroy();
      await reader.catch(() => undefined);
    },
  };
}

/** Rows/s a continuous feed delivers while `writes` HTTP PUTs (100 in flight) go on. */
async function underLoad(t: Target, agent: Agent, db: string, writes: number): Promise<number> {
  let rows = 0;
  let allSeen: () => void = () => undefined;
  const done = new Promise<void>((r) => (allSeen = r));
  const feed = await follow(t, db, (id) => {
    if (id.startsWith('load-') && ++rows >= writes) allSeen();
  });
  const t0 = performance.now();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < writes; i++) {
    window.push(call(t, agent, 'PUT', `/${db}/load-${i}`, { i }));
    if (window.length >= 100) await window.shift();
  }
  await Promise.all(window);
  await done;
  const ms = performance.now() - t0;
  await feed.stop();
  return rate(writes, ms);
}

/** Sequential writes (`write` resolves when acknowledged), each timed from issue to its row. */
async function latency(t: Target, db: string, writes: number, write: (id: string) => Promise<unknown>): Promise<number[]> {
  const issued = new Map<string, number>();
  const samples: number[] = [];
  let seen: () => void = () => undefined;
  const feed = await follow(t, db, (id, at) => {
    const t0 = issued.get(id);
    if (t0 === undefined) return;
    samples.push(at - t0);
    seen();
  });
  for (let i = 0; i < writes; i++) {
    const id = `lat-${i}`;
    const arrived = new Promise<void>((r) => (seen = r));
    issued.set(id, performance.now());
    await write(id);
    await arrived;
  }
  await feed.stop();
  return samples.sort((a, b) => a - b);
}

function p50p99(samples: number[]): string {
  return `${percentile(samples, 50).toFixed(2)} / ${percentile(samples, 99).toFixed(2)} ms`;
}

/** Engine write → continuous row on an in-process Freshet (no HTTP on the write side). */
async function engineLatency(writes: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-latency-'));
  const server = await FreshetServer.start({
    dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, createDefaultBucket: false, logger: pino({ level: 'silent' }),
  });
  const agent = new Agent();
  const t: Target = { name: 'Freshet (in-process)', base: `http://127.0.0.1:${server.ports.http}`, headers: { authorization: AUTH_HEADER }, stop: async () => undefined };
  try {
    await call(t, agent, 'PUT', '/lat?q=16');
    const bucket = server.engine.requireBucket('lat');
    return await latency(t, 'lat', writes, (id) => bucket.set(id, JSON.stringify({ id })));
  } finally {
    await agent.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PouchDb {
  replicate: { from(source: unknown): Promise<{ ok: boolean; docs_written: number }> };
  destroy(): Promise<unknown>;
}
type PouchCtor = (new (name: string, opts?: Record<string, unknown>) => PouchDb) & { plugin(p: unknown): PouchCtor };

/** PouchDB (memory adapter) pulling `db` from the target over HTTP: docs/s. */
async function pouchPull(t: Target, db: string, docs: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const PouchDB = (require('pouchdb') as PouchCtor).plugin(require('pouchdb-adapter-memory'));
  const remote = new PouchDB(`${t.base}/${db}`, { skip_setup: true, ...(t.headers.authorization ? { auth: AUTH } : {}) });
  const local = new PouchDB(`bench-pull-${t.name}-${process.pid}`, { adapter: 'memory' });
  try {
    const t0 = performance.now();
    const res = await local.replicate.from(remote);
    const ms = performance.now() - t0;
    if (!res.ok || res.docs_written !== docs) throw new Error(`${t.name}: PouchDB pulled ${res.docs_written} of ${docs}`);
    return rate(docs, ms);
  } finally {
    await local.destroy();
  }
}

function ratio(a: number, b: number | undefined): string {
  return b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(1)}x`;
}

export async function run(): Promise<void> {
  const docs = Number(process.env.CHANGES_DOCS ?? 1_000_000);
  const pullDocs = Number(process.env.CHANGES_PULL_DOCS ?? 100_000);
  const writes = Number(process.env.CHANGES_WRITES ?? 2_000);
  const withPouch = process.env.CHANGES_POUCH !== '0' && existsSync(resolve('node_modules/.bin/pouchdb-server'));
  line('documents', `${fmt(docs)} for _changes, ${fmt(pullDocs)} for the PouchDB pulls`);
  const targets = await Promise.all([startFreshet(), ...(withPouch ? [startPouch()] : [])]);
  const [freshet, pouch] = targets as [Target, Target | undefined];
  if (!pouch) line('pouchdb-server', process.env.CHANGES_POUCH === '0' ? 'left out (CHANGES_POUCH=0)' : 'not installed: left out');
  const agent = new Agent({ connections: 128 });
  try {
    const scans = new Map<Target, number>();
    const loads = new Map<Target, number>();
    for (const t of targets) {
      await call(t, agent, 'PUT', t === freshet ? '/bench?q=64' : '/bench');
      line(`documents loaded via _bulk_docs (${t.name})`, `${fmt(await load(t, agent, 'bench', docs))}/s`);
      const scan = await fullScan(t, agent, '/bench/_changes?since=0');
      if (scan.rows !== docs) throw new Error(`${t.name}: _changes gave ${scan.rows} rows of ${docs}`);
      scans.set(t, scan.rowsPerSec);
      line(`_changes?since=0 rows/s (${t.name})`, fmt(scan.rowsPerSec));
    }
    line('ratio Freshet / pouchdb-server, since=0', ratio(scans.get(freshet)!, pouch && scans.get(pouch)));
    line('_changes?include_docs&style=all_docs rows/s', fmt((await fullScan(freshet, agent, '/bench/_changes?since=0&include_docs=true&style=all_docs')).rowsPerSec));
    for (const t of targets) {
      loads.set(t, await underLoad(t, agent, 'bench', writes));
      line(`continuous feed under write load (${t.name})`, `${fmt(loads.get(t)!)} rows/s (${fmt(writes)} PUTs, 100 in flight)`);
    }
    const latWrites = Math.min(writes, 2000);
    for (const t of targets) {
      const samples = await latency(t, 'bench', latWrites, (id) => call(t, agent, 'PUT', `/bench/${id}`, { id }));
      line(`HTTP PUT -> continuous row p50/p99 (${t.name})`, p50p99(samples));
    }
    line('engine write -> continuous row p50/p99', p50p99(await engineLatency(latWrites)));
    const pulls = new Map<Target, number>();
    for (const t of targets) {
      await call(t, agent, 'PUT', t === freshet ? '/pull?q=64' : '/pull');
      await load(t, agent, 'pull', pullDocs);
      pulls.set(t, await pouchPull(t, 'pull', pullDocs));
      line(`PouchDB pull docs/s (from ${t.name})`, fmt(pulls.get(t)!));
    }
    line('ratio PouchDB pull Freshet / pouchdb-server', ratio(pulls.get(freshet)!, pouch && pulls.get(pouch)));
    line('anchor: CouchDB _changes', '16-29k rows/s on one node');
  } finally {
    await agent.close();
    await Promise.all(targets.map((t) => t.stop()));
  }
}
