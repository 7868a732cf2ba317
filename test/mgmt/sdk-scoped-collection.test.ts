/**
 * A user scoped to one named collection, through the unmodified SDK: it reads and writes
 * `inventory.airport` and is denied `inventory.hotel` and the default collection.
 *
 * Needs KV routing of named collections (HELLO Collections keys with ids other than 0,
 * GET_COLLECTION_ID for `scope.collection`), which the KV part of issue #14 builds; the
 * authorization itself is tested at raw-frame level in test/kv/scoped-roles.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import couchbase from 'couchbase';
import { isEngineError } from '../../src/engine/errors.js';
import { startMgmtServer } from './rest-helpers.js';

const TIMEOUTS = { kvTimeout: 2000, connectTimeout: 5000, bootstrapTimeout: 5000, managementTimeout: 5000 } as const;

test('SDK: a user scoped to inventory.airport uses it and is denied the other collections', { timeout: 60_000 }, async () => {
  const { t, mgmt } = await startMgmtServer({ numVBuckets: 16 });
  try {
    const bucket = t.server.engine.bucket('default')!;
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    await bucket.createCollection('inventory', 'hotel');
    await bucket.collectionByName('inventory', 'hotel').set('h1', Buffer.from('{"hotel":true}'));
    await bucket.set('d1', Buffer.from('{"default":true}'));
    const put = await mgmt.call('PUT', '/settings/rbac/users/local/airport-app', {
      form: { password: 'airport-secret', roles: 'data_reader[default:inventory:airport],data_writer[default:inventory:airport]' },
    });
    assert.equal(put.status, 200, put.text);

    const cluster = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, {
      username: 'airport-app',
      password: 'airport-secret',
      timeouts: TIMEOUTS,
    });
    try {
      const b = cluster.bucket('default');
      const airport = b.scope('inventory').collection('airport');
      await airport.upsert('a1', { code: 'SFO' });
      assert.deepEqual((await airport.get('a1')).content, { code: 'SFO' });
      assert.deepEqual(JSON.parse(bucket.collectionByName('inventory', 'airport').get('a1').value.toString()), { code: 'SFO' });
      // Invisible collections: UnknownCollection, which the SDK reports as not found or a timeout.
      await assert.rejects(b.scope('inventory').collection('hotel').get('h1'));
      await assert.rejects(b.defaultCollection().get('d1'));
      await assert.rejects(b.scope('inventory').collection('hotel').upsert('h2', { x: 1 }));
      assert.throws(() => bucket.collectionByName('inventory', 'hotel').get('h2'), (e) => isEngineError(e, 'KEY_ENOENT'));
    } finally {
      await cluster.close();
    }
  } finally {
    await t.close();
  }
});
