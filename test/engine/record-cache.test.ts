import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordCache } from '../../src/engine/record-cache.js';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';
import { mulberry32 } from '../helpers/prng.js';

const record = (n: number, size = 40): Buffer => Buffer.alloc(size, n & 0xff);

test('record cache: a kept record is found by its version and epoch only, as a copy', () => {
  const cache = new RecordCache(64 * 1024);
  const r = record(7);
  cache.put(3, 1, 10, r);
  assert.deepEqual(cache.get(3, 1, 10), r);
  assert.equal(cache.get(3, 1, 11), undefined, 'another seqno');
  assert.equal(cache.get(4, 1, 10), undefined, 'another vbucket');
  assert.equal(cache.get(3, 2, 10), undefined, 'another epoch: the vbucket restarted its seqnos');
  const copy = cache.get(3, 1, 10)!;
  copy.fill(0);
  assert.deepEqual(cache.get(3, 1, 10), r, 'the caller owns what it is given');
  const big = 2 ** 40 + 5;
  cache.put(3, 1, big, record(9));
  assert.deepEqual(cache.get(3, 1, big), record(9), 'seqnos beyond 32 bits');
  assert.equal(cache.get(3, 1, 5), undefined, 'the same low 32 bits, another seqno');
});

test('record cache: a view is the kept record in place, counted as a read from memory, and no view of another version', () => {
  const stats = { recordCacheHits: 0, bgFetches: 0 };
  const cache = new RecordCache(64 * 1024, () => undefined, stats);
  cache.put(3, 1, 10, record(7, 33));
  const view = cache.view(3, 1, 10)!;
  assert.deepEqual(view, record(7, 33));
  assert.equal(stats.recordCacheHits, 1);
  assert.equal(cache.view(3, 2, 10), undefined, 'another epoch');
  assert.equal(cache.view(3, 1, 11), undefined, 'another seqno');
  assert.equal(stats.recordCacheHits, 1, 'a view that finds nothing is not a hit (nor a fetch)');
  assert.equal(stats.bgFetches, 0);
});

test('record cache: put returns a hint that finds the record without the index, and a hint is only checked, never trusted', () => {
  const stats = { recordCacheHits: 0, bgFetches: 0 };
  const cache = new RecordCache(4096, () => undefined, stats);
  const hint = cache.put(1, 1, 5, record(5, 40));
  assert.ok(hint > 0);
  assert.deepEqual(cache.view(1, 1, 5, hint), record(5, 40));
  assert.deepEqual(cache.get(1, 1, 5, hint), record(5, 40));
  assert.deepEqual(cache.read(1, 1, 5, true, hint), record(5, 40));
  assert.equal(cache.view(1, 1, 6, hint), undefined, 'the hint of another version');
  assert.equal(cache.view(2, 1, 5, hint), undefined, 'another vbucket');
  const other = cache.put(1, 1, 6, record(6, 40));
  assert.deepEqual(cache.view(1, 1, 6, hint), record(6, 40), 'a wrong hint falls back to the index');
  assert.deepEqual(cache.view(1, 1, 5, other), record(5, 40));
  // Fill the ring past its length: the first record is overwritten, and its hint finds nothing.
  for (let s = 100; s < 300; s++) cache.put(3, 1, s, record(s, 40));
  assert.equal(cache.view(1, 1, 5, hint), undefined, 'an overwritten entry is not read through its hint');
  assert.equal(cache.get(1, 1, 5, hint), undefined);
  assert.equal(cache.put(1, 1, 7, Buffer.alloc(4096)), 0, 'a record too large to keep has no hint');
});

test('record cache: a read misses to the fetch, and keeps what it fetched unless told not to (a version being replaced)', () => {
  const disk = new Map<string, Buffer>([['1:5', record(5)], ['1:6', record(6)]]);
  const stats = { recordCacheHits: 0, bgFetches: 0 };
  const cache = new RecordCache(64 * 1024, (vb, seqno) => disk.get(`${vb}:${seqno}`), stats);
  assert.deepEqual(cache.read(1, 1, 5), record(5));
  assert.deepEqual(cache.read(1, 1, 5), record(5));
  assert.deepEqual(stats, { recordCacheHits: 1, bgFetches: 1 }, 'fetched once, then from memory');
  assert.deepEqual(cache.read(1, 1, 6, false), record(6));
  assert.deepEqual(cache.read(1, 1, 6, false), record(6));
  assert.deepEqual(stats, { recordCacheHits: 1, bgFetches: 3 }, 'not kept: fetched each time');
  assert.equal(cache.read(1, 1, 7), undefined, 'nothing on disk either');
});

test('record cache: a record older than one ring length is gone, and records too large are not kept', () => {
  const cache = new RecordCache(4096);
  cache.put(0, 1, 1, record(1));
  for (let s = 2; s < 200; s++) cache.put(1, 1, s, record(s));
  assert.equal(cache.get(0, 1, 1), undefined, 'overwritten by later records');
  assert.deepEqual(cache.get(1, 1, 199), record(199), 'the newest is kept');
  cache.put(2, 1, 1, record(2, 4096 / 8));
  assert.equal(cache.get(2, 1, 1), undefined, 'an eighth of the ring is too large to keep');
  const none = new RecordCache(0);
  none.put(0, 1, 1, record(1));
  assert.equal(none.get(0, 1, 1), undefined, 'a cache of 0 bytes keeps nothing');
});

test('record cache: against a model, every hit is the exact record, and recent records are found', () => {
  const cache = new RecordCache(16 * 1024);
  const model = new Map<string, Buffer>();
  const random = mulberry32(11);
  const rand = (n: number): number => Math.floor(random() * n);
  let hits = 0;
  const recent: Array<[number, number]> = [];
  for (let step = 0; step < 50_000; step++) {
    const vb = rand(8);
    const seqno = rand(200);
    if (rand(2) === 0) {
      const r = record(step, 1 + rand(120));
      cache.put(vb, 1, seqno, r);
      model.set(`${vb}:${seqno}`, r);
      recent.push([vb, seqno]);
      if (recent.length > 4) recent.shift(); // an index set holds four: the last four are always there
    } else {
      const got = cache.get(vb, 1, seqno);
      // A view (no copy) finds exactly what a copy finds.
      assert.deepEqual(cache.view(vb, 1, seqno), got, `view of vb ${vb} seqno ${seqno}`);
      if (got !== undefined) {
        hits++;
        assert.deepEqual(got, model.get(`${vb}:${seqno}`), `vb ${vb} seqno ${seqno}`);
      }
    }
    for (const [v, s] of recent) assert.deepEqual(cache.get(v, 1, s), model.get(`${v}:${s}`), 'the last four records written are found');
  }
  assert.ok(hits > 1000, `${hits} hits`);
});

let t: TestEngine | undefined;
test.afterEach(async () => {
  await t?.close();
  t = undefined;
});

test('record cache in a bucket: reads are served from memory, and a seqno handed out again after a discard names the new version', async () => {
  // 64 KiB keeps records up to 1 KiB: the second versions (2 KB) are not kept, so their reads
  // would find a record of the discarded versions if seqno epochs did not tell them apart.
  t = await openTestEngine(16, { recordCacheBytes: 64 * 1024 });
  const second = (k: string): string => `second ${k}`.padEnd(2000, '.');
  const byVb = Array.from({ length: 16 }, (): string[] => []);
  for (let i = 0; byVb.some((ks) => ks.length < 4); i++) {
    const k = `k${i}`;
    const list = byVb[t.bucket.vbucketOf(k)]!;
    if (list.length < 4) list.push(k);
  }
  for (const ks of byVb) for (const k of ks) await t.bucket.set(k, `first ${k}`);
  await t.bucket.quiesce();
  const before = { ...t.bucket.stats };
  for (const ks of byVb) for (const k of ks) assert.equal(t.bucket.get(k).value.toString(), `first ${k}`);
  const hits = t.bucket.stats.recordCacheHits - before.recordCacheHits;
  assert.equal(hits + t.bucket.stats.bgFetches - before.bgFetches, 64, 'each read from memory or from disk');
  assert.ok(hits >= 48, `most reads from memory (${hits} of 64; versions hashed alike may evict each other)`);

  // Seqnos 3 and 4 of every vbucket are discarded, then handed out again to other versions.
  for (let vb = 0; vb < 16; vb++) await t.engine.failover('default', vb, { discardAbove: 2 });
  for (const ks of byVb) {
    assert.equal((await t.bucket.set(ks[3]!, second(ks[3]!))).token.seqno, 3);
    assert.equal((await t.bucket.set(ks[2]!, second(ks[2]!))).token.seqno, 4);
  }
  await t.bucket.quiesce();
  for (const ks of byVb) {
    assert.equal(t.bucket.get(ks[0]!).value.toString(), `first ${ks[0]}`);
    assert.equal(t.bucket.get(ks[3]!).value.toString(), second(ks[3]!));
    assert.equal(t.bucket.get(ks[3]!).key.toString(), ks[3]);
    assert.equal(t.bucket.get(ks[2]!).value.toString(), second(ks[2]!));
  }
});

test('record cache of 0 bytes: every read of a persisted version goes to LMDB', async () => {
  t = await openTestEngine(8, { recordCacheBytes: 0 });
  await t.bucket.set('a', 'one');
  await t.bucket.quiesce();
  const before = { ...t.bucket.stats };
  assert.equal(t.bucket.get('a').value.toString(), 'one');
  assert.equal(t.bucket.get('a').value.toString(), 'one');
  assert.equal(t.bucket.stats.bgFetches - before.bgFetches, 2);
  assert.equal(t.bucket.stats.recordCacheHits, before.recordCacheHits);
});
