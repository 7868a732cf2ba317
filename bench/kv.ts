/**
 * KV benchmark: GETs/s and SETs/s of 100-byte values, pipelined over several connections, against
 * Freshet (in-process, over a temp dir) and against memcached, with the same load generator in the
 * same run. memcached speaks the same memcached binary protocol (without auth or vbuckets), so
 * the figures compare the two servers' request paths; Freshet's SETs are durable (group-committed
 * to LMDB before the reply), memcached's live in RAM.
 *
 * The load generator runs in worker threads (this same file), so it does not share the event loop
 * of the in-process Freshet server. Each connection keeps DEPTH requests in flight: every reply
 * read is answered with a new request, written in one batch per socket read.
 *
 *   BENCH_KV_CONNECTIONS  connections per worker (default 4)
 *   BENCH_KV_DEPTH        requests in flight per connection (default 64)
 *   BENCH_KV_WORKERS      load-generator threads (default 1)
 *   BENCH_KV_SECONDS      measured seconds per figure (default 5), after BENCH_KV_WARMUP s (default 1)
 *   BENCH_KV_KEYS         key space (default 100,000), all written before the GETs are measured
 *   BENCH_KV_VALUE        value size in bytes (default 100)
 *   BENCH_KV_MEMCACHED    path of memcached (default: from PATH, installed with apt-get if missing)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { encodePacket, encodeGetRequest, encodeHelloRequest, encodeSaslRequest, encodeSelectBucketRequest, encodeStoreRequest, plainPayload } from '../src/codec/index.js';
import { vbucketOf } from '../src/engine/vbucket-hash.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { fmt, line, rate } from './report.js';

type Op = 'set' | 'get';

interface LoadJob {
  readonly port: number;
  readonly auth: { user: string; password: string; bucket: string } | null;
  readonly op: Op;
  readonly connections: number;
  readonly depth: number;
  /** Run for this long; or, with `once`, until every key in [keyFrom, keyTo) was sent once. */
  readonly ms: number;
  readonly once: boolean;
  readonly keyFrom: number;
  readonly keyTo: number;
  readonly valueSize: number;
  readonly numVBuckets: number;
}

interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly ms: number;
}

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

// ---- the load generator (worker side) -------------------------------------------------------

/** A socket and a byte stream of replies, counted by header (24 bytes + body length). */
class LoadConnection {
  #buf: Buffer = Buffer.alloc(0);
  constructor(readonly socket: Socket) {}

  /** Count the whole replies in `chunk`; `onReply(status)` for each. */
  feed(chunk: Buffer, onReply: (status: number) => void): void {
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 24) {
      const total = 24 + buf.readUInt32BE(pos + 8);
      if (buf.length - pos < total) break;
      onReply(buf.readUInt16BE(pos + 6));
      pos += total;
    }
    buf = buf.subarray(pos);
    this.#buf = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }
}

async function dialAndAuth(job: LoadJob): Promise<LoadConnection> {
  const socket = connect({ port: job.port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.setNoDelay(true);
  const conn = new LoadConnection(socket);
  if (job.auth) {
    const a = job.auth;
    const boot = [
      encodeHelloRequest({ agent: 'freshet-bench', features: [] }),
      encodeSaslRequest({ mechanism: 'PLAIN', payload: plainPayload(a.user, a.password) }),
      encodeSelectBucketRequest(a.bucket),
    ];
    socket.write(Buffer.concat(boot.map((p) => encodePacket(p))));
    let replies = 0;
    let failed = 0;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void =>
        conn.feed(chunk, (status) => {
          if (status !== 0) failed++;
          if (++replies === boot.length) {
            socket.off('data', onData);
            if (failed > 0) reject(new Error(`bootstrap failed (${failed} error replies)`));
            else resolve();
          }
        });
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }
  return conn;
}

function requestsFor(job: LoadJob): Buffer[] {
  const value = Buffer.alloc(job.valueSize, 'v');
  const out: Buffer[] = [];
  for (let k = job.keyFrom; k < job.keyTo; k++) {
    const key = `key:${k}`;
    const vbucket = vbucketOf(key, job.numVBuckets);
    out.push(encodePacket(job.op === 'set' ? encodeStoreRequest({ key, value, vbucket }) : encodeGetRequest({ key, vbucket })));
  }
  return out;
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const requests = requestsFor(job);
  const conns = await Promise.all(Array.from({ length: job.connections }, () => dialAndAuth(job)));
  let next = 0;
  let ops = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + job.ms;
  const more = (): boolean => (job.once ? next < requests.length : performance.now() < deadline);
  const take = (n: number): Buffer | null => {
    const batch: Buffer[] = [];
    for (let i = 0; i < n && more(); i++) {
      batch.push(requests[next % requests.length]!);
      next++;
    }
    return batch.length === 0 ? null : Buffer.concat(batch);
  };
  await Promise.all(
    conns.map(
      (conn) =>
        new Promise<void>((resolve, reject) => {
          const first = take(job.depth);
          if (!first) return resolve();
          let inFlight = countFrames(first);
          conn.socket.write(first);
          conn.socket.on('error', reject);
          conn.socket.on('data', (chunk: Buffer) => {
            let done = 0;
            conn.feed(chunk, (status) => {
              done++;
              if (status !== 0) errors++;
            });
            ops += done;
            inFlight -= done;
            const batch = take(done);
            if (batch) {
              inFlight += countFrames(batch);
              conn.socket.write(batch);
            }
            if (inFlight === 0) resolve();
          });
        }),
    ),
  );
  const ms = performance.now() - t0;
  for (const c of conns) c.socket.destroy();
  return { ops, errors, ms };
}

function countFrames(buf: Buffer): number {
  let n = 0;
  for (let pos = 0; pos < buf.length; pos += 24 + buf.readUInt32BE(pos + 8)) n++;
  return n;
}

if (!isMainThread && parentPort && (workerData as { kvLoad?: LoadJob } | null)?.kvLoad) {
  const port = parentPort;
  runLoad((workerData as { kvLoad: LoadJob }).kvLoad).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
}

// ---- orchestration (main thread) -----------------------------------------------------------

/**
 * Workers do not inherit tsx's module hooks (Node 20), so each one registers tsx itself and then
 * imports this file, whose worker branch runs the load.
 */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;

/** Split the key space over the workers and add their results up. */
async function load(base: Omit<LoadJob, 'keyFrom' | 'keyTo'>, keys: number, workers: number): Promise<LoadResult> {
  const per = Math.ceil(keys / workers);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const job: LoadJob = { ...base, keyFrom: w * per, keyTo: Math.min(keys, (w + 1) * per) };
      const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { kvLoad: job } });
      return new Promise<LoadResult>((resolve, reject) => {
        worker.once('message', (m: LoadResult | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
        worker.once('error', reject);
      }).finally(() => void worker.terminate());
    }),
  );
  return {
    ops: results.reduce((s, r) => s + r.ops, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    ms: Math.max(...results.map((r) => r.ms)),
  };
}

interface Target {
  readonly name: string;
  readonly port: number;
  readonly auth: LoadJob['auth'];
}

interface Figures {
  sets: number;
  gets: number;
}

async function measure(target: Target): Promise<Figures> {
  const connections = env('BENCH_KV_CONNECTIONS', 4);
  const depth = env('BENCH_KV_DEPTH', 64);
  const workers = env('BENCH_KV_WORKERS', 1);
  const ms = env('BENCH_KV_SECONDS', 5) * 1000;
  const warmupMs = env('BENCH_KV_WARMUP', 1) * 1000;
  const keys = env('BENCH_KV_KEYS', 100_000);
  const base = { port: target.port, auth: target.auth, connections, depth, valueSize: env('BENCH_KV_VALUE', 100), numVBuckets: 1024 };

  const populate = await load({ ...base, op: 'set', ms: 0, once: true }, keys, workers);
  if (populate.errors > 0) throw new Error(`${target.name}: ${populate.errors} errors while writing the key space`);
  const figures: Figures = { sets: 0, gets: 0 };
  for (const op of ['set', 'get'] as const) {
    await load({ ...base, op, ms: warmupMs, once: false }, keys, workers);
    const r = await load({ ...base, op, ms, once: false }, keys, workers);
    const perSecond = rate(r.ops, r.ms);
    figures[op === 'set' ? 'sets' : 'gets'] = perSecond;
    line(`${target.name} ${op}s/s`, `${fmt(perSecond)}${r.errors > 0 ? ` (${fmt(r.errors)} error replies)` : ''}`);
  }
  return figures;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function findMemcached(): string | null {
  const configured = process.env.BENCH_KV_MEMCACHED;
  if (configured) return configured;
  const which = (): string | null => {
    const r = spawnSync('sh', ['-c', 'command -v memcached'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
  };
  const found = which();
  if (found) return found;
  process.stdout.write('memcached not found: installing it with apt-get\n');
  const install = (): boolean => spawnSync('apt-get', ['install', '-y', 'memcached'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    if (!install()) return null;
  }
  return which();
}

async function startMemcached(bin: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  // memcached refuses to run as root unless told which user to run as.
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const child = spawn(bin, ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-m', '1024', ...asRoot], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`memcached exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { port, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('memcached did not start listening');
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${((a / b) * 100).toFixed(1)} %` : 'n/a';
}

export async function run(): Promise<void> {
  const c = env('BENCH_KV_CONNECTIONS', 4);
  const d = env('BENCH_KV_DEPTH', 64);
  line('load', `${c} connections x ${d} in flight x ${env('BENCH_KV_WORKERS', 1)} worker(s), ${env('BENCH_KV_VALUE', 100)}-byte values, ${fmt(env('BENCH_KV_KEYS', 100_000))} keys`);

  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-kv-'));
  let freshet: Figures;
  const server = await FreshetServer.start({ dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, numVBuckets: 1024, username: 'Administrator', password: 'password' });
  try {
    freshet = await measure({ name: 'freshet', port: server.ports.kv, auth: { user: 'Administrator', password: 'password', bucket: 'default' } });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const bin = findMemcached();
  if (!bin) {
    line('memcached', 'skipped: not installed and apt-get install memcached failed');
    return;
  }
  const mc = await startMemcached(bin);
  let memcached: Figures;
  try {
    memcached = await measure({ name: 'memcached', port: mc.port, auth: null });
  } finally {
    mc.child.kill('SIGTERM');
  }
  line('freshet/memcached gets', `${ratio(freshet.gets, memcached.gets)} (target >= 50 %)`);
  line('freshet/memcached sets', `${ratio(freshet.sets, memcached.sets)} (target >= 30 %, Freshet's are durable)`);
}
