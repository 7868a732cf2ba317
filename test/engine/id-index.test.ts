/**
 * The by-id index (src/engine/id-index.ts): every key with a current version in byte order,
 * added with the key's first version, removed when its last version is purged or discarded,
 * and rebuilt at warmup when a data directory is opened.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { IdIndex, idCount, idRange } from '../../src/engine/id-index.js';
import { mulberry32 } from '../helpers/prng.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';

const ids = (bucket: Bucket, start?: string, descending = false): string[] =>
  [...idRange(bucket, { ...(start !== undefined ? { start: Buffer.from(start) } : {}), descending })].map((k) => k.toString('latin1'));

describe('by-id index', () => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  test('keys in byte order, once each, tombstones included; ranges from a start key both ways', async () => {
    t = await openTestEngine(16);
    for (const k of ['b', 'a', 'd', 'c', 'B', '\u00e9']) await t.bucket.set(k, '{}');
    await t.bucket.set('a', '{"v":2}');
    await t.bucket.delete('d');
    assert.deepEqual(ids(t.bucket), ['B', 'a', 'b', 'c', 'd', '\u00c3\u00a9']);
    assert.deepEqual(ids(t.bucket, 'b'), ['b', 'c', 'd', '\u00c3\u00a9']);
    assert.deepEqual(ids(t.bucket, 'bb', true), ['b', 'a', 'B']);
    assert.deepEqual(ids(t.bucket, undefined, true).slice(0, 2), ['\u00c3\u00a9', 'd']);
  });

  test('a purged tombstone and a discarded key leave the index; a re-created key comes back', async () => {
    t = await openTestEngine(1);
    for (const k of ['a', 'b', 'c']) await t.bucket.set(k, '{}');
    await t.bucket.delete('a');
    assert.equal((await t.engine.compact('default', -10)).purged, 1);
    await t.bucket.quiesce();
    assert.deepEqual(ids(t.bucket), ['b', 'c']);
    const before = t.bucket.vbucketInfo(0).highSeqno;
    await t.bucket.set('z', '{}');
    await t.engine.failover('default', 0, { discardAbove: before });
    await t.bucket.quiesce();
    assert.deepEqual(ids(t.bucket), ['b', 'c']);
    await t.bucket.set('a', '{}');
    assert.deepEqual(ids(t.bucket), ['a', 'b', 'c']);
  });

  test('a reopened data directory has its index rebuilt at warmup', async () => {
    t = await openTestEngine(8);
    for (let i = 0; i < 50; i++) await t.bucket.set(`k${String(i).padStart(2, '0')}`, '{}');
    await t.engine.close();
    const engine = await Engine.open({ dataDir: t.dataDir, expiryPagerMs: 0 });
    const bucket = engine.bucket('default')!;
    t = { ...t, engine, bucket };
    const all = ids(bucket);
    assert.equal(all.length, 50);
    assert.equal(all[0], 'k00');
    assert.equal(all[49], 'k49');
    await bucket.set('k50', '{}');
    assert.deepEqual(ids(bucket, 'k49'), ['k49', 'k50']);
  });

  test('random adds and removals across many chunks agree with a sorted list, both directions', () => {
    const rnd = mulberry32(7);
    const index = new IdIndex();
    const ref = new Set<string>();
    const word = (): string => String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => 0x20 + Math.floor(rnd() * 0xdf)));
    index.reset(Array.from({ length: 3000 }, word).filter((w) => !ref.has(w) && ref.add(w)));
    for (let step = 0; step < 20_000; step++) {
      const w = word();
      if (rnd() < 0.6) {
        if (!ref.has(w)) index.add(w);
        ref.add(w);
      } else {
        const victim = rnd() < 0.5 ? w : [...ref][Math.floor(rnd() * ref.size)];
        if (victim !== undefined) {
          index.remove(victim);
          ref.delete(victim);
        }
      }
    }
    const sorted = [...ref].sort();
    assert.equal(index.size, sorted.length);
    assert.deepEqual([...index.from(undefined, false)], sorted);
    assert.deepEqual([...index.from(undefined, true)], [...sorted].reverse());
    for (let i = 0; i < 200; i++) {
      const start = word();
      assert.deepEqual([...index.from(start, false)].slice(0, 5), sorted.filter((k) => k >= start).slice(0, 5));
      assert.deepEqual([...index.from(start, true)].slice(0, 5), sorted.filter((k) => k <= start).reverse().slice(0, 5));
    }
  });

  test('range counts kept per chunk agree with a recount after random adds, removals and writes', () => {
    const rnd = mulberry32(11);
    const index = new IdIndex();
    const keys = new Set<string>();
    const live = new Set<string>();
    const word = (): string => String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => 0x61 + Math.floor(rnd() * 20)));
    const counter = {};
    const accept = (k: string): boolean => live.has(k);
    for (let step = 0; step < 30_000; step++) {
      const w = word();
      const r = rnd();
      if (r < 0.4) {
        // A write: a new key is added, an existing one touched; either way it may become live or not.
        if (keys.has(w)) index.touch(w);
        else index.add(w);
        keys.add(w);
        if (rnd() < 0.7) live.add(w);
        else live.delete(w);
      } else if (r < 0.5) {
        index.remove(w);
        keys.delete(w);
        live.delete(w);
      } else if (r < 0.52 || step % 997 === 0) {
        const [a, b] = [word(), word()].sort() as [string, string];
        const expected = [...keys].filter((k) => k >= a && k < b && live.has(k)).length;
        assert.equal(index.countRange(a, b, counter, accept), expected, `[${a}, ${b}) at step ${step}`);
      }
    }
    assert.equal(index.countRange('', '\uffff', counter, accept), live.size);
  });

  test('idCount: live keys of a range that pass the filter, writes and deletes included at once', async () => {
    t = await openTestEngine(8);
    for (const k of ['a', 'b', '_x', 'c', 'd']) await t.bucket.set(k, '{}');
    const visible = (bytes: Uint8Array, start: number): boolean => bytes[start] !== 0x5f;
    const count = (from?: string, to?: string): number =>
      idCount(t!.bucket, { ...(from ? { from: Buffer.from(from) } : {}), ...(to ? { to: Buffer.from(to) } : {}), visible });
    assert.equal(count(), 4);
    assert.equal(count(undefined, 'c'), 2);
    assert.equal(count('b', 'd'), 2);
    await t.bucket.delete('a');
    assert.equal(count(undefined, 'c'), 1);
    await t.bucket.set('a', '{}');
    await t.bucket.set('bb', '{}');
    assert.equal(count(undefined, 'c'), 3);
    assert.equal(count('c'), 2);
  });
});
