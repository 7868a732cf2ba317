/**
 * The KV load generator shared by `bench kv` (sets/gets against Freshet and memcached) and the
 * memory phase of `bench dcp` (2M pipelined writes while a DCP consumer is stalled): 100-byte
 * values, pipelined over several connections, in worker threads so the load does not share an
 * event loop with an in-process server. Each connection keeps `depth` requests in flight: every
 * reply read is answered with a new request, written in one batch per socket read.
 *
 * SETs may carry a durability requirement (request frame info 0x01, codec/frame-info.ts); the
 * connection then negotiates AltRequestSupport and SyncReplication in its HELLO, as an SDK does.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  durabilityFrame, encodeFrameInfos, encodeGetRequest, encodeHelloRequest, encodePacket, encodeSaslRequest,
  encodeSelectBucketRequest, encodeStoreRequest, Feature, plainPayload,
} from '../src/codec/index.js';
import { vbucketOf } from '../src/engine/vbucket-hash.js';
import { ownCpuMs } from './thread-cpu.js';

export type Op = 'set' | 'get';

export interface LoadJob {
  readonly port: number;
  readonly auth: { user: string; password: string; bucket: string } | null;
  readonly op: Op;
  /** SETs only: durability level on the wire (1 majority, 2 majorityAndPersistActive, 3 persistToMajority), null for none. */
  readonly durability: number | null;
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

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  /** Error replies by status (hex), e.g. TMPFAIL 0x86. */
  readonly statuses: Record<string, number>;
  readonly ms: number;
  /** CPU milliseconds the load generator's threads spent over the run (0 without /proc). */
  readonly cpuMs: number;
}

export const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

/** Key spaces up to this size are encoded once up front; larger ones (the memory phase's 2M) per request. */
const PREBUILD_MAX = 250_000;

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
  const features = job.durability === null ? [] : [Feature.AltRequestSupport, Feature.SyncReplication];
  const boot = [
    ...(job.auth || features.length > 0 ? [encodeHelloRequest({ agent: 'freshet-bench', features })] : []),
    ...(job.auth
      ? [encodeSaslRequest({ mechanism: 'PLAIN', payload: plainPayload(job.auth.user, job.auth.password) }), encodeSelectBucketRequest(job.auth.bucket)]
      : []),
  ];
  if (boot.length === 0) return conn;
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
  return conn;
}

/** The request for key number k of the job. */
function requestMaker(job: LoadJob): (k: number) => Buffer {
  const value = Buffer.alloc(job.valueSize, 'v');
  const framingExtras = job.durability === null ? Buffer.alloc(0) : encodeFrameInfos([durabilityFrame({ level: job.durability })]);
  return (k) => {
    const key = `key:${k}`;
    const vbucket = vbucketOf(key, job.numVBuckets);
    return encodePacket(job.op === 'set' ? encodeStoreRequest({ key, value, vbucket }, { framingExtras }) : encodeGetRequest({ key, vbucket }));
  };
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const make = requestMaker(job);
  const span = job.keyTo - job.keyFrom;
  const prebuilt = span <= PREBUILD_MAX ? Array.from({ length: span }, (_, i) => make(job.keyFrom + i)) : null;
  const request = (n: number): Buffer => (prebuilt ? prebuilt[n % span]! : make(job.keyFrom + (n % span)));
  const conns = await Promise.all(Array.from({ length: job.connections }, () => dialAndAuth(job)));
  let next = 0;
  let ops = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  const cpu0 = ownCpuMs();
  const t0 = performance.now();
  const deadline = t0 + job.ms;
  const more = (): boolean => (job.once ? next < span : performance.now() < deadline);
  const take = (n: number): Buffer | null => {
    const batch: Buffer[] = [];
    for (let i = 0; i < n && more(); i++) batch.push(request(next++));
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
              if (status !== 0) {
                errors++;
                const name = `0x${status.toString(16)}`;
                statuses[name] = (statuses[name] ?? 0) + 1;
              }
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
  const cpu1 = ownCpuMs();
  for (const c of conns) c.socket.destroy();
  return { ops, errors, statuses, ms, cpuMs: cpu0 === null || cpu1 === null ? 0 : cpu1 - cpu0 };
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
export async function load(base: Omit<LoadJob, 'keyFrom' | 'keyTo'>, keys: number, workers: number): Promise<LoadResult> {
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
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  return {
    ops: results.reduce((s, r) => s + r.ops, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    statuses,
    ms: Math.max(...results.map((r) => r.ms)),
    cpuMs: results.reduce((s, r) => s + r.cpuMs, 0),
  };
}

/** " (N error replies: 0x86 x N)" or "" when there were none. */
export function errorNote(r: LoadResult): string {
  if (r.errors === 0) return '';
  const by = Object.entries(r.statuses).map(([s, n]) => `${s} x ${n.toLocaleString('en-US')}`).join(', ');
  return ` (${r.errors.toLocaleString('en-US')} error replies: ${by})`;
}
