/**
 * DCP consumer benchmark: backfill rate through BucketDataSource (frame parse, DCP decode,
 * receiver callback, flow-control acks, metadata per snapshot) and through openChangeStream
 * (typed events with copied keys/values, `for await`, file checkpoints per completed snapshot),
 * each against producers running in their own process:
 *
 * - "replay": a minimal producer that answers the bootstrap and replays pre-encoded streams with
 *   flow control, so the figure is the consumer's own ceiling;
 * - "freshet": a real `freshet serve` over data loaded into its engine (end to end, producer
 *   included).
 *
 *   BENCH_DOCS          documents (default 1,000,000), over 1024 vbuckets
 *   BENCH_VALUE_BYTES   value size (default 100)
 *   BENCH_PRODUCERS     comma list, default "replay,freshet"
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as c from '../src/codec/index.js';
import { Engine } from '../src/engine/engine.js';
import { BucketDataSource, openChangeStream, type Receiver } from '../src/consumer/index.js';
import { replayStream } from './dcp-pump.js';
import { fmt, line, rate } from './report.js';
import { spawnFreshet } from './serve.js';

const creds = { username: 'Administrator', password: 'password' };
const VBUCKETS = 1024;

function docValue(valueBytes: number): Buffer {
  return Buffer.from(JSON.stringify({ v: 'x'.repeat(Math.max(0, valueBytes - 8)) }));
}

// --- the "replay" producer (runs in a child process: `node --import tsx bench/tail.ts --replay N B`)

/** Set the opaque of every frame of a pre-encoded stream. */
function withOpaque(stream: Buffer, opaque: number): Buffer {
  const b = Buffer.from(stream);
  for (let at = 0; at < b.length; at += 24 + b.readUInt32BE(at + 8)) b.writeUInt32BE(opaque, at + 12);
  return b;
}

async function runReplayProducer(docs: number, valueBytes: number): Promise<void> {
  const value = docValue(valueBytes);
  const perVb = (vb: number): number => Math.floor(docs / VBUCKETS) + (vb < docs % VBUCKETS ? 1 : 0);
  const streams = Array.from({ length: VBUCKETS }, (_, vb) => replayStream(vb, perVb(vb), value));
  const server = net.createServer((socket) => {
    const parser = new c.PacketParser();
    let window = Infinity;
    let outstanding = 0;
    const pending: Buffer[] = [];
    const pump = (): void => {
      while (pending.length > 0 && outstanding < window) {
        const b = pending.shift()!;
        outstanding += b.length;
        socket.write(b);
      }
    };
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const p of parser.push(chunk)) {
        const ok = (init: c.PacketInit = {}): void => void socket.write(c.encodePacket(c.replyTo(p, init)));
        switch (p.opcode) {
          case c.Opcode.Hello:
            ok({ value: Buffer.from([0, 7]) });
            break;
          case c.Opcode.SaslListMechs:
            ok({ value: Buffer.from('PLAIN') });
            break;
          case c.Opcode.GetClusterConfig: {
            const port = (server.address() as net.AddressInfo).port;
            const config = { rev: 1, name: 'default', uuid: 'replay', vBucketServerMap: { serverList: [`$HOST:${port}`], vBucketMap: Array.from({ length: VBUCKETS }, () => [0]) } };
            ok({ value: Buffer.from(JSON.stringify(config)) });
            break;
          }
          case c.Opcode.DcpControl:
            if (p.key.toString() === 'connection_buffer_size') window = Number(p.value.toString()) || Infinity;
            ok();
            break;
          case c.Opcode.GetAllVbSeqnos:
            socket.write(c.encodePacket(c.encodeAllVbSeqnosResponse(Array.from({ length: VBUCKETS }, (_, vb) => ({ vbucket: vb, seqno: perVb(vb) })), { opaque: p.opaque })));
            break;
          case c.Opcode.DcpStreamReq:
            socket.write(c.encodePacket(c.encodeStreamRequestOk([{ vbUuid: 1, seqno: 0 }], { opaque: p.opaque })));
            pending.push(withOpaque(streams[p.vbucket]!, p.opaque));
            pump();
            break;
          case c.Opcode.DcpBufferAcknowledgement:
            outstanding -= c.decodeBufferAck(p).bytes;
            pump();
            break;
          default:
            ok(); // SASL_AUTH, SELECT_BUCKET, DCP_OPEN, NOOP
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  process.stdout.write(`replay ready kv=${(server.address() as net.AddressInfo).port}\n`);
}

// --- setup -------------------------------------------------------------------------------------

async function load(dir: string, docs: number, valueBytes: number): Promise<void> {
  const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
  const bucket = await engine.createBucket('default', { numVBuckets: VBUCKETS });
  const value = docValue(valueBytes);
  const t0 = performance.now();
  for (let i = 0; i < docs; i += 20_000) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(docs, i + 20_000); j++) batch.push(bucket.set(`key-${j}`, value, { datatype: 1 }));
    await Promise.all(batch);
  }
  line('  load (engine, durable writes/s)', fmt(rate(docs, performance.now() - t0)));
  await engine.close();
}

async function spawnProducer(args: string[], readyPrefix: string): Promise<{ kv: number; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (l) => l.startsWith(readyPrefix) && resolve(l));
    proc.once('exit', (code) => reject(new Error(`producer exited with ${code}`)));
  });
  return {
    kv: Number(/kv=(\d+)/.exec(ready)![1]),
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** A cbdatasource-style receiver: metadata in memory, one setMetaData per snapshot. */
function countingReceiver(): Receiver & { items: number; snapshots: number } {
  const meta = new Map<number, { value: Buffer | null; lastSeq: number }>();
  const r = {
    items: 0,
    snapshots: 0,
    onError: (e: Error) => void process.stderr.write(`onError: ${e.message}\n`),
    dataUpdate: (vb: number, _k: Buffer, seq: number) => {
      r.items++;
      const m = meta.get(vb);
      if (m) m.lastSeq = seq;
    },
    dataDelete: () => {},
    snapshotStart: () => void r.snapshots++,
    setMetaData: (vb: number, value: Buffer) => void meta.set(vb, { value: Buffer.from(value), lastSeq: meta.get(vb)?.lastSeq ?? 0 }),
    getMetaData: (vb: number) => meta.get(vb) ?? { value: null, lastSeq: 0 },
    rollback: (vb: number) => void meta.delete(vb),
  };
  return r;
}

async function measure(label: string, kv: number): Promise<void> {
  const seed = `couchbase://127.0.0.1:${kv}/default`;
  const receiver = countingReceiver();
  const ds = new BucketDataSource({ seeds: [seed], credentials: creds, receiver, options: { to: 'now' } });
  let t0 = performance.now();
  await new Promise<void>((resolve) => {
    ds.onStatus((s) => s.type === 'complete' && resolve());
    ds.start();
  });
  const ms = performance.now() - t0;
  await ds.close();
  line(`  ${label}: BucketDataSource changes/s`, `${fmt(rate(receiver.items, ms))} (${fmt(receiver.items)} in ${fmt(Math.round(ms))} ms, ${fmt(receiver.snapshots)} snapshots)`);

  const cpDir = mkdtempSync(join(tmpdir(), 'freshet-bench-cp-'));
  try {
    const stream = openChangeStream({ seeds: [seed], credentials: creds, to: 'now', checkpoint: join(cpDir, 'cp.json') });
    let n = 0;
    t0 = performance.now();
    for await (const e of stream) if (e.type !== 'rollback') n++;
    line(`  ${label}: openChangeStream + checkpoints changes/s`, `${fmt(rate(n, performance.now() - t0))} (${fmt(n)})`);
  } finally {
    rmSync(cpDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const valueBytes = Number(process.env.BENCH_VALUE_BYTES ?? 100);
  const producers = (process.env.BENCH_PRODUCERS ?? 'replay,freshet').split(',');
  line('documents', `${fmt(docs)} x ${valueBytes} bytes, ${VBUCKETS} vbuckets`);
  if (producers.includes('replay')) {
    const replay = await spawnProducer(['bench/tail.ts', '--replay', String(docs), String(valueBytes)], 'replay ready');
    try {
      await measure('replay producer', replay.kv);
    } finally {
      await replay.stop();
    }
  }
  if (producers.includes('freshet')) {
    const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-tail-'));
    try {
      await load(dir, docs, valueBytes);
      const server = await spawnFreshet({ dir });
      try {
        await measure('freshet serve', server.ports.kv);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1]?.endsWith('tail.ts')) {
  if (process.argv[2] === '--replay') await runReplayProducer(Number(process.argv[3]), Number(process.argv[4]));
  else if (process.argv[2] === '--run') await run();
}
