/**
 * The official `couchbase` SDK, unmodified, doing basic KV against Freshet
 * (couchbase-sdk-bootstrap.md §4.2 lists the wire form of each call, §4.3 the status → error map).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CasMismatchError, DeltaInvalidError, DocumentExistsError, DocumentNotFoundError, DurabilityLevel, PingState, ServiceType } from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { nowSeconds } from '../../src/engine/expiry.js';
import { ManualClock } from '../helpers/clock.js';
import { SDK_TEST_TIMEOUT, withCollection } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };

describe('SDK document operations', () => {
  test('upsert, get, insert, replace with CAS, remove, and their errors', opts, async () => {
    const t = await startTestServer();
    try {
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        const first = await coll.upsert('doc', { a: 1 });
        assert.ok(first.cas, 'upsert returns a CAS');
        const got = await coll.get('doc');
        assert.deepEqual(got.content, { a: 1 });
        assert.equal(got.cas.toString(), first.cas.toString());

        await assert.rejects(coll.insert('doc', { a: 2 }), DocumentExistsError);
        const inserted = await coll.insert('fresh', 'a string');
        assert.ok(inserted.cas);
        assert.equal((await coll.get('fresh')).content, 'a string');

        const replaced = await coll.replace('doc', { a: 3 }, { cas: got.cas });
        assert.notEqual(replaced.cas.toString(), got.cas.toString(), 'every mutation gets a new CAS');
        // The old CAS no longer matches.
        await assert.rejects(coll.replace('doc', { a: 4 }, { cas: got.cas }), CasMismatchError);
        await assert.rejects(coll.replace('missing', { a: 1 }), DocumentNotFoundError);
        await assert.rejects(coll.remove('doc', { cas: got.cas }), CasMismatchError);
        assert.deepEqual((await coll.get('doc')).content, { a: 3 });

        await coll.remove('doc', { cas: replaced.cas });
        await assert.rejects(coll.get('doc'), DocumentNotFoundError);
        await assert.rejects(coll.remove('doc'), DocumentNotFoundError);
        // A removed document can be inserted again.
        await coll.insert('doc', { again: true });
        assert.deepEqual((await coll.get('doc')).content, { again: true });
      });
    } finally {
      await t.close();
    }
  });

  test('exists, counters, append and prepend', opts, async () => {
    const t = await startTestServer();
    try {
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        await coll.upsert('present', { x: 1 });
        assert.equal((await coll.exists('present')).exists, true);
        assert.equal((await coll.exists('absent')).exists, false);
        await coll.remove('present');
        assert.equal((await coll.exists('present')).exists, false, 'a tombstone does not exist');

        const bin = coll.binary();
        // Without `initial` the SDK sends expiry 0xffffffff: do not create.
        await assert.rejects(bin.increment('n', 1), DocumentNotFoundError);
        assert.equal((await bin.increment('n', 5, { initial: 10 })).value, 10);
        assert.equal((await bin.increment('n', 5)).value, 15);
        assert.equal((await bin.decrement('n', 3)).value, 12);
        // Decrement stops at zero (memcached rule).
        assert.equal((await bin.decrement('n', 100)).value, 0);
        assert.equal((await bin.decrement('m', 1, { initial: 7 })).value, 7);
        assert.equal((await coll.get('n')).content, 0);

        await coll.upsert('s', 'middle');
        await bin.append('s', '-end');
        await bin.prepend('s', 'start-');
        assert.equal((await coll.get('s')).content, 'start-middle-end');
        await assert.rejects(bin.append('nothing', 'x'));
      });
    } finally {
      await t.close();
    }
  });

  test('touch and getAndTouch set the expiry; touch on a missing document fails', opts, async () => {
    const t = await startTestServer();
    try {
      const bucket = t.server.engine.requireBucket('default');
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        await coll.upsert('t', { v: 1 });
        assert.equal(bucket.get('t').expiry, 0);
        const before = nowSeconds();
        await coll.touch('t', 1000);
        const touched = bucket.get('t').expiry;
        assert.ok(touched >= before + 1000 && touched <= nowSeconds() + 1000, `expiry ${touched} is about now + 1000`);

        const gat = await coll.getAndTouch('t', 2000);
        assert.deepEqual(gat.content, { v: 1 });
        const after = bucket.get('t').expiry;
        assert.ok(after >= before + 2000 && after <= nowSeconds() + 2000, `expiry ${after} is about now + 2000`);

        await assert.rejects(coll.touch('missing', 10), DocumentNotFoundError);
        await assert.rejects(coll.getAndTouch('missing', 10), DocumentNotFoundError);
      });
    } finally {
      await t.close();
    }
  });

  test('a document upserted with a 1 s expiry is gone 2 s later; long expiries are kept', opts, async () => {
    const clock = new ManualClock();
    const t = await startTestServer({ clock });
    try {
      const bucket = t.server.engine.requireBucket('default');
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        const before = clock.seconds();
        await coll.upsert('short', { v: 1 }, { expiry: 1 });
        await coll.upsert('hour', { v: 2 }, { expiry: 3600 });
        // Over 30 days the SDK sends an absolute time (the memcached rule, §4.1).
        await coll.upsert('months', { v: 3 }, { expiry: 60 * 86400 });
        assert.deepEqual((await coll.get('short')).content, { v: 1 });

        const hour = bucket.get('hour').expiry;
        assert.ok(hour >= before + 3600 && hour <= clock.seconds() + 3600, `expiry ${hour} is about now + 1 h`);
        const months = bucket.get('months').expiry;
        assert.ok(Math.abs(months - (before + 60 * 86400)) <= 2, `expiry ${months} is about now + 60 days`);

        // Expiry has one-second resolution: 2.1 s later a 1 s expiry has certainly passed.
        clock.advance(2100);
        await assert.rejects(coll.get('short'), DocumentNotFoundError);
        assert.equal((await coll.exists('short')).exists, false);
        assert.deepEqual((await coll.get('hour')).content, { v: 2 });
      });
    } finally {
      await t.close();
    }
  });

  test('binary and large documents, durability and preserve-expiry frames, a non-numeric counter', opts, async () => {
    const t = await startTestServer();
    try {
      const bucket = t.server.engine.requireBucket('default');
      await withCollection(t.server.ports.kv, 'default', async (coll, cluster) => {
        const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
        await coll.upsert('bin', bytes);
        assert.deepEqual((await coll.get('bin')).content, bytes);

        const large = { text: 'x'.repeat(2 * 1024 * 1024) };
        await coll.upsert('large', large);
        assert.deepEqual((await coll.get('large')).content, large);

        // Frames the SDK sends with magic 0x08 whether or not alt requests were granted (§0 item 1).
        await coll.upsert('durable', { d: 1 }, { durabilityLevel: DurabilityLevel.Majority });
        assert.deepEqual((await coll.get('durable')).content, { d: 1 });
        await coll.upsert('keep', { v: 1 }, { expiry: 5000 });
        const expiry = bucket.get('keep').expiry;
        await coll.upsert('keep', { v: 2 }, { preserveExpiry: true });
        assert.equal(bucket.get('keep').expiry, expiry);
        assert.deepEqual((await coll.get('keep')).content, { v: 2 });

        await coll.upsert('word', 'not a number');
        await assert.rejects(coll.binary().increment('word', 1), DeltaInvalidError);

        // KV ping is a NOOP on the bucket connection.
        const ping = await cluster.bucket('default').ping({ serviceTypes: [ServiceType.KeyValue] });
        const kv = ping.services[ServiceType.KeyValue] ?? [];
        assert.ok(kv.length > 0 && kv.every((e) => e.state === PingState.Ok), JSON.stringify(ping.services));
      });
    } finally {
      await t.close();
    }
  });
});
