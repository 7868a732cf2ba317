import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, arr, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';

describe('Freshet admin endpoints (/freshet/...)', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
  });
  after(() => s.t.close());

  test('GET vbucket info reports the engine state', async () => {
    const bucket = s.t.server.engine.requireBucket('default');
    const key = 'k1';
    await bucket.set(key, '{"a":1}');
    await bucket.quiesce(); // a plain write is acknowledged before it is persisted
    const vb = bucket.vbucketOf(key);
    const info = obj(await mgmt.json(`/freshet/buckets/default/vbuckets/${vb}`));
    assert.deepEqual(info, JSON.parse(JSON.stringify(bucket.vbucketInfo(vb))));
    assert.equal(info.state, 'active');
    assert.equal(info.highSeqno, 1);
  });

  test('setting a vbucket state changes the engine and the cluster map', async () => {
    const { engine, topology } = s.t.server;
    const rev = topology.rev;
    const r = await mgmt.post('/freshet/buckets/default/vbuckets/5/state', { state: 'dead' });
    assert.equal(r.status, 200, r.text);
    assert.equal(obj(JSON.parse(r.text)).state, 'dead');
    assert.equal(engine.requireBucket('default').vbucketInfo(5).state, 'dead');
    const config = obj(JSON.parse(topology.bucketConfigJson('default')));
    assert.deepEqual(arr(obj(config.vBucketServerMap).vBucketMap)[5], [-1]);
    assert.ok((config.rev as number) > rev);

    const back = await mgmt.post('/freshet/buckets/default/vbuckets/5/state', { state: 'active' });
    const info = obj(JSON.parse(back.text));
    assert.equal(info.state, 'active');
    assert.equal(arr(info.failoverLog).length, 2, 'becoming active starts a new failover branch');
  });

  test('failover with discardAbove drops history and starts a new branch', async () => {
    const bucket = s.t.server.engine.requireBucket('default');
    const key = 'fo';
    const vb = bucket.vbucketOf(key);
    for (let i = 0; i < 3; i++) await bucket.set(key, `{"n":${i}}`);
    const high = bucket.vbucketInfo(vb).highSeqno;
    const before = bucket.vbucketInfo(vb).failoverLog.length;
    const r = await mgmt.post(`/freshet/buckets/default/vbuckets/${vb}/failover`, { discardAbove: String(high - 2) });
    assert.equal(r.status, 200, r.text);
    const info = obj(JSON.parse(r.text));
    assert.equal(info.highSeqno, high - 2);
    assert.equal(arr(info.failoverLog).length, before + 1);
    assert.equal(bucket.vbucketInfo(vb).highSeqno, high - 2);
    const plain = await mgmt.post(`/freshet/buckets/default/vbuckets/${vb}/failover`, {});
    assert.equal(arr(obj(JSON.parse(plain.text)).failoverLog).length, before + 2);
  });

  test('compact purges tombstones older than purgeAgeSeconds', async () => {
    const bucket = s.t.server.engine.requireBucket('default');
    await bucket.set('gone', '{}');
    await bucket.delete('gone');
    const keep = await mgmt.post('/freshet/buckets/default/compact', {});
    assert.equal(keep.status, 200, keep.text);
    assert.equal(obj(JSON.parse(keep.text)).purged, 0, 'the default purge age is 3 days');
    // With age 0 the cutoff is now: every tombstone so far qualifies.
    const purge = await mgmt.post('/freshet/buckets/default/compact', { purgeAgeSeconds: '0' });
    assert.equal(purge.status, 200, purge.text);
    const result = obj(JSON.parse(purge.text));
    assert.ok((result.purged as number) >= 1);
    const vb = bucket.vbucketOf('gone');
    assert.equal(obj(result.purgeSeqnos)[String(vb)], bucket.vbucketInfo(vb).purgeSeqno);
    assert.ok(bucket.vbucketInfo(vb).purgeSeqno > 0);
  });

  test('bad input is a 400 field error, an unknown bucket 404, a bucket user 403', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['/freshet/buckets/default/vbuckets/8/state', { state: 'active' }, 400],
      ['/freshet/buckets/default/vbuckets/-1/state', { state: 'active' }, 400],
      ['/freshet/buckets/default/vbuckets/1/state', { state: 'sleepy' }, 400],
      ['/freshet/buckets/default/vbuckets/1/state', {}, 400],
      ['/freshet/buckets/default/vbuckets/1/failover', { discardAbove: 'x' }, 400],
      ['/freshet/buckets/default/compact', { purgeAgeSeconds: '-5' }, 400],
      ['/freshet/buckets/missing/vbuckets/1/state', { state: 'active' }, 404],
      ['/freshet/buckets/missing/compact', {}, 404],
    ];
    for (const [path, form, status] of cases) {
      const r = await mgmt.post(path, form);
      assert.equal(r.status, status, `${path} ${JSON.stringify(form)}: ${r.text}`);
      if (status === 400) assert.ok('errors' in obj(JSON.parse(r.text)));
    }
    assert.equal(s.t.server.engine.requireBucket('default').vbucketInfo(1).state, 'active');

    await s.t.server.users.setBucketUser('ivy', 'ivy-secret', ['default']);
    const ivy = { username: 'ivy', password: 'ivy-secret' };
    const denied = await mgmt.post('/freshet/buckets/default/vbuckets/1/state', { state: 'dead' }, ivy);
    assert.equal(denied.status, 403);
    assert.equal((await mgmt.get('/freshet/buckets/default/vbuckets/1', ivy)).status, 403);
    assert.equal(s.t.server.engine.requireBucket('default').vbucketInfo(1).state, 'active');
  });
});
