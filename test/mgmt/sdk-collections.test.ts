/**
 * The unmodified `couchbase` SDK's CollectionManager against the REST face (it maps ns_server's
 * error texts to its error classes), and scoped users through the SDK's user manager and KV.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import couchbase, {
  AuthenticationFailureError,
  CollectionExistsError,
  CollectionNotFoundError,
  InvalidArgumentError,
  Role,
  ScopeExistsError,
  ScopeNotFoundError,
} from 'couchbase';
import { ADMIN } from '../helpers/server.js';
import { startMgmtServer } from './rest-helpers.js';

const TIMEOUTS = { kvTimeout: 2500, connectTimeout: 5000, bootstrapTimeout: 5000, managementTimeout: 5000 } as const;

test('SDK CollectionManager: create, list, drop, and the error classes', { timeout: 60_000 }, async () => {
  const { t } = await startMgmtServer({ numVBuckets: 16 });
  try {
    const cluster = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { ...ADMIN, timeouts: TIMEOUTS });
    try {
      const bucket = cluster.bucket('default');
      await bucket.defaultCollection().upsert('warm-up', { ok: true });
      const mgr = bucket.collections();

      await mgr.createScope('inventory');
      await mgr.createCollection('airport', 'inventory', { maxExpiry: 3600 });
      await mgr.createCollection('hotel', 'inventory');
      const scopes = await mgr.getAllScopes();
      const inventory = scopes.find((s) => s.name === 'inventory');
      assert.deepEqual(scopes.map((s) => s.name), ['_default', 'inventory']);
      assert.deepEqual(
        inventory?.collections.map((c) => [c.name, c.scopeName, c.maxExpiry, c.history]),
        [['airport', 'inventory', 3600, false], ['hotel', 'inventory', 0, false]],
      );
      assert.equal(t.server.engine.bucket('default')!.manifest.collectionByPath('inventory', 'airport')?.maxTTL, 3600);

      await assert.rejects(mgr.createScope('inventory'), ScopeExistsError);
      await assert.rejects(mgr.createCollection('airport', 'inventory'), CollectionExistsError);
      await assert.rejects(mgr.createCollection('x', 'nosuch'), ScopeNotFoundError);
      await assert.rejects(mgr.dropCollection('nosuch', 'inventory'), CollectionNotFoundError);
      await assert.rejects(mgr.dropScope('nosuch'), ScopeNotFoundError);
      await assert.rejects(mgr.createScope('_bad'), InvalidArgumentError);
      await assert.rejects(mgr.createCollection('bad.name', 'inventory'), InvalidArgumentError);

      await mgr.dropCollection('hotel', 'inventory');
      assert.deepEqual((await mgr.getAllScopes()).find((s) => s.name === 'inventory')?.collections.map((c) => c.name), ['airport']);
      await mgr.dropScope('inventory');
      assert.deepEqual((await mgr.getAllScopes()).map((s) => s.name), ['_default']);
      assert.equal(t.server.engine.bucket('default')!.manifest.scopeByName('inventory'), undefined);
    } finally {
      await cluster.close();
    }
  } finally {
    await t.close();
  }
});

test('SDK: users with scoped roles on the default collection read or write as their role allows', { timeout: 60_000 }, async () => {
  const { t } = await startMgmtServer({ numVBuckets: 16 });
  try {
    const admin = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { ...ADMIN, timeouts: TIMEOUTS });
    try {
      await admin.bucket('default').defaultCollection().upsert('doc', { v: 1 });
      const users = admin.users();
      await users.upsertUser({
        username: 'reader',
        password: 'reader-secret',
        roles: [new Role({ name: 'data_reader', bucket: 'default', scope: '_default', collection: '_default' })],
      });
      await users.upsertUser({ username: 'writer', password: 'writer-secret', roles: [new Role({ name: 'data_writer', bucket: 'default', scope: undefined, collection: undefined })] });
      const listed = await users.getAllUsers();
      assert.deepEqual(
        listed.map((u) => [u.username, u.effectiveRoles.map((r) => [r.name, r.bucket, r.scope, r.collection])]),
        [
          ['reader', [['data_reader', 'default', '_default', '_default']]],
          ['writer', [['data_writer', 'default', '*', '*']]],
        ],
      );
    } finally {
      await admin.close();
    }

    const reader = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { username: 'reader', password: 'reader-secret', timeouts: TIMEOUTS });
    try {
      const c = reader.bucket('default').defaultCollection();
      assert.deepEqual((await c.get('doc')).content, { v: 1 });
      await assert.rejects(c.upsert('doc', { v: 2 }), AuthenticationFailureError);
    } finally {
      await reader.close();
    }
    const writer = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { username: 'writer', password: 'writer-secret', timeouts: TIMEOUTS });
    try {
      const c = writer.bucket('default').defaultCollection();
      await c.upsert('doc', { v: 3 });
      await assert.rejects(c.get('doc'), AuthenticationFailureError);
    } finally {
      await writer.close();
    }
    assert.deepEqual(JSON.parse(t.server.engine.bucket('default')!.get('doc').value.toString()), { v: 3 });
  } finally {
    await t.close();
  }
});
