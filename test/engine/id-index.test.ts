/**
 * The by-id index (src/engine/id-index.ts): every key with a current version in byte order,
 * written with the key's first version, removed when its last version is purged or discarded,
 * and built on open for a data directory that predates it.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { idRange } from '../../src/engine/id-index.js';
import { LmdbStore } from '../../src/store/lmdb-store.js';
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

  test('a data directory without the index gets it built on open', async () => {
    t = await openTestEngine(8);
    for (let i = 0; i < 50; i++) await t.bucket.set(`k${String(i).padStart(2, '0')}`, '{}');
    const dataDir = t.dataDir;
    await t.engine.close();
    // Make the directory look like one written before the index existed.
    const store = new LmdbStore(dataDir);
    const dbs = store.bucketDbs('default');
    await dbs.byId.clearAsync();
    await dbs.vbuckets.remove('id-index');
    assert.equal(dbs.byId.getKeysCount(), 0);
    await store.close();
    const engine = await Engine.open({ dataDir, expiryPagerMs: 0 });
    const bucket = engine.bucket('default')!;
    t = { ...t, engine, bucket };
    const all = ids(bucket);
    assert.equal(all.length, 50);
    assert.equal(all[0], 'k00');
    assert.equal(all[49], 'k49');
    await bucket.set('k50', '{}');
    assert.equal(ids(bucket, 'k49').length, 2);
  });
});
