/**
 * Mango `_find` benchmark (issue #15): the same query with a json index against without one,
 * over BENCH_DOCS documents in a `freshet serve` child process (own event loop and CPU).
 *
 *   - the query without an index (a full `_all_docs` scan, every document examined);
 *   - the index build: the first `_find` after `POST /db/_index` brings the index up to date
 *     (docs/s of map + index write);
 *   - the query through the index (only matching rows and documents examined);
 *   each query's p50 latency over FIND_RUNS runs, and the docs examined (execution_stats).
 *
 *   BENCH_DOCS  documents (default 100,000)
 *   FIND_RUNS   repetitions of each query (default 10)
 *
 * Run: `npm run bench -- couch-find`, or standalone `node --import tsx bench/couch-find.ts`;
 * `npm run bench -- couch` runs `benchFind` as its `find` section over its own 1M documents.
 */
import { Agent } from 'undici';
import { couchJson } from './couch-http.js';
import { spawnFreshet } from './serve.js';
import { fmt, line, percentile, rate } from './report.js';
import type { CouchBenchContext } from './couch.js';

const TYPES = ['user', 'order', 'item', 'event', 'note'];

export interface FindFigures {
  docs: number;
  unindexedMs: number;
  unindexedDocsExamined: number;
  indexBuildDocsPerSec: number;
  indexedMs: number;
  indexedDocsExamined: number;
  results: number;
}

function call(base: string, agent: Agent, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  return couchJson(agent, base, method, path, body);
}

async function timed(ctx: CouchBenchContext, query: unknown, runs: number): Promise<{ p50: number; examined: number; results: number }> {
  const times: number[] = [];
  let last: Record<string, unknown> = {};
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await call(ctx.base, ctx.agent, 'POST', `/${ctx.db}/_find`, query);
    times.push(performance.now() - t0);
  }
  const stats = last.execution_stats as Record<string, number>;
  return { p50: percentile(times.sort((a, b) => a - b), 50), examined: stats.total_docs_examined!, results: stats.results_returned! };
}

/**
 * The `_find` section over a loaded database (documents `{_id, type, n, name}`, bench/couch.ts):
 * the query without an index, the index build, the query through the index; prints and returns
 * the figures.
 */
export async function benchFind(ctx: CouchBenchContext, runs = Number(process.env.FIND_RUNS ?? 10)): Promise<FindFigures> {
  // 100 matching documents in the middle of the range.
  const lo = Math.floor(ctx.docs / 2);
  const query = { selector: { n: { $gte: lo, $lt: lo + 100 } }, limit: 1000, execution_stats: true };
  const without = await timed(ctx, query, runs);
  await call(ctx.base, ctx.agent, 'POST', `/${ctx.db}/_index`, { index: { fields: ['n'] }, name: 'by-n', ddoc: 'bench-find' });
  const t0 = performance.now();
  await call(ctx.base, ctx.agent, 'POST', `/${ctx.db}/_find`, { ...query, limit: 1 });
  const buildMs = performance.now() - t0;
  const withIndex = await timed(ctx, query, runs);
  const r: FindFigures = {
    docs: ctx.docs,
    unindexedMs: without.p50,
    unindexedDocsExamined: without.examined,
    indexBuildDocsPerSec: rate(ctx.docs, buildMs),
    indexedMs: withIndex.p50,
    indexedDocsExamined: withIndex.examined,
    results: withIndex.results,
  };
  line(`_find over ${fmt(r.docs)} docs, ${r.results} results`, '');
  line('  without index: p50', `${r.unindexedMs.toFixed(1)} ms (${fmt(r.unindexedDocsExamined)} docs examined)`);
  line('  json index build (first query)', `${fmt(r.indexBuildDocsPerSec)} docs/s`);
  line('  with index: p50', `${r.indexedMs.toFixed(1)} ms (${fmt(r.indexedDocsExamined)} docs examined)`);
  line('  speed-up', `${(r.unindexedMs / r.indexedMs).toFixed(0)}x`);
  return r;
}

/** Standalone: a `freshet serve` child loaded with BENCH_DOCS documents, then `benchFind`. */
export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 100_000);
  const child = await spawnFreshet({ vbuckets: 64 });
  const ctx: CouchBenchContext = {
    base: `http://127.0.0.1:${child.ports.http}`,
    agent: new Agent({ connections: 8 }),
    db: 'bench',
    docs,
    types: TYPES,
  };
  try {
    await call(ctx.base, ctx.agent, 'PUT', '/bench?q=64');
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < docs; i += 1000) {
      const chunk = Array.from({ length: Math.min(1000, docs - i) }, (_, j) => ({ _id: `d${i + j}`, type: TYPES[(i + j) % TYPES.length], n: i + j, name: `name ${i + j}` }));
      inFlight.push(call(ctx.base, ctx.agent, 'POST', '/bench/_bulk_docs', { docs: chunk }));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await benchFind(ctx);
  } finally {
    await ctx.agent.close();
    await child.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
