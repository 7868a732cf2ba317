/**
 * The official `couchbase` SDK, unmodified, on named collections over KV (issue #14 part 2): CRUD,
 * counters and expiry in a collection, one key in two collections, and a dropped collection
 * failing fast with CollectionNotFoundError. Scopes and collections are made through the engine
 * API (the REST endpoints are another part of the issue).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CollectionNotFoundError, DocumentExistsError, DocumentNotFoundError } from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { ManualClock } from '../helpers/clock.js';
import { SDK_TEST_TIMEOUT, connectSdk } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };

describe('SDK on named collections', () => {
  test('CRUD, counters, append and touch in a named collection; the same key in two collections', opts, async () => {
    const t = await startTestServer();
    const cluster = await connectSdk(t.server.ports.kv);
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('inventory');
      await bucket.createCollection('inventory', 'airport');
      await bucket.createCollection('inventory', 'hotel');
      const sdkBucket = cluster.bucket('default');
      const airport = sdkBucket.scope('inventory').collection('airport');
      const hotel = sdkBucket.scope('inventory').collection('hotel');
      const dflt = sdkBucket.defaultCollection();

      const up = await airport.upsert('doc', { code: 'SFO' });
      assert.ok(up.cas);
      assert.deepEqual((await airport.get('doc')).content, { code: 'SFO' });
      await assert.rejects(airport.insert('doc', { code: 'LAX' }), DocumentExistsError);
      await airport.replace('doc', { code: 'OAK' });
      assert.deepEqual((await airport.get('doc')).content, { code: 'OAK' });

      // One key, three collections, three documents.
      await hotel.upsert('doc', { name: 'Grand' });
      await dflt.upsert('doc', 'in default');
      assert.deepEqual((await airport.get('doc')).content, { code: 'OAK' });
      assert.deepEqual((await hotel.get('doc')).content, { name: 'Grand' });
      assert.equal((await dflt.get('doc')).content, 'in default');
      const airportId = bucket.manifest.collectionByPath('inventory', 'airport')!.id;
      assert.deepEqual(JSON.parse(bucket.collection(airportId).get('doc').value.toString()), { code: 'OAK' });
      assert.equal(bucket.get('doc').value.toString(), 'in default');

      // Counters live per collection too.
      const binAirport = airport.binary();
      assert.equal((await binAirport.increment('hits', 5, { initial: 10 })).value, 10);
      assert.equal((await binAirport.increment('hits', 5)).value, 15);
      assert.equal((await binAirport.decrement('hits', 3)).value, 12);
      assert.equal((await hotel.binary().increment('hits', 1, { initial: 100 })).value, 100);
      await assert.rejects(dflt.binary().increment('hits', 1), DocumentNotFoundError);
      await hotel.upsert('log', 'b');
      await hotel.binary().append('log', 'c');
      await hotel.binary().prepend('log', 'a');
      assert.equal((await hotel.get('log')).content.toString(), 'abc');

      await airport.touch('doc', 1000);
      assert.ok(bucket.collection(airportId).get('doc').expiry > 0);
      assert.deepEqual((await airport.getAndTouch('doc', 0)).content, { code: 'OAK' });
      assert.equal((await airport.exists('doc')).exists, true);
      assert.equal((await airport.exists('nope')).exists, false);

      // Removing from one collection leaves the others alone.
      await airport.remove('doc');
      await assert.rejects(airport.get('doc'), DocumentNotFoundError);
      assert.deepEqual((await hotel.get('doc')).content, { name: 'Grand' });
      assert.equal((await dflt.get('doc')).content, 'in default');
    } finally {
      await cluster.close();
      await t.close();
    }
  });

  test('expiry in a named collection follows the clock', opts, async () => {
    const clock = new ManualClock();
    const t = await startTestServer({ clock });
    const cluster = await connectSdk(t.server.ports.kv);
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('s1');
      await bucket.createCollection('s1', 'c1');
      const coll = cluster.bucket('default').scope('s1').collection('c1');
      await coll.upsert('short', { v: 1 }, { expiry: 1 });
      await coll.upsert('long', { v: 2 }, { expiry: 3600 });
      assert.deepEqual((await coll.get('short')).content, { v: 1 });
      clock.advance(2100);
      await assert.rejects(coll.get('short'), DocumentNotFoundError);
      assert.deepEqual((await coll.get('long')).content, { v: 2 });
    } finally {
      await cluster.close();
      await t.close();
    }
  });

  test('after a collection is dropped, an operation on it fails with CollectionNotFoundError within 1.5 s', opts, async () => {
    const t = await startTestServer();
    // A long KV timeout, so that only a fast answer (not a timeout) can pass.
    const cluster = await connectSdk(t.server.ports.kv, { kvTimeout: 10_000 });
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('inventory');
      await bucket.createCollection('inventory', 'airport');
      const coll = cluster.bucket('default').scope('inventory').collection('airport');
      await coll.upsert('doc', { v: 1 });
      assert.deepEqual((await coll.get('doc')).content, { v: 1 });

      await bucket.dropCollection('inventory', 'airport');
      for (const op of [() => coll.get('doc'), () => coll.upsert('doc', { v: 2 })]) {
        const started = performance.now();
        await assert.rejects(op(), CollectionNotFoundError);
        const took = performance.now() - started;
        assert.ok(took < 1500, `failed after ${Math.round(took)} ms`);
      }
      // The default collection is unaffected.
      await cluster.bucket('default').defaultCollection().upsert('still', 'here');
      assert.equal(bucket.get('still').value.toString(), 'here');
    } finally {
      await cluster.close();
      await t.close();
    }
  });
});
