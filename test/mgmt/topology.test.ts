import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startTestServer, tempDir } from '../helpers/server.js';
import { openTestEngine } from '../helpers/engine.js';
import { NodeAddresses } from '../../src/topology/addresses.js';
import { Topology, advertisedHostname, type TopologyChange } from '../../src/topology/topology.js';

interface Config {
  rev: number;
  revEpoch: number;
  nodesExt: { hostname?: string; services: { kv: number } }[];
  vBucketServerMap: { serverList: string[]; vBucketMap: number[][] };
}

function config(json: string): Config {
  return JSON.parse(json) as Config;
}

describe('topology: the advertised cluster map', () => {
  test('rev grows on state changes, failovers, bucket creation and deletion (buckets created later too)', async () => {
    const t = await startTestServer({ numVBuckets: 4 });
    try {
      const { engine, topology } = t.server;
      const changes: TopologyChange[] = [];
      topology.on('change', (c: TopologyChange) => changes.push(c));
      const rev0 = config(topology.bucketConfigJson('default')).rev;
      assert.equal(rev0, topology.rev);

      await engine.setVBucketState('default', 1, 'pending');
      const c1 = config(topology.bucketConfigJson('default'));
      assert.equal(c1.rev, rev0 + 1);
      assert.deepEqual(c1.vBucketServerMap.vBucketMap, [[0], [-1], [0], [0]]);

      await engine.failover('default', 0);
      await engine.createBucket('late', { numVBuckets: 2 });
      await engine.setVBucketState('late', 0, 'replica');
      assert.deepEqual(config(topology.bucketConfigJson('late')).vBucketServerMap.vBucketMap, [[-1], [0]]);
      await engine.deleteBucket('late');
      assert.deepEqual(
        changes.map((c) => [c.reason, c.bucket]),
        [
          ['vbucket-state', 'default'],
          ['failover', 'default'],
          ['bucket-created', 'late'],
          ['vbucket-state', 'late'],
          ['bucket-deleted', 'late'],
        ],
      );
      assert.deepEqual(changes.map((c) => c.rev), [1, 2, 3, 4, 5].map((n) => rev0 + n));
      assert.throws(() => topology.bucketConfigJson('late'), /no bucket named late/);
    } finally {
      await t.close();
    }
  });

  test('revEpoch is raised at every start, so configs after a restart win over older ones', async () => {
    const dataDir = tempDir();
    try {
      const first = await startTestServer({ dataDir, numVBuckets: 2 });
      const a = config(first.server.topology.bucketConfigJson('default'));
      await first.server.close();
      const second = await startTestServer({ dataDir, numVBuckets: 2 });
      const b = config(second.server.topology.bucketConfigJson('default'));
      await second.server.close();
      assert.equal(b.revEpoch, a.revEpoch + 1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a multi-node map: fixed nodes and owners replace "active here"', async () => {
    const t = await startTestServer({ numVBuckets: 4 });
    try {
      const { topology } = t.server;
      const rev = topology.rev;
      topology.setNodes(
        [
          { hostname: '10.0.0.1', kvPort: 11210, mgmtPort: 8091 },
          { hostname: '10.0.0.2', kvPort: 11210, mgmtPort: 8091 },
        ],
        1,
      );
      topology.setOwners('default', [0, 1, 0, 1]);
      const c = config(topology.bucketConfigJson('default'));
      assert.equal(c.rev, rev + 2);
      assert.deepEqual(c.vBucketServerMap.serverList, ['10.0.0.1:11210', '10.0.0.2:11210']);
      assert.deepEqual(c.vBucketServerMap.vBucketMap, [[0], [1], [0], [1]]);
      assert.deepEqual(c.nodesExt.map((n) => n.hostname), ['10.0.0.1', '10.0.0.2']);
      assert.throws(() => topology.setNodes([{ kvPort: 1, mgmtPort: 2 }], 3), RangeError);

      topology.setOwners('default', undefined);
      topology.setNodes(undefined);
      const back = config(topology.bucketConfigJson('default'));
      assert.deepEqual(back.vBucketServerMap.serverList, [`$HOST:${t.server.ports.kv}`]);
      assert.deepEqual(back.vBucketServerMap.vBucketMap, [[0], [0], [0], [0]]);
    } finally {
      await t.close();
    }
  });

  test('stopWatching detaches every engine and bucket listener it added', async () => {
    const te = await openTestEngine(2);
    try {
      const { engine, bucket } = te;
      const counts = (): number[] => [
        engine.listenerCount('bucket-created'),
        engine.listenerCount('bucket-deleted'),
        bucket.listenerCount('vbucket-state'),
        bucket.listenerCount('failover'),
      ];
      const baseline = counts();
      const addresses = new NodeAddresses('127.0.0.1');
      addresses.bound('kv', 11210);
      addresses.bound('mgmt', 8091);
      const topology = new Topology({ engine, addresses });
      await topology.startWatching();
      assert.deepEqual(counts(), baseline.map((n) => n + 1));
      await engine.setVBucketState('default', 0, 'dead');
      assert.equal(topology.rev, 2);
      topology.stopWatching();
      assert.deepEqual(counts(), baseline);
      await engine.setVBucketState('default', 0, 'active');
      assert.equal(topology.rev, 2, 'no longer following');
    } finally {
      await te.close();
    }
  });

  test('the map follows the ports the server records as its listeners bind', async () => {
    const te = await openTestEngine(2);
    try {
      const addresses = new NodeAddresses('127.0.0.1');
      const topology = new Topology({ engine: te.engine, addresses });
      addresses.bound('kv', 11210);
      addresses.bound('mgmt', 8091);
      assert.deepEqual(config(topology.bucketConfigJson('default')).vBucketServerMap.serverList, ['$HOST:11210']);
      addresses.bound('kv', 12000);
      assert.deepEqual(config(topology.bucketConfigJson('default')).vBucketServerMap.serverList, ['$HOST:12000'], 'not a stale cached config');
      assert.equal(addresses.ports.kv, 12000);
      assert.throws(() => addresses.bound('http', 70000), RangeError);
    } finally {
      await te.close();
    }
  });

  test('loopback and wildcard bind addresses are advertised as "$HOST", others as themselves', () => {
    for (const h of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', '']) assert.equal(advertisedHostname(h), undefined, h);
    assert.equal(advertisedHostname('10.1.2.3'), '10.1.2.3');
    assert.equal(advertisedHostname('db.example'), 'db.example');
  });
});
