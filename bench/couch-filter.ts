/**
 * Filtered `_changes` (issue #15, "Benchmarks"): rows/s of a full `GET /{db}/_changes` read with
 * a JavaScript filter (`filter=bench/by_type&type=a`, run in the QuickJS sandbox) against the same
 * filter written as a Mango `_selector` (`{"type":"a"}`, matched natively), over N documents of
 * which a third pass. The figure counts the documents scanned per second (every change is a
 * filter call), and the passing rows are checked to be the same for both.
 *
 * The server is `freshet serve` in its own process (bench/serve.ts), so the client's JSON parsing
 * does not share its event loop.
 *
 *   BENCH_DOCS  documents (default 1,000,000)
 *
 * Run: `node --import tsx bench/couch-filter.ts` (standalone) or through bench/couch.ts, which
 * calls `benchFilters`.
 */
import { pathToFileURL } from 'node:url';
import { Agent } from 'undici';
import { couchText } from './couch-http.js';
import { spawnFreshet } from './serve.js';
import { fmt, line, rate } from './report.js';


export interface FilterBenchOptions {
  /** Base URL of a running server with Administrator/password; default a fresh `freshet serve` child. */
  base?: string;
  docs?: number;
}

export interface FilterBenchResult {
  docs: number;
  passing: number;
  /** Documents scanned per second through each filter. */
  javascriptDocsPerSec: number;
  selectorDocsPerSec: number;
}

const call = couchText;

async function load(agent: Agent, base: string, db: string, docs: number): Promise<void> {
  await call(agent, base, 'PUT', `/${db}?q=64`);
  await call(agent, base, 'PUT', `/${db}/_design/bench`, { filters: { by_type: 'function (doc, req) { return doc.type === req.query.type; }' } });
  const batch = 1000;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < docs; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, docs - i) }, (_, j) => {
      const n = i + j;
      return { _id: `doc-${String(n).padStart(8, '0')}`, n, type: n % 3 === 0 ? 'a' : 'b', name: `name ${n}`, tags: ['x', 'y'] };
    });
    inFlight.push(call(agent, base, 'POST', `/${db}/_bulk_docs`, { docs: chunk }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** Best of two full reads; returns docs scanned per second and the rows that passed. */
async function timed(read: () => Promise<string>, docs: number): Promise<{ perSec: number; rows: number }> {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const text = await read();
    best = Math.min(best, performance.now() - t0);
    rows = (JSON.parse(text) as { results: unknown[] }).results.length;
  }
  return { perSec: rate(docs, best), rows };
}

export async function benchFilters(opts: FilterBenchOptions = {}): Promise<FilterBenchResult> {
  const docs = opts.docs ?? Number(process.env.BENCH_DOCS ?? 1_000_000);
  const child = opts.base === undefined ? await spawnFreshet({ vbuckets: 64 }) : undefined;
  const base = opts.base ?? `http://127.0.0.1:${child!.ports.http}`;
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  const db = `bench-filter-${Date.now()}`;
  try {
    await load(agent, base, db, docs);
    const js = await timed(() => call(agent, base, 'GET', `/${db}/_changes?filter=bench/by_type&type=a`), docs);
    const sel = await timed(() => call(agent, base, 'POST', `/${db}/_changes?filter=_selector`, { selector: { type: 'a' } }), docs);
    if (js.rows !== sel.rows) throw new Error(`the filters disagree: ${js.rows} rows (JavaScript) vs ${sel.rows} (_selector)`);
    return { docs, passing: js.rows, javascriptDocsPerSec: js.perSec, selectorDocsPerSec: sel.perSec };
  } finally {
    await call(agent, base, 'DELETE', `/${db}`).catch(() => undefined);
    await agent.close();
    await child?.stop();
  }
}

/**
 * The `filters` section of `npm run bench -- couch`: the same comparison over the database that
 * bench already loaded (`{type: TYPES[n % 5], ...}`), so the documents are loaded once.
 */
export async function filterSection(ctx: { base: string; agent: Agent; db: string; docs: number; types: readonly string[] }): Promise<void> {
  const { agent, base, db, docs } = ctx;
  const type = ctx.types[0]!;
  await call(agent, base, 'PUT', `/${db}/_design/filters`, { filters: { by_type: 'function (doc, req) { return doc.type === req.query.type; }' } });
  const js = await timed(() => call(agent, base, 'GET', `/${db}/_changes?filter=filters/by_type&type=${type}`), docs);
  const sel = await timed(() => call(agent, base, 'POST', `/${db}/_changes?filter=_selector`, { selector: { type } }), docs);
  if (js.rows !== sel.rows) throw new Error(`the filters disagree: ${js.rows} rows (JavaScript) vs ${sel.rows} (_selector)`);
  printFilters({ docs, passing: js.rows, javascriptDocsPerSec: js.perSec, selectorDocsPerSec: sel.perSec });
}

export function printFilters(r: FilterBenchResult): void {
  line(`filtered _changes, ${fmt(r.docs)} docs (${fmt(r.passing)} pass)`, '');
  line('  JavaScript filter (docs scanned/s)', fmt(r.javascriptDocsPerSec));
  line('  same filter as _selector (docs scanned/s)', fmt(r.selectorDocsPerSec));
  line('  _selector / JavaScript', `${(r.selectorDocsPerSec / r.javascriptDocsPerSec).toFixed(2)}x`);
}

/** `npm run bench -- couch-filter`. */
export async function run(): Promise<void> {
  printFilters(await benchFilters());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
