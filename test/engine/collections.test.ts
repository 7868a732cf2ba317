import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import { idRange } from '../../src/engine/id-index.js';
import { purgesInProgress, systemEventOf } from '../../src/engine/bucket-collections.js';
import { MAX_COLLECTIONS, MAX_SCOPES, Manifest, SYSTEM_COLLECTION_ID } from '../../src/engine/manifest.js';
import { ManualClock } from '../helpers/clock.js';
import type { Bucket } from '../../src/engine/bucket.js';
import type { Collection } from '../../src/engine/collection.js';
import type { FollowEvent } from '../../src/engine/types.js';

async function drain(bucket: Bucket, vb: number, collections?: (c: number) => boolean): Promise<FollowEvent[]> {
  const f = bucket.follow(vb, { start: 0, end: bucket.vbucketInfo(vb).persistedSeqno, ...(collections ? { collections } : {}) });
  const out: FollowEvent[] = [];
  for await (const e of f) {
    if (e.type === 'end') break;
    out.push(e);
  }
  return out;
}

/** An engine with `numVBuckets` whose bucket has scope `s` holding collection `c`, closed after `body`. */
async function withCollection(numVBuckets: number, body: (env: { t: TestEngine; b: Bucket; c: Collection }) => Promise<void>): Promise<void> {
  const t = await openTestEngine(numVBuckets);
  try {
    const b = t.bucket;
    await b.createScope('s');
    await b.createCollection('s', 'c');
    await body({ t, b, c: b.collectionByName('s', 'c') });
  } finally {
    await t.close();
  }
}

async function settled(bucket: Bucket): Promise<void> {
  while (purgesInProgress(bucket) > 0) await new Promise((r) => setTimeout(r, 5));
}

describe('collections in the engine', () => {
  test('the initial manifest has _default only; ids start at 8 and the uid grows', async () => {
    const t = await openTestEngine(4);
    try {
      const b = t.bucket;
      assert.deepEqual(b.manifest.toJSON(), { uid: '0', scopes: [{ name: '_default', uid: '0', collections: [{ name: '_default', uid: '0' }] }] });
      await b.createScope('inventory');
      const m = await b.createCollection('inventory', 'airport', { maxTTL: 60 });
      assert.equal(m.uid, 2);
      assert.deepEqual(m.toJSON().scopes[1], { name: 'inventory', uid: '8', collections: [{ name: 'airport', uid: '8', maxTTL: 60 }] });
      await assert.rejects(b.createScope('inventory'), (e: unknown) => isEngineError(e, 'SCOPE_EXISTS'));
      await assert.rejects(b.createScope('_x'), (e: unknown) => isEngineError(e, 'EINVAL'));
      await assert.rejects(b.createCollection('nope', 'c'), (e: unknown) => isEngineError(e, 'UNKNOWN_SCOPE'));
      await assert.rejects(b.createCollection('inventory', 'airport'), (e: unknown) => isEngineError(e, 'COLLECTION_EXISTS'));
    } finally {
      await t.close();
    }
  });

  test('the limits count scopes and collections besides _default, as ns_server\'s num_scopes / num_collections', () => {
    let m = Manifest.initial();
    for (let i = 0; i < MAX_SCOPES; i++) m = m.createScope(`s${i}`).manifest;
    assert.equal(m.scopes.length, MAX_SCOPES + 1, '_default and 1000 more');
    assert.throws(() => m.createScope('one-more'), (e: unknown) => isEngineError(e, 'LIMIT'));
    for (let i = 0; i < MAX_COLLECTIONS; i++) m = m.createCollection('s0', `c${i}`).manifest;
    assert.equal(m.collections.length, MAX_COLLECTIONS + 1);
    assert.throws(() => m.createCollection('s1', 'one-more'), (e: unknown) => isEngineError(e, 'LIMIT'));
    // Dropping _default._default frees no room: it was never counted.
    m = m.dropCollection('_default', '_default').manifest;
    assert.throws(() => m.createCollection('s1', 'one-more'), (e: unknown) => isEngineError(e, 'LIMIT'));
    m = m.dropCollection('s0', 'c0').manifest;
    assert.equal(m.createCollection('s1', 'one-more').manifest.collections.length, MAX_COLLECTIONS);
  });

  test('the same key in two collections holds two documents; each collection lists its own', async () => {
    await withCollection(4, async ({ b, c }) => {
      await b.set('k', '{"where":"default"}');
      await c.set('k', '{"where":"c"}');
      await c.set('other', '1');
      await b.quiesce(); // the change order lists persisted writes only
      assert.equal(b.get('k').value.toString(), '{"where":"default"}');
      assert.equal(c.get('k').value.toString(), '{"where":"c"}');
      assert.equal(c.get('k').collection, c.id);
      assert.deepEqual([...idRange(b)].map(String), ['k']);
      assert.deepEqual([...idRange(b, { collection: c.id })].map(String), ['k', 'other']);
      assert.deepEqual([...idRange(b, { collection: c.id, descending: true })].map(String), ['other', 'k']);
      assert.deepEqual(b.readChanges({ since: 0, collection: c.id }).map((e) => e.item.key.toString()), ['k', 'other']);
      assert.deepEqual(b.readChanges({ since: 0 }).map((e) => e.item.key.toString()), ['k']);
      const counts = b.docCounts();
      assert.equal(counts.docCount, 3);
      assert.equal(counts.byCollection.get(c.id)?.docCount, 2);
    });
  });

  test('system events are in every vbucket history; followers filter by collection', async () => {
    await withCollection(2, async ({ b, c }) => {
      for (let i = 0; i < 20; i++) await c.set(`d${i}`, '1');
      await b.set('plain', '1');
      await b.quiesce();
      for (const vb of [0, 1]) {
        const all = await drain(b, vb, () => true);
        const system = all.filter((e) => e.type === 'mutation' && e.item.collection === SYSTEM_COLLECTION_ID);
        assert.deepEqual(system.map((e) => (e.type === 'mutation' ? systemEventOf(e.item).type : '')), ['create-scope', 'create-collection']);
        const seqnos = all.flatMap((e) => (e.type === 'snapshot' || e.type === 'end' ? [] : [e.item.seqno]));
        assert.deepEqual(seqnos, [...seqnos].sort((x, y) => x - y));
        const legacy = await drain(b, vb);
        assert.ok(legacy.every((e) => e.type === 'snapshot' || (e.type !== 'end' && e.item.collection === 0)));
      }
      let inC = 0;
      for (const vb of [0, 1]) inC += (await drain(b, vb, (x) => x === c.id)).filter((e) => e.type === 'mutation').length;
      assert.equal(inC, 20);
      const high = Math.max(b.collectionHighSeqno(0, c.id), b.collectionHighSeqno(1, c.id));
      assert.ok(high > 0);
    });
  });

  test('compaction purges old document tombstones but keeps a drop, how a late consumer learns of it', async () => {
    await withCollection(4, async ({ t, b }) => {
      await b.set('gone', '1');
      await b.delete('gone');
      await b.dropCollection('s', 'c');
      await settled(b);
      const result = await t.engine.compact('default', -10);
      assert.equal(result.purged, 1, 'the document tombstone');
      const events = (await drain(b, 0, () => true)).flatMap((e) => (e.type === 'snapshot' || e.type === 'end' ? [] : [systemEventOf(e.item).type]));
      assert.deepEqual(events, ['create-scope', 'drop-collection']);
    });
  });

  test('dropping a collection hides its documents at once and purges them; UNKNOWN_COLLECTION carries the uid', async () => {
    await withCollection(4, async ({ b, c }) => {
      for (let i = 0; i < 50; i++) await c.set(`d${i}`, '1');
      await b.dropCollection('s', 'c');
      assert.throws(() => c.get('d1'), (e: unknown) => isEngineError(e, 'UNKNOWN_COLLECTION') && e.context.manifestUid === 3);
      await assert.rejects(c.set('x', '1'), (e: unknown) => isEngineError(e, 'UNKNOWN_COLLECTION'));
      await settled(b);
      assert.equal([...idRange(b, { collection: c.id })].length, 0);
      assert.equal(b.docCounts().docCount, 0);
      // The drop is a tombstone of the create's key: a backfill sees only the drop.
      const events = (await drain(b, 0, () => true)).flatMap((e) => (e.type === 'snapshot' || e.type === 'end' ? [] : [systemEventOf(e.item).type]));
      assert.deepEqual(events, ['create-scope', 'drop-collection']);
      await b.dropScope('s');
      await assert.rejects(b.dropScope('s'), (e: unknown) => isEngineError(e, 'UNKNOWN_SCOPE'));
      await b.dropCollection('_default', '_default');
      assert.throws(() => b.get('anything'), (e: unknown) => isEngineError(e, 'UNKNOWN_COLLECTION'));
    });
  });

  test('maxTTL: a collection caps expiries, the bucket value applies where the collection has none', async () => {
    const clock = new ManualClock();
    const t = await openTestEngine(4, { clock });
    try {
      const b = t.bucket;
      await b.createScope('s');
      await b.createCollection('s', 'short', { maxTTL: 10 });
      const now = Math.floor(clock.now() / 1000);
      const r = await b.collectionByName('s', 'short').set('k', '1');
      assert.ok(Math.abs(r.item.expiry - (now + 10)) <= 1);
      await t.engine.setBucketMaxTTL('default', 100);
      const d = await b.set('k', '1', { expiry: 0 });
      assert.ok(Math.abs(d.item.expiry - (now + 100)) <= 1);
    } finally {
      await t.close();
    }
  });

  test('maxTTL -1 never expires whatever the bucket; modifyCollection applies to later writes only', async () => {
    const clock = new ManualClock();
    const t = await openTestEngine(4, { clock });
    try {
      const b = t.bucket;
      await t.engine.setBucketMaxTTL('default', 100);
      await b.createScope('s');
      await b.createCollection('s', 'forever', { maxTTL: -1 });
      await b.createCollection('s', 'c');
      const now = Math.floor(clock.now() / 1000);
      assert.equal((await b.collectionByName('s', 'forever').set('k', '1')).item.expiry, 0, 'the bucket maxTTL does not apply');
      const before = await b.collectionByName('s', 'c').set('old', '1');
      assert.ok(Math.abs(before.item.expiry - (now + 100)) <= 1, 'maxTTL 0: the bucket maxTTL applies');

      const uid = b.manifest.uid;
      const same = await b.modifyCollection('s', 'c', { maxTTL: 0 });
      assert.equal(same.uid, uid, 'no change, no new manifest');
      const changed = await b.modifyCollection('s', 'c', { maxTTL: 5 });
      assert.equal(changed.uid, uid + 1);
      assert.equal(b.manifest.collectionByPath('s', 'c')?.maxTTL, 5);
      const after = await b.collectionByName('s', 'c').set('new', '1');
      assert.ok(Math.abs(after.item.expiry - (now + 5)) <= 1);
      assert.equal(b.collectionByName('s', 'c').get('old').expiry, before.item.expiry, 'written documents keep their expiry');
      await b.modifyCollection('s', 'c', { maxTTL: -1 });
      assert.equal((await b.collectionByName('s', 'c').set('newer', '1')).item.expiry, 0);
      // The KV manifest carries "never expire" as kv_engine does: a maxTTL present and 0.
      const kvForm = b.manifest.toJSON().scopes.find((sc) => sc.name === 's')?.collections;
      assert.deepEqual(kvForm, [{ name: 'forever', uid: '8', maxTTL: 0 }, { name: 'c', uid: '9', maxTTL: 0 }]);

      await assert.rejects(b.modifyCollection('s', 'nosuch', { maxTTL: 1 }), (e: unknown) => isEngineError(e, 'UNKNOWN_COLLECTION'));
      await assert.rejects(b.modifyCollection('nosuch', 'c', { maxTTL: 1 }), (e: unknown) => isEngineError(e, 'UNKNOWN_SCOPE'));
      await assert.rejects(b.modifyCollection('s', 'c', { maxTTL: -2 }), (e: unknown) => isEngineError(e, 'EINVAL'));
      await assert.rejects(b.createCollection('s', 'bad', { maxTTL: -2 }), (e: unknown) => isEngineError(e, 'EINVAL'));
    } finally {
      await t.close();
    }
  });

  test('a modified maxTTL survives a restart', async () => {
    const t = await openTestEngine(4);
    const dataDir = t.dataDir;
    await t.bucket.createScope('s');
    await t.bucket.createCollection('s', 'c', { maxTTL: 30 });
    await t.bucket.modifyCollection('s', 'c', { maxTTL: -1 });
    await t.engine.close();
    const engine = await Engine.open({ dataDir, expiryPagerMs: 0 });
    try {
      const again = engine.requireBucket('default');
      assert.equal(again.manifest.uid, 3);
      assert.equal(again.manifest.collectionByPath('s', 'c')?.maxTTL, -1);
    } finally {
      await engine.close();
      await t.close().catch(() => undefined);
    }
  });

  test('the manifest, documents and per-collection seqnos survive a restart', async () => {
    const t = await openTestEngine(4);
    const dataDir = t.dataDir;
    const b = t.bucket;
    await b.createScope('s');
    await b.createCollection('s', 'c');
    await b.collectionByName('s', 'c').set('k', 'v1');
    const highs = [0, 1, 2, 3].map((vb) => b.collectionHighSeqno(vb, 8));
    await t.engine.close();
    const engine = await Engine.open({ dataDir, expiryPagerMs: 0 });
    try {
      const again = engine.requireBucket('default');
      assert.equal(again.manifest.uid, 2);
      assert.equal(again.collectionByName('s', 'c').get('k').value.toString(), 'v1');
      assert.deepEqual([0, 1, 2, 3].map((vb) => again.collectionHighSeqno(vb, 8)), highs);
      assert.throws(() => again.get('k'), (e: unknown) => isEngineError(e, 'KEY_ENOENT'));
    } finally {
      await engine.close();
      await t.close().catch(() => undefined);
    }
  });
});
