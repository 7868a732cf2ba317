/**
 * Replication benchmark: N documents of about 1 KB moved by Freshet's replicator from Freshet to
 * Freshet and from Freshet to pouchdb-server, and by PouchDB's own replicator over the same pairs
 * in the same run. Anchor (issue 7): CouchDB's replicator moves about 6.25k docs/s.
 *
 *   BENCH_DOCS        documents (default 100,000)
 *   BENCH_BATCH       Freshet replicator batch size (default 500)
 *   BENCH_WORKERS     Freshet replicator parallel batches (default 4)
 *   BENCH_SKIP_POUCH  set to 1 to leave out PouchDB's replicator (it is much slower)
 *   BENCH_SKIP_LOCAL  set to 1 to leave out the local-endpoint lines
 *   BENCH_CPU_PROF    a directory: the `freshet serve` children run with `--cpu-prof` into it
 *
 * Servers run in their own processes (`freshet serve`, pouchdb-server --in-memory), so the
 * replicator does not share its event loop with them; on a 2-core machine they still share CPUs.
 * The local lines run a Freshet server inside the bench process and replicate from its database
 * as a local endpoint (no HTTP on that side): to another of its databases, and to a `freshet
 * serve` child over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Replication } from '../src/replicator/replicator.js';
import { localDatabase } from '../src/replicator/local-peer.js';
import type { Peer } from '../src/replicator/peer.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { startPouchServer, type PouchServer } from '../test/replicator/helpers/pouchdb-server.js';
import { PouchDB } from '../test/replicator/helpers/pouch-peer.js';
import { spawnFreshet } from './serve.js';
import { fmt, line, rate } from './report.js';

const AUTH = 'Administrator:password';
const require = createRequire(import.meta.url);

interface FreshetProcess {
  base: string;
  stop(): Promise<void>;
}

/** `freshet serve` in a child process on ephemeral ports, 64 vbuckets. */
async function startFreshet(): Promise<FreshetProcess> {
  const child = await spawnFreshet({ vbuckets: 64 });
  return { base: `http://${AUTH}@127.0.0.1:${child.ports.http}`, stop: () => child.stop() };
}

function authHeaders(url: string): Record<string, string> {
  const u = new URL(url);
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (u.username) h.authorization = `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
  return h;
}

function bare(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

async function put(url: string): Promise<void> {
  const res = await fetch(bare(url), { method: 'PUT', headers: authHeaders(url) });
  if (res.status !== 201 && res.status !== 412) throw new Error(`PUT ${bare(url)}: ${res.status}`);
}

/** N documents of about 1 KB each. */
async function seed(url: string, n: number): Promise<void> {
  await put(url);
  const pad = 'p'.repeat(950);
  for (let i = 0; i < n; i += 2000) {
    const docs = [];
    for (let j = i; j < Math.min(n, i + 2000); j++) docs.push({ _id: `doc-${String(j).padStart(7, '0')}`, n: j, pad });
    const res = await fetch(`${bare(url)}/_bulk_docs`, { method: 'POST', headers: authHeaders(url), body: JSON.stringify({ docs }) });
    if (res.status !== 201) throw new Error(`seeding: ${res.status} ${await res.text()}`);
  }
}

/** A Freshet server in this process, for the local-endpoint lines. */
async function startInProcess(): Promise<{ server: FreshetServer; base: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-local-'));
  const server = await FreshetServer.start({ dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, numVBuckets: 64, fastHashing: true });
  return {
    server,
    base: `http://${AUTH}@127.0.0.1:${server.ports.http}`,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ours(source: string | Peer, target: string | Peer, n: number): Promise<number> {
  const t0 = performance.now();
  const rep = new Replication({
    source,
    target,
    createTarget: true,
    batchSize: Number(process.env.BENCH_BATCH ?? 500),
    workers: Number(process.env.BENCH_WORKERS ?? 4),
    nodeUuid: 'bench',
  });
  const res = await rep.start();
  const ms = performance.now() - t0;
  if (res.stats.docs_written !== n) throw new Error(`wrote ${res.stats.docs_written} of ${n}`);
  return ms;
}

/** PouchDB's replicator between two HTTP databases (its defaults: batch_size 100, batches_limit 10). */
async function pouchs(source: string, target: string, n: number): Promise<number> {
  const Http = PouchDB.plugin(require('pouchdb-adapter-http'));
  const opts = (url: string): Record<string, unknown> => {
    const u = new URL(url);
    return u.username ? { auth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } } : {};
  };
  const src = new Http(bare(source), opts(source));
  const tgt = new Http(bare(target), opts(target));
  await put(target);
  const t0 = performance.now();
  const res = await PouchDB.replicate(src, tgt);
  const ms = performance.now() - t0;
  if (res.docs_written !== n) throw new Error(`PouchDB wrote ${res.docs_written} of ${n}`);
  return ms;
}

export async function run(): Promise<void> {
  const n = Number(process.env.BENCH_DOCS ?? 100_000);
  const skipPouch = process.env.BENCH_SKIP_POUCH === '1';
  line('documents', `${fmt(n)} x ~1 KB`);
  const [fa, fb] = await Promise.all([startFreshet(), startFreshet()]);
  let ps: PouchServer | undefined;
  try {
    ps = await startPouchServer();
    const source = `${fa.base}/bench-src`;
    await seed(source, n);

    line('Freshet → Freshet (Freshet replicator)', `${fmt(rate(n, await ours(source, `${fb.base}/copy-ours`, n)))} docs/s`);
    line('Freshet → pouchdb-server (Freshet replicator)', `${fmt(rate(n, await ours(source, `${ps.base}/copy-ours`, n)))} docs/s`);
    if (!skipPouch) {
      line('Freshet → Freshet (PouchDB replicator)', `${fmt(rate(n, await pouchs(source, `${fb.base}/copy-pouch`, n)))} docs/s`);
      line('Freshet → pouchdb-server (PouchDB replicator)', `${fmt(rate(n, await pouchs(source, `${ps.base}/copy-pouch`, n)))} docs/s`);
    }
    if (process.env.BENCH_SKIP_LOCAL !== '1') {
      const local = await startInProcess();
      try {
        await seed(`${local.base}/bench-src`, n);
        const src = (): Peer => localDatabase(local.server, 'bench-src');
        line('Freshet(local) → Freshet(local) (in-process)', `${fmt(rate(n, await ours(src(), localDatabase(local.server, 'copy-local'), n)))} docs/s`);
        line('Freshet(local) → Freshet over HTTP', `${fmt(rate(n, await ours(src(), `${fb.base}/copy-from-local`, n)))} docs/s`);
      } finally {
        await local.stop();
      }
    }
    line('anchor: CouchDB replicator', '~6,250 docs/s (1M docs in 160 s)');
  } finally {
    await Promise.all([fa.stop(), fb.stop(), ps?.stop()]);
  }
}
