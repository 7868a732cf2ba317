/**
 * CouchDB-fidelity benchmark (issue #15), `npm run bench -- couch`, over BENCH_DOCS documents
 * (default 1,000,000) written through `_bulk_docs` to an in-process Freshet:
 *
 *   - view build rate: docs/s of the first query of `function (doc) { emit(doc.type, 1) }`
 *     (map through the QuickJS sandbox in batches, plus the LMDB index writes);
 *     anchor: CouchDB's indexer, 5–10k docs/s per shard; target 50k docs/s;
 *   - incremental update cost per written document: BENCH_UPDATES updates (default 10,000)
 *     then the query that catches the index up, ms per document;
 *   - `_find` with and without an index (bench/couch-find.ts) and filtered `_changes`, JavaScript
 *     against `_selector` (bench/couch-filter.ts), over the same documents (`sections` below).
 *
 *   BENCH_DOCS     documents (default 1,000,000)
 *   BENCH_UPDATES  documents updated for the incremental figure (default 10,000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from 'undici';
import { couchJson } from './couch-http.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { fmt, line, rate } from './report.js';
import { benchFind } from './couch-find.js';
import { filterSection } from './couch-filter.js';

const TYPES = ['user', 'order', 'item', 'event', 'note'];

/** What every section gets: a loaded database on a running server. */
export interface CouchBenchContext {
  base: string;
  agent: Agent;
  db: string;
  docs: number;
  /** Documents are `{_id: "d<n>", type: TYPES[n % 5], n, name: "name <n>"}`. */
  types: readonly string[];
}

export interface CouchBenchSection {
  name: string;
  run(ctx: CouchBenchContext): Promise<void>;
}

function call(ctx: Pick<CouchBenchContext, 'base' | 'agent'>, method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<unknown> {
  return couchJson(ctx.agent, ctx.base, method, path, body);
}

async function load(ctx: CouchBenchContext): Promise<void> {
  const batch = 5000;
  const t0 = performance.now();
  for (let i = 0; i < ctx.docs; i += batch) {
    const docs = [];
    for (let n = i; n < Math.min(ctx.docs, i + batch); n++) docs.push({ _id: `d${n}`, type: TYPES[n % TYPES.length], n, name: `name ${n}` });
    await call(ctx, 'POST', `/${ctx.db}/_bulk_docs`, { docs });
  }
  line('load (_bulk_docs)', `${fmt(rate(ctx.docs, performance.now() - t0))} docs/s`);
}

/** View build and incremental update (this file's own section). */
const views: CouchBenchSection = {
  name: 'views',
  async run(ctx) {
    await call(ctx, 'PUT', `/${ctx.db}/_design/bench`, { views: { by_type: { map: 'function (doc) { emit(doc.type, 1) }', reduce: '_count' } } });
    const t0 = performance.now();
    const r = (await call(ctx, 'GET', `/${ctx.db}/_design/bench/_view/by_type?reduce=false&limit=0`)) as { total_rows: number };
    const ms = performance.now() - t0;
    line('view build (map + index write)', `${fmt(rate(ctx.docs, ms))} docs/s (${fmt(r.total_rows)} rows, ${(ms / 1000).toFixed(1)} s)`);
    const updates = Math.min(ctx.docs, Number(process.env.BENCH_UPDATES ?? 10_000));
    const all = (await call(ctx, 'POST', `/${ctx.db}/_all_docs`, { keys: Array.from({ length: updates }, (_, n) => `d${n}`) })) as { rows: Array<{ id: string; value: { rev: string } }> };
    const docs = all.rows.map((row, n) => ({ _id: row.id, _rev: row.value.rev, type: TYPES[(n + 1) % TYPES.length], n, name: `renamed ${n}` }));
    for (let i = 0; i < docs.length; i += 5000) await call(ctx, 'POST', `/${ctx.db}/_bulk_docs`, { docs: docs.slice(i, i + 5000) });
    const t1 = performance.now();
    await call(ctx, 'GET', `/${ctx.db}/_design/bench/_view/by_type?reduce=false&limit=0`);
    const upd = performance.now() - t1;
    line('incremental update', `${((upd / updates) * 1000).toFixed(1)} µs per written document (${fmt(updates)} updates, ${fmt(rate(updates, upd))} docs/s)`);
    const t2 = performance.now();
    const red = (await call(ctx, 'GET', `/${ctx.db}/_design/bench/_view/by_type?group=true`)) as { rows: unknown[] };
    line('_count reduce, group=true (query time)', `${(performance.now() - t2).toFixed(0)} ms (${red.rows.length} groups)`);
  },
};

/**
 * The sections run in order over one loaded database: views (here), `_find` with and without an
 * index (couch-find.ts), JavaScript filter vs `_selector` (couch-filter.ts).
 */
export const sections: CouchBenchSection[] = [
  views,
  { name: 'find', run: async (ctx) => void (await benchFind(ctx)) },
  { name: 'filters', run: filterSection },
];

export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-couch-'));
  const server = await FreshetServer.start({
    dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, createDefaultBucket: false, logger: pino({ level: 'silent' }),
  });
  const ctx: CouchBenchContext = { base: `http://127.0.0.1:${server.ports.http}`, agent: new Agent(), db: 'bench', docs, types: TYPES };
  try {
    await call(ctx, 'PUT', `/${ctx.db}?q=64`);
    line('documents', fmt(docs));
    await load(ctx);
    for (const s of sections) {
      line(`-- ${s.name}`, '');
      await s.run(ctx);
    }
  } finally {
    await ctx.agent.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
