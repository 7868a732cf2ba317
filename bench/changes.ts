/**
 * `_changes` benchmark (issue 6): rows/s of `GET /{db}/_changes?since=0`, a continuous feed under
 * write load, and write-to-continuous-feed latency (p50/p99), against an in-process Freshet.
 *
 *   CHANGES_DOCS     documents loaded (default 100,000) through `_bulk_docs`
 *   CHANGES_WRITES   writes for the latency and load figures (default 2,000)
 *   CHANGES_POUCH    set to 1 to run the same `_changes?since=0` against an in-memory
 *                    pouchdb-server (express-pouchdb) started here, and print the ratio
 *
 * Run: `npm run bench -- changes` (once 'changes' is in bench/run.ts's list), or
 *      node --import tsx -e "import('./bench/changes.ts').then((m) => m.run())"
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { FreshetServer } from '../src/server/freshet-server.js';
import { fmt, line, percentile, rate } from './report.js';

const AUTH = 'Basic ' + Buffer.from('Administrator:password').toString('base64');

interface Target {
  base: string;
  headers: Record<string, string>;
}

async function call(t: Target, agent: Agent, method: string, path: string, body?: unknown): Promise<string> {
  const res = await request(t.base + path, {
    method: method as 'GET',
    headers: { ...t.headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

async function load(t: Target, agent: Agent, db: string, docs: number): Promise<void> {
  const batch = 1000;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < docs; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, docs - i) }, (_, j) => ({ _id: `doc-${String(i + j).padStart(8, '0')}`, n: i + j, name: `name ${i + j}`, tags: ['a', 'b'] }));
    inFlight.push(call(t, agent, 'POST', `/${db}/_bulk_docs`, { docs: chunk }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** Best of three full reads of `_changes?since=0`: rows/s and the row count. */
async function fullScan(t: Target, agent: Agent, path: string): Promise<{ rowsPerSec: number; rows: number }> {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const text = await call(t, agent, 'GET', path);
    const ms = performance.now() - t0;
    rows = (JSON.parse(text) as { results: unknown[] }).results.length;
    best = Math.min(best, ms);
  }
  return { rowsPerSec: rate(rows, best), rows };
}

/**
 * Write-to-feed latency: one continuous feed, `writes` sequential engine writes; per write the
 * time from issuing it (and from its durable acknowledgement) to its row arriving on the feed.
 */
async function latency(server: FreshetServer, base: string, db: string, writes: number): Promise<{ fromIssue: number[]; fromAck: number[] }> {
  const bucket = server.engine.requireBucket(db);
  const res = await request(`${base}/${db}/_changes?feed=continuous&since=now&heartbeat=60000`, { headers: { authorization: AUTH } });
  const issued = new Map<string, { issue: number; ack: number }>();
  const fromIssue: number[] = [];
  const fromAck: number[] = [];
  const wake: { fn: () => void } = { fn: () => undefined };
  let buf = '';
  const reader = (async () => {
    for await (const chunk of res.body) {
      buf += Buffer.from(chunk as Uint8Array).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const lineText = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (lineText.length === 0) continue;
        const now = performance.now();
        const id = (JSON.parse(lineText) as { id?: string }).id;
        const w = id === undefined ? undefined : issued.get(id);
        if (!w) continue;
        fromIssue.push(now - w.issue);
        // The row can beat the write's promise callback by a tick; count that as 0.
        fromAck.push(Math.max(0, now - (w.ack || now)));
        wake.fn();
      }
    }
  })();
  for (let i = 0; i < writes; i++) {
    const id = `lat-${i}`;
    const w = { issue: performance.now(), ack: 0 };
    issued.set(id, w);
    const seen = new Promise<void>((resolve) => (wake.fn = resolve));
    await bucket.set(id, JSON.stringify({ i }));
    w.ack = performance.now();
    await seen;
  }
  res.body.destroy();
  await reader.catch(() => undefined);
  return { fromIssue: fromIssue.sort((a, b) => a - b), fromAck: fromAck.sort((a, b) => a - b) };
}

/** Rows/s a continuous feed delivers while `writes` HTTP writes (100 in flight) go on. */
async function underLoad(t: Target, agent: Agent, db: string, writes: number): Promise<number> {
  const res = await request(`${t.base}/${db}/_changes?feed=continuous&since=now&heartbeat=60000`, { headers: t.headers });
  let rows = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const t0 = performance.now();
  const reader = (async () => {
    for await (const chunk of res.body) {
      for (const b of chunk as Uint8Array) if (b === 0x0a) rows++;
      if (rows >= writes) resolveDone();
    }
  })();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < writes; i++) {
    window.push(call(t, agent, 'PUT', `/${db}/load-${i}`, { i }));
    if (window.length >= 100) await window.shift();
  }
  await Promise.all(window);
  await done;
  const ms = performance.now() - t0;
  res.body.destroy();
  await reader.catch(() => undefined);
  return rate(writes, ms);
}

async function startPouchServer(): Promise<{ server: Server; base: string }> {
  const require = createRequire(import.meta.url);
  interface PouchCtor {
    plugin(p: unknown): PouchCtor;
    defaults(o: unknown): unknown;
  }
  const PouchDB = (require('pouchdb') as PouchCtor).plugin(require('pouchdb-adapter-memory'));
  const expressPouch = require('express-pouchdb') as (db: unknown, opts: unknown) => (req: unknown, res: unknown) => void;
  const app = expressPouch(PouchDB.defaults({ adapter: 'memory' }), { mode: 'minimumForPouchDB', logPath: join(tmpdir(), 'pouch-bench.log') });
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

export async function run(): Promise<void> {
  const docs = Number(process.env.CHANGES_DOCS ?? 100_000);
  const writes = Number(process.env.CHANGES_WRITES ?? 2_000);
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-changes-'));
  const server = await FreshetServer.start({
    dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, createDefaultBucket: false, logger: pino({ level: 'silent' }),
  });
  const agent = new Agent({ connections: 128 });
  const freshet: Target = { base: `http://127.0.0.1:${server.ports.http}`, headers: { authorization: AUTH } };
  try {
    await call(freshet, agent, 'PUT', '/bench?q=64');
    let t0 = performance.now();
    await load(freshet, agent, 'bench', docs);
    line('documents loaded via _bulk_docs', `${fmt(docs)} (${fmt(rate(docs, performance.now() - t0))}/s)`);
    const scan = await fullScan(freshet, agent, '/bench/_changes?since=0');
    line('_changes?since=0 rows/s (Freshet)', `${fmt(scan.rowsPerSec)} (${fmt(scan.rows)} rows)`);
    const docsScan = await fullScan(freshet, agent, '/bench/_changes?since=0&include_docs=true&style=all_docs');
    line('_changes?include_docs&style=all_docs rows/s', fmt(docsScan.rowsPerSec));
    t0 = performance.now();
    const load2 = await underLoad(freshet, agent, 'bench', writes);
    line('continuous feed under write load, rows/s', `${fmt(load2)} (${fmt(writes)} PUTs, 100 in flight)`);
    const lat = await latency(server, freshet.base, 'bench', Math.min(writes, 2000));
    line('write -> continuous row, from issue p50/p99', `${percentile(lat.fromIssue, 50).toFixed(2)} / ${percentile(lat.fromIssue, 99).toFixed(2)} ms`);
    line('write -> continuous row, from ack p50/p99', `${percentile(lat.fromAck, 50).toFixed(2)} / ${percentile(lat.fromAck, 99).toFixed(2)} ms`);
    if (process.env.CHANGES_POUCH === '1') {
      const pouch = await startPouchServer();
      try {
        const target: Target = { base: pouch.base, headers: {} };
        await call(target, agent, 'PUT', '/bench');
        await load(target, agent, 'bench', docs);
        const p = await fullScan(target, agent, '/bench/_changes?since=0');
        line('_changes?since=0 rows/s (pouchdb-server)', fmt(p.rowsPerSec));
        line('ratio Freshet / pouchdb-server', `${(scan.rowsPerSec / p.rowsPerSec).toFixed(1)}x`);
      } finally {
        pouch.server.closeAllConnections();
        await new Promise((r) => pouch.server.close(r));
      }
    }
  } finally {
    await agent.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
