import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { startTestServer, tempDir } from '../helpers/server.js';
import { openTestEngine } from '../helpers/engine.js';
import { UserRegistry } from '../../src/auth/credentials.js';
import { AuthThrottle } from '../../src/auth/throttle.js';
import type { ServerContext } from '../../src/server/context.js';
import { Topology, advertisedHostname, clusterConfigJson, topologyFor, type TopologyChange } from '../../src/mgmt/topology.js';

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
      const { engine, context } = t.server;
      const changes: TopologyChange[] = [];
      topologyFor(context).on('change', (c: TopologyChange) => changes.push(c));
      const rev0 = config(clusterConfigJson(context, 'default')).rev;
      assert.equal(rev0, context.configRev);

      await engine.setVBucketState('default', 1, 'pending');
      const c1 = config(clusterConfigJson(context, 'default'));
      assert.equal(c1.rev, rev0 + 1);
      assert.deepEqual(c1.vBucketServerMap.vBucketMap, [[0], [-1], [0], [0]]);

      await engine.failover('default', 0);
      await engine.createBucket('late', { numVBuckets: 2 });
      await engine.setVBucketState('late', 0, 'replica');
      assert.deepEqual(config(clusterConfigJson(context, 'late')).vBucketServerMap.vBucketMap, [[-1], [0]]);
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
      assert.throws(() => clusterConfigJson(context, 'late'), /no bucket named late/);
    } finally {
      await t.close();
    }
  });

  test('revEpoch is raised at every start, so configs after a restart win over older ones', async () => {
    const dataDir = tempDir();
    try {
      const first = await startTestServer({ dataDir, numVBuckets: 2 });
      const a = config(clusterConfigJson(first.server.context, 'default'));
      await first.server.close();
      const second = await startTestServer({ dataDir, numVBuckets: 2 });
      const b = config(clusterConfigJson(second.server.context, 'default'));
      await second.server.close();
      assert.equal(b.revEpoch, a.revEpoch + 1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a multi-node map: fixed nodes and owners replace "active here"', async () => {
    const t = await startTestServer({ numVBuckets: 4 });
    try {
      const { context } = t.server;
      const topology = topologyFor(context);
      const rev = context.configRev;
      topology.setNodes(
        [
          { hostname: '10.0.0.1', kvPort: 11210, mgmtPort: 8091 },
          { hostname: '10.0.0.2', kvPort: 11210, mgmtPort: 8091 },
        ],
        1,
      );
      topology.setOwners('default', [0, 1, 0, 1]);
      const c = config(clusterConfigJson(context, 'default'));
      assert.equal(c.rev, rev + 2);
      assert.deepEqual(c.vBucketServerMap.serverList, ['10.0.0.1:11210', '10.0.0.2:11210']);
      assert.deepEqual(c.vBucketServerMap.vBucketMap, [[0], [1], [0], [1]]);
      assert.deepEqual(c.nodesExt.map((n) => n.hostname), ['10.0.0.1', '10.0.0.2']);
      assert.throws(() => topology.setNodes([{ kvPort: 1, mgmtPort: 2 }], 3), RangeError);

      topology.setOwners('default', undefined);
      topology.setNodes(undefined);
      const back = config(clusterConfigJson(context, 'default'));
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
      const ctx: ServerContext = {
        engine,
        users: new UserRegistry({ load: () => [], save: async () => undefined }),
        authThrottle: new AuthThrottle(undefined),
        logger: pino({ level: 'silent' }),
        host: '127.0.0.1',
        ports: { kv: 11210, mgmt: 8091, http: 0 },
        configRev: 1,
      };
      const topology = new Topology(ctx);
      await topology.startWatching();
      assert.deepEqual(counts(), baseline.map((n) => n + 1));
      await engine.setVBucketState('default', 0, 'dead');
      assert.equal(ctx.configRev, 2);
      topology.stopWatching();
      assert.deepEqual(counts(), baseline);
      await engine.setVBucketState('default', 0, 'active');
      assert.equal(ctx.configRev, 2, 'no longer following');
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
