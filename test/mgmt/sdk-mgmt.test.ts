/**
 * The official `couchbase` SDK's management APIs (bucket manager, user manager, ping) against the
 * REST face. The SDK finds the mgmt service in the bucket config's nodesExt, so a bucket is opened
 * (and one document written, proving the config arrived) before management calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import couchbase, { BucketExistsError, BucketNotFlushableError, BucketNotFoundError, PingState, Role } from 'couchbase';
import { ADMIN } from '../helpers/server.js';
import { startMgmtServer } from './rest-helpers.js';

const TIMEOUTS = { kvTimeout: 3000, connectTimeout: 5000, bootstrapTimeout: 5000, managementTimeout: 5000 } as const;

test('SDK bucket and user managers and ping() work against the REST API', { timeout: 60_000 }, async () => {
  const { t } = await startMgmtServer({ numVBuckets: 16 });
  try {
    const cluster = await couchbase.connect(`couchbase://127.0.0.1:${t.server.ports.kv}`, { ...ADMIN, timeouts: TIMEOUTS });
    try {
      await cluster.bucket('default').defaultCollection().upsert('warm-up', { ok: true });
      const ping = await cluster.ping();
      const mgmt = ping.services.mgmt ?? [];
      assert.equal(mgmt.length, 1);
      assert.equal(mgmt[0]?.state, PingState.Ok);

      const buckets = cluster.buckets();
      const all = await buckets.getAllBuckets();
      assert.deepEqual(all.map((b) => b.name), ['default']);
      await buckets.createBucket({ name: 'sdk-made', ramQuotaMB: 100, bucketType: couchbase.BucketType.Couchbase });
      assert.equal(t.server.engine.bucket('sdk-made')?.numVBuckets, 1024);
      assert.equal((await buckets.getBucket('sdk-made')).name, 'sdk-made');
      await assert.rejects(buckets.createBucket({ name: 'sdk-made', ramQuotaMB: 100 }), BucketExistsError);
      // Flush: refused as ns_server refuses it while flushEnabled is off; once on (updateBucket),
      // getBucket reports it and a flush deletes every document of every collection.
      assert.equal((await buckets.getBucket('sdk-made')).flushEnabled, false);
      await assert.rejects(buckets.flushBucket('sdk-made'), BucketNotFlushableError);
      const made = cluster.bucket('sdk-made').defaultCollection();
      for (let i = 0; i < 50; i++) await made.upsert(`k${i}`, { i });
      await made.getAndLock('k0', 10);
      const settings = await buckets.getBucket('sdk-made');
      settings.flushEnabled = true;
      await buckets.updateBucket(settings);
      assert.equal((await buckets.getBucket('sdk-made')).flushEnabled, true);
      await buckets.flushBucket('sdk-made');
      for (const key of ['k0', 'k1', 'k49']) assert.equal((await made.exists(key)).exists, false, key);
      await made.upsert('after', { ok: true });
      assert.deepEqual((await made.get('after')).content, { ok: true });
      settings.flushEnabled = false;
      await buckets.updateBucket(settings);
      await assert.rejects(buckets.flushBucket('sdk-made'), BucketNotFlushableError);
      await buckets.dropBucket('sdk-made');
      assert.equal(t.server.engine.bucket('sdk-made'), undefined);
      await assert.rejects(buckets.getBucket('sdk-made'), BucketNotFoundError);

      // The view index manager lists design documents from /pools/default/buckets/B/ddocs.
      const auth = { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`, 'content-type': 'application/json' };
      for (const [id, map] of [['_design/test', 'function (doc, meta) { emit(doc.a, null); }'], ['_design/dev_draft', 'function (doc) { emit(1); }']] as const) {
        const put = await fetch(`http://127.0.0.1:${t.server.ports.http}/default/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ views: { byA: { map, reduce: '_count' } } }) });
        assert.equal(put.status, 201);
      }
      const ddocs = await cluster.bucket('default').viewIndexes().getAllDesignDocuments();
      assert.deepEqual(ddocs.map((d) => [d.name, d.namespace, Object.keys(d.views)]), [['test', 'production', ['byA']]]);
      assert.equal(ddocs[0]!.views.byA!.reduce, '_count');

      // The view index manager upserts and drops without revisions (capi's last-write-wins), and a
      // Couchbase map function gets (doc, meta); RequestPlus is stale=false.
      const views = cluster.bucket('default').viewIndexes();
      const byId = (map: string): couchbase.DesignDocument => new couchbase.DesignDocument('sdkview', { ids: new couchbase.DesignDocumentView({ map }) });
      await views.upsertDesignDocument(byId('function (doc, meta) { emit(meta.id, meta.type); }'), couchbase.DesignDocumentNamespace.Development);
      await views.upsertDesignDocument(byId('function (doc, meta) { if (meta.id !== "warm-up") emit(meta.id, meta.type); }'), couchbase.DesignDocumentNamespace.Development);
      await views.publishDesignDocument('sdkview');
      await cluster.bucket('default').defaultCollection().upsert('viewed', { v: 1 });
      const rows = await cluster.bucket('default').viewQuery('sdkview', 'ids', { scanConsistency: couchbase.ViewScanConsistency.RequestPlus });
      assert.deepEqual(rows.rows.map((r) => [r.key, r.value]), [['viewed', 'json']]);
      await views.dropDesignDocument('sdkview', couchbase.DesignDocumentNamespace.Production);
      await views.dropDesignDocument('sdkview', couchbase.DesignDocumentNamespace.Development);
      await assert.rejects(views.dropDesignDocument('sdkview', couchbase.DesignDocumentNamespace.Production), couchbase.DesignDocumentNotFoundError);

      const users = cluster.users();
      await users.upsertUser({ username: 'sdk-user', password: 'sdk-secret', roles: [new Role({ name: 'bucket_full_access', bucket: 'default', scope: undefined, collection: undefined })] });
      assert.equal(t.server.users.canAccessBucket('sdk-user', 'default'), true);
      const listed = await users.getAllUsers();
      assert.deepEqual(
        listed.map((u) => [u.username, u.effectiveRoles.map((r) => [r.name, r.bucket])]),
        [['sdk-user', [['bucket_full_access', 'default']]]],
      );
      // getRoles() reads GET /settings/rbac/roles: the roles a user here can be given (the SDK
      // keeps each role's name and parameters).
      const roles = await users.getRoles();
      assert.deepEqual(
        roles.map((r) => [r.name, r.bucket ?? null, r.scope ?? null]),
        [
          ['admin', null, null],
          ['bucket_full_access', '*', null],
          ['data_reader', '*', '*'],
          ['data_writer', '*', '*'],
        ],
      );
      await users.dropUser('sdk-user');
      assert.equal(t.server.users.has('sdk-user'), false);
    } finally {
      await cluster.close();
    }
  } finally {
    await t.close();
  }
});
