/**
 * DCP producer benchmark (`npm run bench -- dcp`), issues 4, 14 and 16. One run prints:
 *
 * 1. Backfill rate: BENCH_DOCS (default 1,000,000) x 100-byte documents over 1024 vbuckets
 *    (written through the engine, then the flusher is waited for), streamed over one DCP
 *    connection (1024 streams, 0 to the high seqno) to a minimal consumer that only decodes each
 *    message and acknowledges bytes. Mutations/s and MB/s as received by the consumer.
 * 2. The loopback pump (bench/dcp-pump.ts) in the same run: the same consumer reading pre-built
 *    mutation frames of the same size from a raw TCP sender; the backfill's ratio to it
 *    (target >= 0.15x).
 * 3. Write-to-delivery latency: with the 1024 streams open, BENCH_RATE writes/s (default 10,000)
 *    for BENCH_SECONDS (default 5) over a KV connection, once with no durability (acknowledged
 *    from memory, streamed from the checkpoint queue) and once with persistToMajority (streamed
 *    once fsynced). Latency is from the SET's send to the mutation's arrival at the consumer,
 *    matched by key (both in the consumer worker, one clock); p50/p99/max, target p99 < 2 ms
 *    for the plain writes; the SET acknowledgement latency beside it.
 * 4. Filtered backfill (issue 14): a collection `inventory.airport` gets BENCH_DOCS/99 documents
 *    (1% of the bucket), then two collection-aware backfills: unfiltered, and filtered
 *    `{"collections":["8"]}`, with the follower's counters (records skipped without copying).
 * 5. Memory (bench/dcp-memory.ts): RSS of a `freshet serve` child while a DCP consumer is stalled
 *    and BENCH_MEM_WRITES (default 2,000,000) pipelined 100-byte writes go in (target < 300 MB).
 *
 * The consumer runs in a worker thread (its own event loop and core) so its decoding does not
 * slow the producer; the worker re-enters this file with workerData.role = 'consumer'.
 *
 *   BENCH_DOCS, BENCH_RATE, BENCH_SECONDS   sizes (see above)
 *   BENCH_WARMUP                             seconds of unmeasured writes before each latency phase (default 1)
 *   BENCH_MEM_WRITES, BENCH_MEM_SETTLE      memory phase (see bench/dcp-memory.ts; BENCH_MEM_WRITES=0 skips it)
 *   BENCH_DIR                                data directory (default a fresh temp dir, removed afterwards)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as c from '../src/codec/index.js';
import { followerCounters } from '../src/engine/follower.js';
import { vbucketOf } from '../src/engine/vbucket-hash.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { MinimalConsumer, openDcp, streamAll, USER } from './dcp-consumer.js';
import { memoryPhase } from './dcp-memory.js';
import { startLoopbackPump } from './dcp-pump.js';
import { fmt, line, percentile, rate } from './report.js';
import { windowedWrites } from './engine-load.js';

const VBUCKETS = 1024;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type ToWorker =
  | { type: 'start'; port: number; highs: number[] }
  | { type: 'pump'; port: number; expected: number }
  | { type: 'latency'; port: number; rate: number; seconds: number; level: number | null; name: string }
  | { type: 'collections-backfill'; port: number; highs: number[]; filter: string | null; name: string };
type FromWorker =
  | { type: 'backfilled'; mutations: number; bytes: number; ms: number }
  | { type: 'pumped'; mutations: number; bytes: number; ms: number }
  | { type: 'latencies'; delivery: number[]; ack: number[]; errors: number; missing: number }
  | { type: 'collections-backfilled'; mutations: number; systemEvents: number; seqnoAdvances: number; bytes: number; ms: number };

// ---- the consumer worker ---------------------------------------------------------------------

async function dial(port: number): Promise<MinimalConsumer> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return new MinimalConsumer(socket);
}

/** The consumer that backfills, then stays open (streams to the end of time) for the latency phases. */
let live: MinimalConsumer | null = null;

async function backfill(msg: Extract<ToWorker, { type: 'start' }>): Promise<FromWorker> {
  const consumer = await dial(msg.port);
  live = consumer;
  await openDcp(consumer, 'bench', 'bench');
  const total = msg.highs.reduce((a, b) => a + b, 0);
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  consumer.onMutation = () => {
    if (consumer.mutations === total) done();
  };
  const bytes0 = consumer.bytes;
  const t0 = performance.now();
  await streamAll(consumer, msg.highs.length);
  if (total > 0) await finished;
  return { type: 'backfilled', mutations: consumer.mutations, bytes: consumer.bytes - bytes0, ms: performance.now() - t0 };
}

async function pump(msg: Extract<ToWorker, { type: 'pump' }>): Promise<FromWorker> {
  const t0 = performance.now();
  const consumer = await dial(msg.port);
  await new Promise<void>((resolve) => {
    consumer.onMutation = () => {
      if (consumer.mutations === msg.expected) resolve();
    };
  });
  const ms = performance.now() - t0;
  consumer.socket.destroy();
  return { type: 'pumped', mutations: consumer.mutations, bytes: consumer.bytes, ms };
}

/**
 * Paced SETs over a KV connection (MinimalConsumer's request/response half serves as the client),
 * each key's send time kept until the live stream delivers that key.
 */
async function latency(msg: Extract<ToWorker, { type: 'latency' }>): Promise<FromWorker> {
  const stream = live;
  if (!stream) throw new Error('latency before backfill');
  const kv = await dial(msg.port);
  await kv.request(c.encodeHelloRequest({ agent: 'bench', features: [c.Feature.AltRequestSupport, c.Feature.SyncReplication] }));
  for (const p of [c.encodeSaslRequest({ opcode: c.Opcode.SaslAuth, mechanism: 'PLAIN', payload: c.plainPayload(USER.username, USER.password) }), c.encodeSelectBucketRequest('bench')]) {
    const r = await kv.request(p);
    if (r.status !== c.Status.Success) throw new Error(`kv bootstrap: ${c.statusName(r.status)}`);
  }
  const framingExtras = msg.level === null ? Buffer.alloc(0) : c.encodeFrameInfos([c.durabilityFrame({ level: msg.level })]);
  // The harness keeps nothing per write beyond two numbers, so its own garbage collection does not
  // show in the figures: send times by write index (parsed back from the key), no promise kept.
  const total = Math.round(msg.rate * msg.seconds);
  const prefix = `lat-${msg.name}-`;
  const sentAt = new Float64Array(total).fill(-1);
  const delivery: number[] = [];
  const ack: number[] = [];
  let errors = 0;
  let replies = 0;
  let allReplied: () => void = () => {};
  const replied = new Promise<void>((resolve) => (allReplied = resolve));
  stream.onMutation = (m) => {
    const key = m.key.toString('latin1');
    if (!key.startsWith(prefix)) return;
    const i = Number(key.slice(prefix.length));
    const at = sentAt[i]!;
    if (at < 0) return;
    delivery.push(now() - at);
    sentAt[i] = -1;
  };
  const value = Buffer.alloc(100, 'y');
  const t0 = performance.now();
  for (let i = 0; i < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * msg.rate));
    for (; i < due; i++) {
      const key = `${prefix}${i}`;
      const at = now();
      sentAt[i] = at;
      const req = c.encodeStoreRequest({ key, value, vbucket: vbucketOf(key, VBUCKETS) }, { framingExtras });
      void kv.request(req).then((r) => {
        if (r.status === c.Status.Success) ack.push(now() - at);
        else errors++;
        if (++replies === total) allReplied();
      });
    }
    await sleep(1);
  }
  await replied;
  for (const deadline = performance.now() + 10_000; delivery.length < total - errors && performance.now() < deadline; ) await sleep(10);
  stream.onMutation = null;
  kv.socket.destroy();
  return { type: 'latencies', delivery, ack, errors, missing: total - errors - delivery.length };
}

/** One collection-aware backfill of every vbucket to its high seqno, done when every stream has ended. */
async function collectionsBackfill(msg: Extract<ToWorker, { type: 'collections-backfill' }>): Promise<FromWorker> {
  const consumer = await dial(msg.port);
  await openDcp(consumer, 'bench', msg.name, [c.Feature.Collections]);
  let ended = 0;
  let systemEvents = 0;
  let seqnoAdvances = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  consumer.onOther = (p) => {
    if (p.opcode === c.Opcode.DcpSystemEvent) systemEvents++;
    else if (p.opcode === c.Opcode.DcpSeqnoAdvanced) seqnoAdvances++;
    else if (p.opcode === c.Opcode.DcpStreamEnd && ++ended === msg.highs.length) done();
  };
  const bytes0 = consumer.bytes;
  const t0 = performance.now();
  await streamAll(consumer, msg.highs.length, msg.highs, msg.filter);
  await finished;
  const ms = performance.now() - t0;
  consumer.socket.destroy();
  return { type: 'collections-backfilled', mutations: consumer.mutations, systemEvents, seqnoAdvances, bytes: consumer.bytes - bytes0, ms };
}

function consumerMain(): void {
  const port = parentPort!;
  const handlers: { [K in ToWorker['type']]: (m: Extract<ToWorker, { type: K }>) => Promise<FromWorker> } = {
    start: backfill,
    pump,
    latency,
    'collections-backfill': collectionsBackfill,
  };
  port.on('message', (msg: ToWorker) => {
    const handle = handlers[msg.type] as (m: ToWorker) => Promise<FromWorker>;
    handle(msg).then(
      (r) => port.postMessage(r),
      (err: unknown) => {
        process.stderr.write(`bench consumer failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
}

// ---- the producer side (main thread) ---------------------------------------------------------

async function ask<T extends FromWorker['type']>(worker: Worker, msg: ToWorker, reply: T): Promise<Extract<FromWorker, { type: T }>> {
  worker.postMessage(msg);
  const [m] = (await once(worker, 'message')) as [FromWorker];
  if (m.type !== reply) throw new Error(`expected ${reply} from the consumer, got ${m.type}`);
  return m as Extract<FromWorker, { type: T }>;
}

const ms2 = (n: number): string => `${n.toFixed(2)} ms`;

function printLatency(label: string, r: Extract<FromWorker, { type: 'latencies' }>, target: string): void {
  const d = r.delivery.sort((a, b) => a - b);
  const a = r.ack.sort((x, y) => x - y);
  const problems = [r.errors > 0 ? `${fmt(r.errors)} error replies` : '', r.missing > 0 ? `${fmt(r.missing)} not delivered within 10 s` : ''].filter(Boolean).join(', ');
  line(`write-to-delivery, ${label}`, `p50 ${ms2(percentile(d, 50))}, p99 ${ms2(percentile(d, 99))}, max ${ms2(d.at(-1) ?? NaN)} (${fmt(d.length)} writes; ${target})${problems ? ` [${problems}]` : ''}`);
  line(`  SET acknowledged, ${label}`, `p50 ${ms2(percentile(a, 50))}, p99 ${ms2(percentile(a, 99))}`);
}

export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const writesPerSecond = Number(process.env.BENCH_RATE ?? 10_000);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const warmup = Number(process.env.BENCH_WARMUP ?? 1);
  const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'freshet-bench-dcp-'));
  const server = await FreshetServer.start({ dataDir: dir, kvPort: 0, mgmtPort: 0, httpPort: 0, createDefaultBucket: false, expiryPagerMs: 0, ...USER });
  const worker = new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`,
    { eval: true, workerData: { role: 'consumer' } },
  );
  try {
    const bucket = await server.engine.createBucket('bench', { numVBuckets: VBUCKETS });
    line('documents', `${fmt(docs)} x 100 bytes, ${VBUCKETS} vbuckets, one connection`);
    const value = Buffer.alloc(100, 'x');
    const loaded = await windowedWrites(bucket, docs, 20_000, (i) => bucket.set(`key-${i}`, value));
    line('load (engine writes/s, acknowledged in memory)', `${fmt(rate(docs, loaded.ms))} (${fmt(loaded.tmpfails)} TMPFAIL retries)`);
    // The backfill is measured from disk: wait until the flusher has persisted every vbucket.
    const flushT0 = performance.now();
    const vbs = Array.from({ length: VBUCKETS }, (_, vb) => vb);
    while (vbs.some((vb) => bucket.vbucketInfo(vb).persistedSeqno < bucket.vbucketInfo(vb).highSeqno)) {
      if (performance.now() - flushT0 > 300_000) throw new Error('the flusher did not persist the load within 300 s');
      await sleep(20);
    }
    line('  flusher caught up after the load', `${fmt(Math.round(performance.now() - flushT0))} ms`);

    const highs = vbs.map((vb) => bucket.vbucketInfo(vb).highSeqno);
    const backfill = await ask(worker, { type: 'start', port: server.ports.kv, highs }, 'backfilled');
    const backfillRate = rate(backfill.mutations, backfill.ms);
    line('backfill mutations/s', `${fmt(backfillRate)} (${fmt(backfill.mutations)} in ${Math.round(backfill.ms)} ms)`);
    line('backfill MB/s (wire bytes at the consumer)', (backfill.bytes / 1e6 / (backfill.ms / 1000)).toFixed(1));

    const pumpServer = await startLoopbackPump(docs, Buffer.alloc(100, 'x'));
    try {
      const p = await ask(worker, { type: 'pump', port: pumpServer.port, expected: pumpServer.mutations }, 'pumped');
      const pumpRate = rate(p.mutations, p.ms);
      line('loopback pump mutations/s (same consumer)', `${fmt(pumpRate)} (${fmt(p.mutations)} frames of ${pumpServer.frameBytes} bytes, ${(p.bytes / 1e6 / (p.ms / 1000)).toFixed(1)} MB/s)`);
      line('backfill / loopback pump', `${(backfillRate / pumpRate).toFixed(2)}x (target >= 0.15x)`);
    } finally {
      await pumpServer.close();
    }

    line('write-to-delivery load', `${fmt(writesPerSecond)} SETs/s over KV for ${seconds} s, 100 bytes; send to DCP arrival, matched by key; after ${warmup} s of the same, not measured`);
    const latency = async (level: number | null, name: string): Promise<Extract<FromWorker, { type: 'latencies' }>> => {
      // Steady state, as a running server is: the KV write path has not run yet in this process
      // (the load above went through the engine), and its first second runs unoptimised code.
      if (warmup > 0) await ask(worker, { type: 'latency', port: server.ports.kv, rate: writesPerSecond, seconds: warmup, level, name: `warm-${name}` }, 'latencies');
      return ask(worker, { type: 'latency', port: server.ports.kv, rate: writesPerSecond, seconds, level, name }, 'latencies');
    };
    const plain = await latency(null, 'none');
    printLatency('durability none', plain, 'target p99 < 2 ms');
    const durable = await latency(c.DurabilityLevel.PersistToMajority, 'p2m');
    printLatency('persistToMajority', durable, 'streamed once fsynced');

    // Filtered backfill: one collection holding 1% of the bucket.
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    const airport = bucket.collectionByName('inventory', 'airport');
    const collDocs = Math.round(docs / 99);
    await windowedWrites(bucket, collDocs, 20_000, (i) => airport.set(`key-${i}`, value));
    await bucket.quiesce(); // document counts and the backfills below read the disk
    const all = bucket.docCounts().docCount;
    line('filtered case', `inventory.airport (id 8) ${fmt(collDocs)} documents of ${fmt(all)} in the bucket`);
    const collHighs = vbs.map((vb) => bucket.vbucketInfo(vb).highSeqno);
    const runs: Array<[string, string | null]> = [
      ['unfiltered', null],
      ['filtered {"collections":["8"]}', '{"collections":["8"]}'],
    ];
    const times: number[] = [];
    for (const [label, filter] of runs) {
      const before = { ...followerCounters };
      const r = await ask(worker, { type: 'collections-backfill', port: server.ports.kv, highs: collHighs, filter, name: `bench-${times.length}` }, 'collections-backfilled');
      times.push(r.ms);
      line(
        `collection-aware backfill, ${label}`,
        `${Math.round(r.ms)} ms, ${fmt(r.mutations)} mutations, ${fmt(r.systemEvents)} system events, ${fmt(r.seqnoAdvances)} seqno-advanced, ${(r.bytes / 1e6).toFixed(1)} MB`,
      );
      line(
        `  followerCounters (${label})`,
        `delivered ${fmt(followerCounters.delivered - before.delivered)}, skipped without copying ${fmt(followerCounters.skipped - before.skipped)}`,
      );
    }
    line('filtered backfill time / unfiltered', `${((times[1]! / times[0]!) * 100).toFixed(1)}%`);
  } finally {
    await worker.terminate();
    await server.close();
    if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
  await memoryPhase();
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'consumer') consumerMain();
