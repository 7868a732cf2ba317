import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, arr, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';

describe('bucket management over REST', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
  });
  after(() => s.t.close());

  test('create, list, read, delete: the engine really has the bucket', async () => {
    const { engine } = s.t.server;
    const created = await mgmt.post('/pools/default/buckets', { name: 'travel', bucketType: 'couchbase', ramQuotaMB: '256', numVBuckets: '16' });
    assert.equal(created.status, 202, created.text);
    assert.equal(created.headers.location, '/pools/default/buckets/travel');
    assert.equal(engine.bucket('travel')?.numVBuckets, 16);

    const names = arr(await mgmt.json('/pools/default/buckets')).map((b) => obj(b).name);
    assert.deepEqual(names, ['default', 'travel']);
    const travel = obj(await mgmt.json('/pools/default/buckets/travel'));
    assert.equal(travel.uuid, engine.bucket('travel')?.uuid);
    assert.equal(arr(obj(travel.vBucketServerMap).vBucketMap).length, 16);

    const deleted = await mgmt.call('DELETE', '/pools/default/buckets/travel');
    assert.equal(deleted.status, 200);
    assert.equal(engine.bucket('travel'), undefined);
    assert.deepEqual(arr(await mgmt.json('/pools/default/buckets')).map((b) => obj(b).name), ['default']);
    assert.equal((await mgmt.get('/pools/default/buckets/travel')).status, 404);
    const again = await mgmt.call('DELETE', '/pools/default/buckets/travel');
    assert.equal(again.status, 404);
  });

  test('flushEnabled: the flush controller is listed and doFlush deletes every collection\'s documents', async () => {
    const { engine } = s.t.server;
    const bad = await mgmt.post('/pools/default/buckets', { name: 'fl', numVBuckets: '4', flushEnabled: 'yes' });
    assert.deepEqual([bad.status, JSON.parse(bad.text).errors], [400, { flushEnabled: 'flushEnabled can only be 1 or 0' }]);
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'fl', numVBuckets: '4', flushEnabled: '1' })).status, 202);
    assert.equal(obj(obj(await mgmt.json('/pools/default/buckets/fl')).controllers).flush, '/pools/default/buckets/fl/controller/doFlush');
    const bucket = engine.bucket('fl')!;
    await bucket.createScope('s');
    await bucket.createCollection('s', 'c');
    const coll = bucket.collectionByName('s', 'c');
    const dflt = bucket.collection(0);
    for (let i = 0; i < 20; i++) {
      await dflt.set(`d${i}`, '{"a":1}');
      await coll.set(`c${i}`, '{"b":2}');
    }
    await dflt.delete('d0');
    const flushed = await mgmt.call('POST', '/pools/default/buckets/fl/controller/doFlush');
    assert.equal(flushed.status, 200, flushed.text);
    for (let i = 0; i < 20; i++) {
      assert.equal(dflt.lookup(Buffer.from(`d${i}`))?.deleted ?? true, true);
      assert.equal(coll.lookup(Buffer.from(`c${i}`))?.deleted ?? true, true);
    }
    // Turned off by an edit: refused again, and the setting outlives a restart of the engine's list.
    assert.equal((await mgmt.post('/pools/default/buckets/fl', { flushEnabled: '0' })).status, 200);
    assert.equal(obj(obj(await mgmt.json('/pools/default/buckets/fl')).controllers).flush, undefined);
    const refused = await mgmt.call('POST', '/pools/default/buckets/fl/controller/doFlush');
    assert.deepEqual([refused.status, JSON.parse(refused.text)], [400, { _: 'Flush is disabled for the bucket' }]);
    assert.equal((await mgmt.call('DELETE', '/pools/default/buckets/fl')).status, 200);
  });

  test('numVBuckets defaults to 1024 and membase is the old name of couchbase', async () => {
    const r = await mgmt.post('/pools/default/buckets', { name: 'legacy', bucketType: 'membase' });
    assert.equal(r.status, 202, r.text);
    assert.equal(s.t.server.engine.bucket('legacy')?.numVBuckets, 1024);
  });

  test("validation errors use ns_server's {errors:{field:message}} shape with 400", async () => {
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{}, { name: 'Bucket name needs to be specified' }],
      [{ name: '' }, { name: 'Bucket name cannot be empty' }],
      [{ name: 'bad name!' }, { name: 'Bucket name can only contain characters in range A-Z, a-z, 0-9 as well as underscore, period, dash & percent. Consult the documentation.' }],
      [{ name: 'default' }, { name: 'Bucket with given name already exists' }],
      [{ name: 'x', numVBuckets: '0' }, { numVBuckets: 'Number of vBuckets must be an integer from 1 to 1024' }],
      [{ name: 'x', numVBuckets: 'many' }, { numVBuckets: 'Number of vBuckets must be an integer from 1 to 1024' }],
      [{ name: 'x', bucketType: 'memcached' }, { bucketType: 'memcached buckets are not supported' }],
      [{ name: 'x', bucketType: 'nonsense' }, { bucketType: 'invalid bucket type' }],
      // ns_server's name rules, in validate_bucket_name's order
      [{ name: 'x'.repeat(101) }, { name: 'Bucket name cannot exceed 100 characters' }],
      [{ name: '.x' }, { name: 'Bucket name cannot start with dot.' }],
      [{ name: '..' }, { name: 'Bucket name cannot start with dot.' }],
      [{ name: '_users.couch.x' }, { name: 'This name is reserved for the internal use.' }],
      // Settings Freshet ignores are still validated as ns_server does (menelaus_web_buckets).
      [{ name: 'x', ramQuotaMB: 'abc' }, { ramQuota: 'The RAM Quota must be specified and must be a positive integer.' }],
      [{ name: 'x', ramQuotaMB: '-1' }, { ramQuota: 'The RAM Quota cannot be negative.' }],
      [{ name: 'x', ramQuota: '99' }, { ramQuota: 'RAM quota cannot be less than 100 MiB' }],
      [{ name: 'x', replicaNumber: '9' }, { replicaNumber: 'Replica number larger than 3 is not supported.' }],
      [{ name: 'x', replicaNumber: 'one' }, { replicaNumber: 'The replica number must be specified and must be a non-negative integer.' }],
      [{ name: 'x', replicaNumber: '-1' }, { replicaNumber: 'The replica number cannot be negative.' }],
      [{ name: 'x', evictionPolicy: 'bogus' }, { evictionPolicy: "Eviction policy must be either 'valueOnly' or 'fullEviction' for couchbase buckets" }],
      [{ name: 'x', compressionMode: 'x' }, { compressionMode: "compressionMode can be set to 'off', 'passive' or 'active'" }],
      [{ name: 'x', storageBackend: 'x' }, { storage_mode: 'storage backend must be couchstore or magma' }],
      // Every problem at once.
      [{ name: 'x', replicaNumber: '4', maxTTL: '-5' }, { replicaNumber: 'Replica number larger than 3 is not supported.', maxTTL: 'Max TTL must be an integer between 0 and 2147483647' }],
    ];
    for (const [form, errors] of cases) {
      const r = await mgmt.post('/pools/default/buckets', form);
      assert.equal(r.status, 400, JSON.stringify(form));
      assert.deepEqual(JSON.parse(r.text).errors, errors, JSON.stringify(form));
    }
    assert.equal(s.t.server.engine.bucket('x'), undefined);
    // Valid values of those settings are taken (and mean nothing here).
    const ok = { name: 'tuned', numVBuckets: '4', ramQuotaMB: '100', replicaNumber: '3', evictionPolicy: 'fullEviction', compressionMode: 'active', storageBackend: 'magma' };
    assert.equal((await mgmt.post('/pools/default/buckets', ok)).status, 202);
    // An edit validates them too, and changes nothing when one is refused.
    const edit = await mgmt.post('/pools/default/buckets/tuned', { maxTTL: '60', replicaNumber: '4' });
    assert.deepEqual([edit.status, JSON.parse(edit.text).errors], [400, { replicaNumber: 'Replica number larger than 3 is not supported.' }]);
    assert.equal(s.t.server.engine.bucket('tuned')?.maxTTL, 0);
    assert.equal((await mgmt.post('/pools/default/buckets/tuned', { maxTTL: '60', replicaNumber: '1', evictionPolicy: 'valueOnly' })).status, 200);
    assert.equal(s.t.server.engine.bucket('tuned')?.maxTTL, 60);
  });

  test('only the administrator manages buckets', async () => {
    const carol = { username: 'carol', password: 'carol-secret' };
    await s.t.server.users.setBucketUser(carol.username, carol.password, ['default']);
    const create = await mgmt.post('/pools/default/buckets', { name: 'mine' }, carol);
    assert.equal(create.status, 403);
    assert.deepEqual(obj(JSON.parse(create.text)).permissions, ['cluster.buckets!create']);
    const del = await mgmt.call('DELETE', '/pools/default/buckets/default', { creds: carol });
    assert.equal(del.status, 403);
    assert.ok(s.t.server.engine.bucket('default'));
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'mine' }, null)).status, 401);
    assert.equal(s.t.server.engine.bucket('mine'), undefined);
  });

  test('a bucket created over REST is in the KV cluster map with a higher revision', async () => {
    const rev = s.t.server.topology.rev;
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'mapped', numVBuckets: '4' })).status, 202);
    const config = obj(JSON.parse(s.t.server.topology.bucketConfigJson('mapped')));
    assert.equal(config.name, 'mapped');
    assert.ok((config.rev as number) > rev);
    assert.equal(arr(obj(config.vBucketServerMap).vBucketMap).length, 4);
  });
});
