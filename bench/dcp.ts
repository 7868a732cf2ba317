/**
 * DCP producer benchmark (`npm run bench -- dcp`), issue 4:
 *
 * 1. Backfill rate: BENCH_DOCS (default 1,000,000) x 100-byte documents over 1024 vbuckets,
 *    streamed over one DCP connection (1024 streams, 0 to the high seqno) to a minimal consumer
 *    that only decodes each message and acknowledges bytes (20 MB window, ack at 20% as
 *    cbdatasource does). Reports mutations/s and MB/s as received by the consumer.
 * 2. Write-to-delivery latency: with the 1024 streams open, BENCH_RATE writes/s (default 10,000)
 *    for BENCH_SECONDS (default 5); each value carries its write time, the consumer records
 *    delivery time minus write time. Reports p50/p99/max, next to the durable-write latency of
 *    the same writes (the floor: only persisted items are streamed).
 *
 * 3. Filtered backfill (issue 14): a collection `inventory.airport` gets BENCH_DOCS/99 documents
 *    (1% of the bucket), then two collection-aware backfills of all 1024 vbuckets to their high
 *    seqnos: unfiltered, and filtered `{"collections":["8"]}`. Reports both times and the engine
 *    follower's counters per run (records skipped without copying their values vs delivered),
 *    which show that the filtered run did not read the other 99% of values.
 *
 * The consumer runs in a worker thread (its own event loop and core) so its decoding does not
 * slow the producer; the worker re-enters this file with workerData.role = 'consumer'.
 *
 *   BENCH_DOCS, BENCH_RATE, BENCH_SECONDS   sizes (see above)
 *   BENCH_DIR                                data directory (default a fresh temp dir, removed afterwards)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as c from '../src/codec/index.js';
import { followerCounters } from '../src/engine/follower.js';
import { FreshetServer } from '../src/server/freshet-server.js';
import { fmt, line, percentile, rate } from './report.js';

const VBUCKETS = 1024;
const WINDOW = 20_000_000;
const ACK_AT = WINDOW * 0.2;
const USER = { username: 'Administrator', password: 'password' };

const now = (): number => performance.timeOrigin + performance.now();

type ToWorker =
  | { type: 'start'; port: number; highs: number[] }
  | { type: 'latency-begin' }
  | { type: 'latency-end'; expected: number }
  | { type: 'collections-backfill'; port: number; highs: number[]; filter: string | null; name: string };
type FromWorker =
  | { type: 'backfilled'; mutations: number; bytes: number; ms: number }
  | { type: 'latencies'; values: number[] }
  | { type: 'collections-backfilled'; mutations: number; systemEvents: number; seqnoAdvances: number; bytes: number; ms: number };

// ---- the minimal consumer (worker side) ------------------------------------------------------

/**
 * The mutation fields a consumer uses, read straight from the 31-byte extras (codec/dcp/mutation.ts
 * layout). The codec's `decodeDcpMutation` returns the same fields but builds its result with an
 * object spread followed by eleven properties, a shape V8 (Node 20) handles in ~12 us per call;
 * that would make this consumer, not the producer, the measured bottleneck.
 */
interface MinimalMutation {
  readonly vbucket: number;
  readonly seqno: number;
  readonly revSeqno: number;
  readonly flags: number;
  readonly expiration: number;
  readonly key: Buffer;
  readonly value: Buffer;
}

function decodeMutation(p: c.Packet): MinimalMutation {
  const x = p.extras;
  if (x.length !== c.DCP_MUTATION_EXTRAS_LENGTH) throw new Error(`mutation extras ${x.length}`);
  return {
    vbucket: p.vbucket,
    seqno: x.readUInt32BE(0) * 0x1_0000_0000 + x.readUInt32BE(4),
    revSeqno: x.readUInt32BE(8) * 0x1_0000_0000 + x.readUInt32BE(12),
    flags: x.readUInt32BE(16),
    expiration: x.readUInt32BE(20),
    key: p.key,
    value: p.value,
  };
}

class MinimalConsumer {
  private readonly parser = new c.PacketParser();
  private unacked = 0;
  private opaque = 1;
  private waiting = new Map<number, (p: c.Packet) => void>();
  mutations = 0;
  bytes = 0;
  onMutation: ((m: MinimalMutation) => void) | null = null;
  /** Other stream messages (stream end, system event, seqno advanced) by opcode. */
  onOther: ((p: c.Packet) => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  request(p: c.Packet): Promise<c.Packet> {
    const opaque = this.opaque++;
    this.socket.write(c.encodePacket({ ...p, opaque }));
    return new Promise((resolve) => this.waiting.set(opaque, resolve));
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const p of this.parser.push(chunk)) {
      if (!c.isRequestMagic(p.magic)) {
        this.waiting.get(p.opaque)?.(p);
        this.waiting.delete(p.opaque);
        continue;
      }
      if (p.opcode === c.Opcode.DcpNoop) {
        this.socket.write(c.encodePacket(c.encodeDcpNoopResponse(p.opaque)));
        continue;
      }
      if (p.opcode === c.Opcode.DcpMutation) {
        const m = decodeMutation(p);
        this.mutations++;
        this.onMutation?.(m);
      } else {
        this.onOther?.(p);
      }
      this.unacked += c.packetSize(p);
      if (this.unacked >= ACK_AT) {
        this.socket.write(c.encodePacket(c.encodeBufferAck(this.unacked)));
        this.unacked = 0;
      }
    }
  }
}

async function consumerMain(): Promise<void> {
  const port = parentPort!;
  const [start] = (await once(port, 'message')) as [ToWorker];
  if (start.type !== 'start') throw new Error('expected start');
  const socket = connect({ host: '127.0.0.1', port: start.port });
  await once(socket, 'connect');
  const consumer = new MinimalConsumer(socket);
  const ok = async (p: c.Packet, what: string): Promise<void> => {
    const r = await consumer.request(p);
    if (r.status !== c.Status.Success) throw new Error(`${what}: ${c.statusName(r.status)}`);
  };
  await ok(c.encodeSaslRequest({ opcode: c.Opcode.SaslAuth, mechanism: 'PLAIN', payload: c.plainPayload(USER.username, USER.password) }), 'auth');
  await ok(c.encodeSelectBucketRequest('bench'), 'select bucket');
  await ok(c.encodeDcpOpenRequest({ name: 'bench', flags: c.DcpOpenFlag.Producer }), 'open');
  await ok(c.encodeDcpControlRequest({ key: 'connection_buffer_size', value: String(WINDOW) }), 'buffer size');
  await ok(c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }), 'noop');

  const total = start.highs.reduce((a, b) => a + b, 0);
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  consumer.onMutation = () => {
    if (consumer.mutations === total) done();
  };
  const bytes0 = consumer.bytes;
  const t0 = performance.now();
  await Promise.all(
    start.highs.map((_, vb) =>
      ok(c.encodeStreamRequest({ vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }), `stream ${vb}`),
    ),
  );
  if (total > 0) await finished;
  const ms = performance.now() - t0;
  port.postMessage({ type: 'backfilled', mutations: consumer.mutations, bytes: consumer.bytes - bytes0, ms } satisfies FromWorker);

  const latencies: number[] = [];
  await once(port, 'message');
  let expected = Infinity;
  let endSignal: () => void = () => {};
  const ended = new Promise<void>((resolve) => (endSignal = resolve));
  consumer.onMutation = (m) => {
    if (m.value.length >= 8) latencies.push(now() - m.value.readDoubleBE(0));
    if (latencies.length >= expected) endSignal();
  };
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'latency-end') {
      expected = msg.expected;
      if (latencies.length >= expected) endSignal();
    }
  });
  await ended;
  port.postMessage({ type: 'latencies', values: latencies } satisfies FromWorker);
  socket.destroy();
  port.on('message', (msg: ToWorker) => {
    if (msg.type !== 'collections-backfill') return;
    collectionsBackfill(msg).then(
      (r) => port.postMessage(r satisfies FromWorker),
      (err: unknown) => {
        process.stderr.write(`bench consumer failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
}

/** One collection-aware backfill of every vbucket to its high seqno, done when every stream has ended. */
async function collectionsBackfill(msg: Extract<ToWorker, { type: 'collections-backfill' }>): Promise<FromWorker> {
  const socket = connect({ host: '127.0.0.1', port: msg.port });
  await once(socket, 'connect');
  const consumer = new MinimalConsumer(socket);
  const ok = async (p: c.Packet, what: string): Promise<void> => {
    const r = await consumer.request(p);
    if (r.status !== c.Status.Success) throw new Error(`${what}: ${c.statusName(r.status)}`);
  };
  await consumer.request(c.encodeHelloRequest({ agent: 'bench', features: [c.Feature.Collections] }));
  await ok(c.encodeSaslRequest({ opcode: c.Opcode.SaslAuth, mechanism: 'PLAIN', payload: c.plainPayload(USER.username, USER.password) }), 'auth');
  await ok(c.encodeSelectBucketRequest('bench'), 'select bucket');
  await ok(c.encodeDcpOpenRequest({ name: msg.name, flags: c.DcpOpenFlag.Producer }), 'open');
  await ok(c.encodeDcpControlRequest({ key: 'connection_buffer_size', value: String(WINDOW) }), 'buffer size');
  await ok(c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }), 'noop');
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
  await Promise.all(
    msg.highs.map((high, vb) =>
      ok(
        c.encodeStreamRequest({
          vbucket: vb, startSeqno: 0, endSeqno: high, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0,
          ...(msg.filter === null ? {} : { value: msg.filter }),
        }),
        `stream ${vb}`,
      ),
    ),
  );
  await finished;
  const ms = performance.now() - t0;
  socket.destroy();
  return { type: 'collections-backfilled', mutations: consumer.mutations, systemEvents, seqnoAdvances, bytes: consumer.bytes - bytes0, ms };
}

// ---- the producer side (main thread) ---------------------------------------------------------

function next(worker: Worker): Promise<FromWorker> {
  return once(worker, 'message').then(([m]) => m as FromWorker);
}

async function load(bucketWrite: (key: string, value: Buffer) => Promise<unknown>, docs: number): Promise<number> {
  const value = Buffer.alloc(100, 'x');
  const window = 20_000;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let issued = 0;
    let done = 0;
    const issue = (): void => {
      while (issued < docs && issued - done < window) {
        bucketWrite(`key-${issued++}`, value).then(() => {
          if (++done === docs) resolve();
          else issue();
        }, reject);
      }
    };
    if (docs === 0) resolve();
    else issue();
  });
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const writesPerSecond = Number(process.env.BENCH_RATE ?? 10_000);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'freshet-bench-dcp-'));
  const server = await FreshetServer.start({
    dataDir: dir,
    kvPort: 0,
    mgmtPort: 0,
    httpPort: 0,
    createDefaultBucket: false,
    expiryPagerMs: 0,
    ...USER,
  });
  const worker = new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`,
    { eval: true, workerData: { role: 'consumer' } },
  );
  try {
    const bucket = await server.engine.createBucket('bench', { numVBuckets: VBUCKETS });
    line('documents', `${fmt(docs)} x 100 bytes, ${VBUCKETS} vbuckets, one connection`);
    const loadMs = await load((k, v) => bucket.set(k, v), docs);
    line('load (durable writes/s)', fmt(rate(docs, loadMs)));

    const highs = Array.from({ length: VBUCKETS }, (_, vb) => bucket.vbucketInfo(vb).highSeqno);
    worker.postMessage({ type: 'start', port: server.ports.kv, highs } satisfies ToWorker);
    const backfill = await next(worker);
    if (backfill.type !== 'backfilled') throw new Error('unexpected worker message');
    line('backfill mutations/s', `${fmt(rate(backfill.mutations, backfill.ms))} (${fmt(backfill.mutations)} in ${Math.round(backfill.ms)} ms)`);
    line('backfill MB/s (wire bytes at the consumer)', (backfill.bytes / 1e6 / (backfill.ms / 1000)).toFixed(1));

    // Latency: paced writes; each value starts with its write time.
    worker.postMessage({ type: 'latency-begin' } satisfies ToWorker);
    const total = Math.round(writesPerSecond * seconds);
    const writes: Promise<unknown>[] = [];
    const durable: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < total; ) {
      const due = Math.floor(((performance.now() - t0) / 1000) * writesPerSecond);
      for (; i < Math.min(due, total); i++) {
        const value = Buffer.alloc(100, 'y');
        const at = now();
        value.writeDoubleBE(at, 0);
        writes.push(bucket.set(`lat-${i}`, value).then(() => durable.push(now() - at)));
      }
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);
    durable.sort((a, b) => a - b);
    // Only persisted items are streamed, so delivery can never beat durability: show both.
    line('durable write latency (set() to on disk)', `p50 ${percentile(durable, 50).toFixed(2)} ms, p99 ${percentile(durable, 99).toFixed(2)} ms`);
    worker.postMessage({ type: 'latency-end', expected: total } satisfies ToWorker);
    const lat = await next(worker);
    if (lat.type !== 'latencies') throw new Error('unexpected worker message');
    const sorted = lat.values.sort((a, b) => a - b);
    line(`write-to-delivery latency at ${fmt(writesPerSecond)} writes/s`, `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted.at(-1)?.toFixed(2)} ms (${fmt(sorted.length)} writes)`);

    // Filtered backfill: one collection holding 1% of the bucket.
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    const airport = bucket.collectionByName('inventory', 'airport');
    const collDocs = Math.round(docs / 99);
    await load((k, v) => airport.set(k, v), collDocs);
    const all = bucket.docCounts().docCount;
    line('filtered case', `inventory.airport (id 8) ${fmt(collDocs)} documents of ${fmt(all)} in the bucket`);
    const collHighs = Array.from({ length: VBUCKETS }, (_, vb) => bucket.vbucketInfo(vb).highSeqno);
    const runs: Array<[string, string | null]> = [
      ['unfiltered', null],
      ['filtered {"collections":["8"]}', '{"collections":["8"]}'],
    ];
    const times: number[] = [];
    for (const [label, filter] of runs) {
      const before = { ...followerCounters };
      worker.postMessage({ type: 'collections-backfill', port: server.ports.kv, highs: collHighs, filter, name: `bench-${times.length}` } satisfies ToWorker);
      const r = await next(worker);
      if (r.type !== 'collections-backfilled') throw new Error('unexpected worker message');
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
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'consumer') {
  consumerMain().catch((err: unknown) => {
    process.stderr.write(`bench consumer failed: ${String(err)}\n`);
    process.exit(1);
  });
}
