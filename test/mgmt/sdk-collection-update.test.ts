/**
 * The unmodified `couchbase` SDK's CollectionManager.updateCollection and maxExpiry -1 (Couchbase
 * 7.6: "never expire"), as couchnode's own collectionmanager tests use them: the value set is the
 * value `getAllScopes` reads back, and KV writes get the collection's limit from then on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import couchbase, { CollectionNotFoundError, InvalidArgumentError } from 'couchbase';
import { ADMIN } from '../helpers/server.js';
import { startMgmtServer } from './rest-helpers.js';

const TIMEOUTS = { kvTimeout: 2500, connectTimeout: 5000, bootstrapTimeout: 5000, managementTimeout: 5000 } as const;

test('SDK CollectionManager: maxExpiry -1, updateCollection, and what KV writes get', { timeout: 60_000 }, async () => {
  const { t } = await startMgmtServer({ numVBuckets: 16 });
  try {
    await t.server.engine.setBucketMaxTTL('default', 1000);
    const cluster = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { ...ADMIN, timeouts: TIMEOUTS });
    try {
      const bucket = cluster.bucket('default');
      await bucket.defaultCollection().upsert('warm-up', { ok: true });
      const mgr = bucket.collections();
      const maxExpiry = async (name: string): Promise<number | undefined> =>
        (await mgr.getAllScopes()).find((s) => s.name === 'app')?.collections.find((c) => c.name === name)?.maxExpiry;

      await mgr.createScope('app');
      await mgr.createCollection('forever', 'app', { maxExpiry: -1 });
      await mgr.createCollection('plain', 'app', {});
      assert.equal(await maxExpiry('forever'), -1);
      assert.equal(await maxExpiry('plain'), 0);

      await mgr.updateCollection('plain', 'app', { maxExpiry: 5 });
      assert.equal(await maxExpiry('plain'), 5);
      await mgr.updateCollection('plain', 'app', { maxExpiry: 0 });
      assert.equal(await maxExpiry('plain'), 0);
      await mgr.updateCollection('plain', 'app', { maxExpiry: -1 });
      assert.equal(await maxExpiry('plain'), -1);
      await assert.rejects(mgr.updateCollection('plain', 'app', { maxExpiry: -20 }), InvalidArgumentError);
      await assert.rejects(mgr.createCollection('bad', 'app', { maxExpiry: -20 }), InvalidArgumentError);
      await assert.rejects(mgr.updateCollection('nosuch', 'app', { maxExpiry: 1 }), CollectionNotFoundError);

      // A never-expire collection ignores the bucket's maxTTL; one set to 30 caps writes at 30 s.
      const forever = bucket.scope('app').collection('forever');
      await forever.upsert('k', { v: 1 });
      assert.equal((await forever.get('k', { withExpiry: true })).expiryTime ?? 0, 0, 'no expiry');
      await mgr.updateCollection('forever', 'app', { maxExpiry: 30 });
      await forever.upsert('k2', { v: 1 });
      const capped = (await forever.get('k2', { withExpiry: true })).expiryTime;
      assert.ok(capped !== undefined && capped > 0 && capped - Date.now() / 1000 <= 31, `expiry ${String(capped)}`);
      assert.equal((await forever.get('k', { withExpiry: true })).expiryTime ?? 0, 0, 'a document already written keeps its expiry');
    } finally {
      await cluster.close();
    }
  } finally {
    await t.close();
  }
});
