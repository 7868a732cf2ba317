/**
 * Engine benchmark: durable writes/s with group commit (persistToMajority: acknowledged once on
 * disk, as every write was before issue #16), point reads/s, a full-history scan, a change-order
 * scan, and last plain overwrites/s (acknowledged from memory, timed until the flusher has them
 * on disk too).
 *
 *   BENCH_DOCS   documents written (default 1,000,000), 100-byte values over 1024 vbuckets
 *   BENCH_WINDOW writes kept in flight (default 20,000)
 *   BENCH_DIR    data directory (default a fresh temp dir, removed afterwards)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { fmt, line, rate } from './report.js';
import { windowedWrites } from './engine-load.js';

export async function run(): Promise<void> {
  const docs = Number(process.env.BENCH_DOCS ?? 1_000_000);
  const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'freshet-bench-'));
  const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
  const bucket = await engine.createBucket('bench', { numVBuckets: 1024 });
  const value = Buffer.alloc(100, 'x');
  line('documents', `${fmt(docs)} x 100 bytes, 1024 vbuckets`);

  // Durable writes: a sliding window of writes in flight, as many pipelining clients would keep;
  // each resolves only once its group-commit transaction is synced.
  const window = Number(process.env.BENCH_WINDOW ?? 20_000);
  const persist = { durability: 'persistToMajority' } as const;
  const durable = await windowedWrites(bucket, docs, window, (i) => bucket.set(`key-${i}`, value, persist));
  line('durable writes/s (group commit)', fmt(rate(docs, durable.ms)));

  // Point reads in random order.
  const reads = Math.min(docs, 500_000);
  let t0 = performance.now();
  let x = 12345;
  for (let i = 0; i < reads; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    bucket.get(`key-${x % docs}`);
  }
  line('point reads/s', fmt(rate(reads, performance.now() - t0)));

  // Full history: every vbucket followed from 0 to its high seqno.
  t0 = performance.now();
  let scanned = 0;
  for (let vb = 0; vb < bucket.numVBuckets; vb++) {
    const end = bucket.vbucketInfo(vb).highSeqno;
    if (end === 0) continue;
    const follower = bucket.follow(vb, { start: 0, end, batchSize: 1024 });
    for (let batch = await follower.nextBatch(); batch; batch = await follower.nextBatch()) {
      for (const e of batch) if (e.type === 'mutation') scanned++;
    }
  }
  line('full-history scan items/s', `${fmt(rate(scanned, performance.now() - t0))} (${fmt(scanned)} items)`);

  t0 = performance.now();
  let rows = 0;
  for (let since = 0; ; ) {
    const page = bucket.readChanges({ since, limit: 10_000 });
    if (page.length === 0) break;
    rows += page.length;
    since = page[page.length - 1]!.bucketSeq;
  }
  line('bucket change-order scan rows/s', fmt(rate(rows, performance.now() - t0)));

  // Plain overwrites of the same keys, last, so that the reads and scans above see the bucket the
  // benchmark had before issue #16 (only creates). Acknowledged from memory (bench/engine-load.ts
  // retries a TMPFAIL once the backlog went down); timed to the last ack, then to the disk.
  t0 = performance.now();
  const plain = await windowedWrites(bucket, docs, window, (i) => bucket.set(`key-${i}`, value));
  await bucket.quiesce();
  const plainMs = performance.now() - t0;
  line('plain writes/s (acknowledged)', `${fmt(rate(docs, plain.ms))} (${fmt(plain.tmpfails)} TMPFAIL retries)`);
  line('plain writes/s (on disk)', fmt(rate(docs, plainMs)));

  await engine.close();
  if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });
}
