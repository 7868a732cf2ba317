import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StreamReader, arr, obj, startMgmtServer } from './rest-helpers.js';

function vbMap(doc: string | undefined): unknown[] {
  assert.ok(doc !== undefined, 'the stream ended early');
  return arr(obj(obj(JSON.parse(doc)).vBucketServerMap).vBucketMap);
}

describe('streaming configs', () => {
  test('/pools/default/bs/NAME pushes a new config after a vbucket state change, separated by 4 newlines', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      const stream = await StreamReader.open(mgmt, '/pools/default/bs/default');
      assert.equal(stream.status, 200);
      assert.equal(stream.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(stream.headers['transfer-encoding'], 'chunked');
      const first = await stream.next();
      assert.equal(first?.includes('$HOST'), false);
      assert.deepEqual(vbMap(first)[3], [0]);
      const rev = obj(JSON.parse(first!)).rev as number;

      const r = await mgmt.post('/freshet/buckets/default/vbuckets/3/state', { state: 'replica' });
      assert.equal(r.status, 200, r.text);
      const second = await stream.next();
      assert.deepEqual(vbMap(second)[3], [-1]);
      assert.deepEqual(vbMap(second)[2], [0]);
      assert.ok((obj(JSON.parse(second!)).rev as number) > rev);

      await mgmt.post('/freshet/buckets/default/vbuckets/3/state', { state: 'active' });
      assert.deepEqual(vbMap(await stream.next())[3], [0]);
      await stream.close();
    } finally {
      await t.close();
    }
  });

  test('/pools/default/bucketsStreaming/NAME streams the verbose bucket and ends when the bucket is deleted', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      await t.server.engine.createBucket('doomed', { numVBuckets: 4 });
      const stream = await StreamReader.open(mgmt, '/pools/default/bucketsStreaming/doomed');
      assert.equal(stream.status, 200);
      const first = obj(JSON.parse((await stream.next())!));
      assert.equal(first.name, 'doomed');
      assert.equal(arr(first.nodes).length, 1);
      const del = await mgmt.call('DELETE', '/pools/default/buckets/doomed');
      assert.equal(del.status, 200);
      assert.equal(await stream.rest(), '', 'the reply ends without another document');
    } finally {
      await t.close();
    }
  });

  test('/poolsStreaming/default pushes the pool when a bucket is created', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      const stream = await StreamReader.open(mgmt, '/poolsStreaming/default');
      const before = obj(obj(JSON.parse((await stream.next())!)).buckets).uri;
      const r = await mgmt.post('/pools/default/buckets', { name: 'fresh', numVBuckets: '2' });
      assert.equal(r.status, 202);
      const after = obj(obj(JSON.parse((await stream.next())!)).buckets).uri;
      assert.notEqual(after, before, 'the buckets uri cache-buster changes with the bucket set');
      await stream.close();
    } finally {
      await t.close();
    }
  });

  test('HEAD on a streaming endpoint answers its headers at once, with no body (ns_server: HEAD is GET without a body)', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      for (const path of ['/pools/default/bs/default', '/poolsStreaming/default', '/pools/default/bucketsStreaming/default']) {
        const r = await mgmt.call('HEAD', path);
        assert.equal(r.status, 200, path);
        assert.equal(r.headers['content-type'], 'application/json; charset=utf-8', path);
        assert.equal(r.text, '', path);
      }
      assert.equal((await mgmt.call('HEAD', '/pools/default/bs/nosuch')).status, 404);
    } finally {
      await t.close();
    }
  });

  test('a bucket user cannot stream another bucket; closing the server ends open streams', async () => {
    const { t, mgmt } = await startMgmtServer();
    const bob = { username: 'bob', password: 'bob-secret' };
    await t.server.users.setBucketUser(bob.username, bob.password, ['default']);
    await t.server.engine.createBucket('private', { numVBuckets: 2 });
    const denied = await StreamReader.open(mgmt, '/pools/default/bs/private', bob);
    assert.equal(denied.status, 403);
    await denied.rest();
    const streams = [
      await StreamReader.open(mgmt, '/pools/default/bs/default', bob),
      await StreamReader.open(mgmt, '/pools/default/bucketsStreaming/default'),
      await StreamReader.open(mgmt, '/poolsStreaming/default'),
    ];
    for (const s of streams) assert.ok((await s.next()) !== undefined);
    await t.close();
    for (const s of streams) {
      // Each reply was ended properly (a cut connection would make the body read fail).
      assert.equal(await s.rest(), '');
    }
  });
});
