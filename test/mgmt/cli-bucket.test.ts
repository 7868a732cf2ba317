import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runBucketCli as run, startMgmtServer } from './rest-helpers.js';

describe('freshet bucket create|edit|list|delete against a live server', () => {
  test('round trip, with the engine checked at each step', async () => {
    const { t } = await startMgmtServer();
    const conn = ['--mgmt-port', String(t.server.ports.mgmt), '-u', 'Administrator', '-p', 'password'];
    try {
      const { engine } = t.server;
      assert.deepEqual(await run(['create', 'orders', '--vbuckets', '32', ...conn]), ['created bucket orders (32 vbuckets)']);
      assert.equal(engine.bucket('orders')?.numVBuckets, 32);

      const lines = await run(['list', ...conn]);
      assert.deepEqual(lines, [
        `default\t8 vbuckets\tuuid ${engine.requireBucket('default').uuid}`,
        `orders\t32 vbuckets\tuuid ${engine.requireBucket('orders').uuid}`,
      ]);
      const json = JSON.parse((await run(['list', '--json', ...conn])).join('\n')) as { name: string }[];
      assert.deepEqual(json.map((b) => b.name), ['default', 'orders']);

      await assert.rejects(run(['create', 'orders', ...conn]), /could not create bucket orders: HTTP 400: name: Bucket with given name already exists/);
      assert.deepEqual(await run(['create', 'ttl', '--vbuckets', '2', '--max-ttl', '600', ...conn]), ['created bucket ttl (2 vbuckets, max TTL 600s)']);
      assert.equal(engine.bucket('ttl')?.maxTTL, 600);
      assert.deepEqual(await run(['edit', 'ttl', '--max-ttl', '0', ...conn]), ['bucket ttl: max TTL 0s']);
      assert.equal(engine.bucket('ttl')?.maxTTL, 0);
      assert.deepEqual(await run(['create', 'fl', '--vbuckets', '2', '--enable-flush', '1', ...conn]), ['created bucket fl (2 vbuckets, flush enabled)']);
      assert.equal(engine.bucket('fl')?.flushEnabled, true);
      assert.deepEqual(await run(['edit', 'fl', '--enable-flush', '0', ...conn]), ['bucket fl: flush disabled']);
      assert.equal(engine.bucket('fl')?.flushEnabled, false);
      await assert.rejects(run(['edit', 'fl', '--enable-flush', 'yes', ...conn]), /--enable-flush is 0 or 1/);
      await assert.rejects(run(['edit', 'nosuch', '--max-ttl', '5', ...conn]), /no bucket named nosuch/);
      await assert.rejects(run(['edit', 'ttl', '--max-ttl', '-5', ...conn]), /max TTL is an integer from 0 to 2147483647/);
      assert.deepEqual(await run(['delete', 'orders', ...conn]), ['deleted bucket orders']);
      assert.equal(engine.bucket('orders'), undefined);
      await assert.rejects(run(['delete', 'orders', ...conn]), /no bucket named orders/);
    } finally {
      await t.close();
    }
  });

  test('--conflict-resolution lww|seqno (and couchbase-cli timestamp|sequence) sets the bucket conflictResolutionType', async () => {
    const { t } = await startMgmtServer();
    const conn = ['--mgmt-port', String(t.server.ports.mgmt), '-u', 'Administrator', '-p', 'password'];
    try {
      const { engine } = t.server;
      assert.deepEqual(await run(['create', 'xdcr', '--vbuckets', '4', '--conflict-resolution', 'lww', ...conn]), ['created bucket xdcr (4 vbuckets, last-write-wins)']);
      assert.equal(engine.bucket('xdcr')?.conflictResolution, 'lww');
      await run(['create', 'ts', '--vbuckets', '4', '--conflict-resolution', 'timestamp', ...conn]);
      assert.equal(engine.bucket('ts')?.conflictResolution, 'lww');
      await run(['create', 'rev', '--vbuckets', '4', '--conflict-resolution', 'seqno', ...conn]);
      assert.equal(engine.bucket('rev')?.conflictResolution, 'seqno');
      await assert.rejects(run(['create', 'bad', '--conflict-resolution', 'custom', ...conn]), /conflict resolution is seqno \(sequence\) or lww \(timestamp\)/);
      assert.equal(engine.bucket('bad'), undefined);
    } finally {
      await t.close();
    }
  });

  test('a wrong password, an unreachable server and bad arguments fail with a clear message', async () => {
    const { t } = await startMgmtServer();
    const port = String(t.server.ports.mgmt);
    try {
      await assert.rejects(run(['list', '--mgmt-port', port, '-p', 'wrong']), /authentication failed/);
      await assert.rejects(run(['create', 'x', '--vbuckets', '0', '--mgmt-port', port]), /vbuckets is an integer from 1 to 1024/);
      assert.equal(t.server.engine.bucket('x'), undefined);
    } finally {
      await t.close();
    }
    await assert.rejects(run(['list', '--mgmt-port', port]), /cannot reach the cluster manager at http:\/\/127\.0\.0\.1:\d+/);
  });
});
