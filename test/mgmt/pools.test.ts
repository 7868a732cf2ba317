import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_IMPLEMENTATION_VERSION,
  MGMT_PATHS,
  buildBucketList,
  buildDefaultPool,
  buildPools,
  buildVerboseBucket,
  bucketsVersion,
  clusterCompatibility,
} from '../../src/mgmt/pools.js';
import { buildGlobalConfig, type ClusterConfigInput } from '../../src/topology/cluster-config.js';
import {
  GO_COUCHBASE_BUCKET,
  GO_COUCHBASE_POOL,
  GO_COUCHBASE_POOLS,
  GO_COUCHBASE_POOL_SERVICES,
  goDecodeErrors,
} from './go-json.js';

const CLUSTER = 'c1a55e5c1a55e5c1a55e5c1a55e5c1a5';
const OPTS = { clusterUuid: CLUSTER, localAddr: '127.0.0.1' };

function bucket(name: string, uuid: string, numVBuckets = 4): ClusterConfigInput {
  return {
    rev: 2,
    bucket: { name, uuid, numVBuckets, numReplicas: 0 },
    nodes: [{ kvPort: 11210, mgmtPort: 8091, httpPort: 8092, uptimeSeconds: 42.7, memoryTotal: 8 * 1048576 * 5, memoryFree: 1 }],
    vbucketOwners: new Array<number>(numVBuckets).fill(0),
    thisNode: 0,
  };
}

function wire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** Resolve a path found in one document the way go-couchbase does: it must be absolute. */
function pathOf(uri: string): { path: string; query: URLSearchParams } {
  assert.ok(uri.startsWith('/'), `${uri} is not an absolute path`);
  const url = new URL(uri, 'http://127.0.0.1:8091');
  return { path: url.pathname, query: url.searchParams };
}

describe('/pools', () => {
  test('go-couchbase finds the default pool and decodes every field', () => {
    const pools = buildPools({ clusterUuid: CLUSTER, isAdmin: true });
    assert.deepEqual(goDecodeErrors(wire(pools), GO_COUCHBASE_POOLS), []);
    assert.equal(pools.isAdminCreds, true);
    assert.equal(pools.uuid, CLUSTER);
    assert.equal(pools.implementationVersion, DEFAULT_IMPLEMENTATION_VERSION);
    assert.deepEqual(pools.componentsVersion, { ns_server: DEFAULT_IMPLEMENTATION_VERSION });
    assert.deepEqual(pools.pools, [
      { name: 'default', uri: `/pools/default?uuid=${CLUSTER}`, streamingUri: `/poolsStreaming/default?uuid=${CLUSTER}` },
    ]);
    assert.equal(pathOf(pools.pools[0]!.uri).path, MGMT_PATHS.defaultPool);
    assert.equal(buildPools({ clusterUuid: CLUSTER, isAdmin: false }).isAdminCreds, false);
  });
});

describe('/pools/default', () => {
  test('buckets holds only strings (go-couchbase map[string]string) and nodes decode as Node', () => {
    const pool = buildDefaultPool({ rev: 1, nodes: bucket('default', 'u').nodes, thisNode: 0, bucketNames: ['default'] }, OPTS);
    assert.deepEqual(goDecodeErrors(wire(pool), GO_COUCHBASE_POOL), []);
    assert.ok(Object.values(pool.buckets).every((v) => typeof v === 'string'));
    assert.equal(pool.buckets.terseBucketsBase, '/pools/default/b/');
    assert.equal(pool.buckets.terseStreamingBucketsBase, '/pools/default/bs/');
    const { path, query } = pathOf(pool.buckets.uri);
    assert.equal(path, MGMT_PATHS.buckets);
    assert.equal(query.get('uuid'), CLUSTER);
    assert.match(query.get('v') ?? '', /^\d+$/);

    const [node] = pool.nodes;
    assert.equal(node!.hostname, '127.0.0.1:8091');
    assert.equal(node!.couchApiBase, 'http://127.0.0.1:8092/');
    assert.equal(node!.status, 'healthy');
    assert.equal(node!.clusterMembership, 'active');
    assert.equal(node!.thisNode, true);
    assert.equal(node!.uptime, '42');
    assert.deepEqual(node!.ports, { direct: 11210 });
    assert.deepEqual(node!.services, ['kv']);
    assert.equal(node!.clusterCompatibility, 0x70006); // 7.6 (src/common/version.ts)
    assert.equal(node!.mcdMemoryReserved, 32);
    assert.equal(JSON.stringify(pool).includes('$HOST'), false);
  });

  test('the buckets version changes with the bucket set only', () => {
    const nodes = buildDefaultPool({ rev: 1, nodes: bucket('a', 'u').nodes, bucketNames: [] }, OPTS).nodes;
    assert.equal(bucketsVersion(['a', 'b'], nodes), bucketsVersion(['b', 'a'], nodes));
    assert.notEqual(bucketsVersion(['a'], nodes), bucketsVersion(['a', 'b'], nodes));
  });
});

describe('/pools/default/buckets and /pools/default/buckets/NAME', () => {
  test('verbose bucket decodes as go-couchbase Bucket with the fields cbdatasource uses', () => {
    const b = buildVerboseBucket({ ...bucket('default', 'abcd', 16), ramQuota: 104857600, basicStats: { itemCount: 3 } }, OPTS);
    assert.deepEqual(goDecodeErrors(wire(b), GO_COUCHBASE_BUCKET), []);
    assert.equal(b.name, 'default');
    assert.equal(b.uuid, 'abcd');
    assert.equal(b.bucketType, 'membase');
    assert.equal(b.nodeLocator, 'vbucket');
    assert.equal(b.replicaNumber, 0);
    assert.deepEqual(b.quota, { ram: 104857600, rawRAM: 104857600 });
    assert.deepEqual(b.basicStats, { itemCount: 3 });
    const { path, query } = pathOf(b.uri);
    assert.equal(path, '/pools/default/buckets/default');
    assert.equal(query.get('bucket_uuid'), 'abcd');
    assert.equal(b.vBucketServerMap.hashAlgorithm, 'CRC');
    assert.deepEqual(b.vBucketServerMap.serverList, ['127.0.0.1:11210']);
    assert.equal(b.vBucketServerMap.vBucketMap.length, 16);
    assert.equal(b.nodes.length, 1);
    assert.equal(b.nodes[0]!.couchApiBase, 'http://127.0.0.1:8092/default%2Babcd');
    // go-couchbase HealthyNodes wants status "healthy" and a couchApiBase.
    assert.ok(b.nodes.every((n) => n.status === 'healthy' && (n.couchApiBase ?? '') !== ''));
    assert.equal(JSON.stringify(b).includes('$HOST'), false);
  });

  test('quota and basicStats are left out unless known', () => {
    const b = buildVerboseBucket(bucket('default', 'abcd'), OPTS);
    assert.equal('quota' in b, false);
    assert.equal('basicStats' in b, false);
  });

  test('the list is sorted by name and cbdatasource finds its bucket by name and uuid', () => {
    const list = buildBucketList([bucket('zeta', 'u2'), bucket('alpha', 'u1')], OPTS);
    assert.deepEqual(list.map((b) => b.name), ['alpha', 'zeta']);
    assert.deepEqual(goDecodeErrors(wire(list), { slice: GO_COUCHBASE_BUCKET }), []);
    const found = list.find((b) => b.name === 'zeta');
    assert.equal(found?.uuid, 'u2');
  });

  test('nodeServices decodes as go-couchbase PoolServices', () => {
    const ns = buildGlobalConfig({ rev: 5, nodes: [{ kvPort: 11210, mgmtPort: 8091, httpPort: 8092 }], thisNode: 0 });
    assert.deepEqual(goDecodeErrors(wire(ns), GO_COUCHBASE_POOL_SERVICES), []);
    assert.deepEqual(ns.nodesExt[0]!.services, { kv: 11210, mgmt: 8091, capi: 8092 });
  });
});

describe('version helpers', () => {
  test('clusterCompatibility is major * 0x10000 + minor', () => {
    assert.equal(clusterCompatibility('7.0.0-3016-enterprise'), 458752);
    assert.equal(clusterCompatibility('6.6.2'), 0x60006);
    assert.throws(() => clusterCompatibility('seven'), RangeError);
  });
});
