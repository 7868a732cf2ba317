import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_BUCKET_CAPABILITIES,
  HOST_PLACEHOLDER,
  buildGlobalConfig,
  buildTerseBucketConfig,
  couchApiBase,
  hostPort,
  type ClusterConfigInput,
  type TerseBucketConfigJson,
} from '../../src/topology/cluster-config.js';
import { GOCBCORE_CFG_BUCKET, GO_COUCHBASE_POOL_SERVICES, goDecodeErrors } from './go-json.js';

const UUID = 'f00dfeed00000000000000000000beef';

function singleNode(numVBuckets = 1024): ClusterConfigInput {
  return {
    rev: 7,
    revEpoch: 1,
    bucket: { name: 'default', uuid: UUID, numVBuckets, numReplicas: 0 },
    nodes: [{ kvPort: 11210, mgmtPort: 8091, httpPort: 8092 }],
    vbucketOwners: new Array<number>(numVBuckets).fill(0),
    thisNode: 0,
  };
}

/** What goes over the wire: JSON.stringify drops undefined, so test the parsed text. */
function wire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** gocbcore config.go parseConfig + the KV part of BuildRouteConfig (default network). */
function gocbcoreKvEndpoints(config: TerseBucketConfigJson, srcHost: string): string[] {
  const parsed = JSON.parse(JSON.stringify(config).replaceAll('$HOST', srcHost)) as TerseBucketConfigJson;
  const out: string[] = [];
  parsed.nodesExt.forEach((node, i) => {
    const isSeed = node.thisNode === true || (node.hostname ?? '').length === 0;
    let host = isSeed && (node.hostname ?? '') === '' ? srcHost : (node.hostname ?? srcHost);
    if (host.includes(':')) host = `[${host}]`;
    // "KV node present in nodesext but not in nodes" is dropped for couchbase buckets.
    const kv = node.services.kv ?? 0;
    if (kv > 0 && i < parsed.nodes.length) out.push(`couchbase://${host}:${kv}`);
  });
  return out;
}

describe('terse bucket config (GET_CLUSTER_CONFIG / NOT_MY_VBUCKET / /pools/default/b/NAME)', () => {
  test('single local node: every field where ns_server and the parsers expect it', () => {
    const config = buildTerseBucketConfig(singleNode());
    assert.deepEqual(wire(config), config, 'no undefined members');
    assert.deepEqual(goDecodeErrors(wire(config), GOCBCORE_CFG_BUCKET), []);

    assert.equal(config.rev, 7);
    assert.equal(config.revEpoch, 1);
    assert.equal(config.name, 'default');
    assert.equal(config.uuid, UUID);
    assert.equal(config.nodeLocator, 'vbucket');
    assert.equal(config.bucketType, 'membase');
    assert.equal(config.uri, `/pools/default/buckets/default?bucket_uuid=${UUID}`);
    assert.equal(config.streamingUri, `/pools/default/bucketsStreaming/default?bucket_uuid=${UUID}`);
    assert.equal(config.bucketCapabilitiesVer, '');
    assert.deepEqual(config.bucketCapabilities, ['collections', 'durableWrite', 'dcp', 'cbhello', 'touch', 'cccp', 'nodesExt', 'rangeScan', 'subdoc.ReplicaRead']);
    for (const unsupported of ['xattr', 'couchapi', 'xdcrCheckpointing']) {
      assert.equal((config.bucketCapabilities as readonly string[]).includes(unsupported), false, unsupported);
    }

    const vbsm = config.vBucketServerMap;
    assert.equal(vbsm.hashAlgorithm, 'CRC');
    assert.equal(vbsm.numReplicas, 0);
    assert.deepEqual(vbsm.serverList, ['$HOST:11210']);
    assert.equal(vbsm.vBucketMap.length, 1024);
    assert.ok(vbsm.vBucketMap.every((row) => row.length === 1 && row[0] === 0));

    assert.deepEqual(config.nodes, [
      { couchApiBase: `http://$HOST:8092/default%2B${UUID}`, hostname: '$HOST:8091', ports: { direct: 11210 } },
    ]);
    // ns_server leaves hostname out of nodesExt for a node it only knows locally.
    assert.deepEqual(config.nodesExt, [{ services: { kv: 11210, mgmt: 8091, capi: 8092 }, thisNode: true }]);
    assert.deepEqual(config.clusterCapabilitiesVer, [1, 0]);
    assert.deepEqual(config.clusterCapabilities, {});
  });

  test('gocbcore routes KV to the dialled address and the vbucket map indexes serverList', () => {
    const config = buildTerseBucketConfig(singleNode(64));
    assert.deepEqual(gocbcoreKvEndpoints(config, '127.0.0.1'), ['couchbase://127.0.0.1:11210']);
    // go-couchbase GetVBmap: idxs[0] must index serverList.
    for (const row of config.vBucketServerMap.vBucketMap) {
      assert.ok(row[0]! >= 0 && row[0]! < config.vBucketServerMap.serverList.length);
    }
  });

  test('C++ SDK requirements: services on every nodesExt entry, kv port, non-empty vBucketMap', () => {
    for (const n of [1, 64, 1024]) {
      const config = buildTerseBucketConfig(singleNode(n));
      assert.ok(config.nodesExt.every((e) => typeof e.services.kv === 'number' && e.services.kv > 0));
      assert.equal(config.vBucketServerMap.vBucketMap.length, n);
      assert.ok(n > 0 && config.vBucketServerMap.vBucketMap.length > 0);
    }
  });

  test('over HTTP (localAddr) the placeholder is replaced everywhere', () => {
    const config = buildTerseBucketConfig(singleNode(4), { localAddr: '10.0.0.5' });
    const text = JSON.stringify(config);
    assert.equal(text.includes(HOST_PLACEHOLDER), false);
    assert.deepEqual(config.vBucketServerMap.serverList, ['10.0.0.5:11210']);
    assert.equal(config.nodes[0]!.hostname, '10.0.0.5:8091');
    assert.equal(config.nodesExt[0]!.hostname, undefined);
  });

  test('several named nodes, IPv6, replicas and owner spread', () => {
    const config = buildTerseBucketConfig({
      rev: 3,
      bucket: { name: 'travel-sample', uuid: 'abc123', numVBuckets: 8, numReplicas: 1 },
      nodes: [
        { hostname: 'node-a.local', kvPort: 11210, mgmtPort: 8091 },
        { hostname: '::1', kvPort: 11310, mgmtPort: 9091, httpPort: 9092 },
      ],
      vbucketOwners: [0, 1, 0, 1, 0, 1, 0, -1],
      thisNode: 1,
    });
    assert.equal(config.revEpoch, undefined);
    assert.equal('revEpoch' in config, false);
    assert.deepEqual(config.vBucketServerMap.serverList, ['node-a.local:11210', '[::1]:11310']);
    assert.deepEqual(config.vBucketServerMap.vBucketMap, [[0, -1], [1, -1], [0, -1], [1, -1], [0, -1], [1, -1], [0, -1], [-1, -1]]);
    assert.equal(config.nodes.length, config.nodesExt.length);
    assert.deepEqual(config.nodes[0], { hostname: 'node-a.local:8091', ports: { direct: 11210 } });
    assert.equal(config.nodes[1]!.couchApiBase, 'http://[::1]:9092/travel-sample%2Babc123');
    assert.deepEqual(config.nodesExt, [
      { services: { kv: 11210, mgmt: 8091 }, hostname: 'node-a.local' },
      { services: { kv: 11310, mgmt: 9091, capi: 9092 }, thisNode: true, hostname: '::1' },
    ]);
    assert.equal(JSON.stringify(config).includes('$HOST'), false);
    assert.deepEqual(gocbcoreKvEndpoints(config, '127.0.0.1'), ['couchbase://node-a.local:11210', 'couchbase://[::1]:11310']);
    assert.deepEqual(goDecodeErrors(wire(config), GOCBCORE_CFG_BUCKET), []);
  });

  test('requested capabilities come out in ns_server order', () => {
    const input = singleNode(1);
    const config = buildTerseBucketConfig({ ...input, bucket: { ...input.bucket, capabilities: ['xattr', 'dcp', 'cccp'] } });
    assert.deepEqual(config.bucketCapabilities, ['dcp', 'cccp', 'xattr']);
    assert.deepEqual(DEFAULT_BUCKET_CAPABILITIES, ['collections', 'durableWrite', 'dcp', 'cbhello', 'touch', 'cccp', 'nodesExt', 'rangeScan', 'subdoc.ReplicaRead']);
  });

  test('the collections manifest uid follows the capabilities, in lower-case hex (bucket_info_cache.erl)', () => {
    const input = singleNode(1);
    const config = buildTerseBucketConfig({ ...input, bucket: { ...input.bucket, collectionsManifestUid: 0x1b } });
    assert.equal(config.collectionsManifestUid, '1b');
    const keys = Object.keys(config);
    assert.equal(keys.indexOf('collectionsManifestUid'), keys.indexOf('bucketCapabilities') + 1);
    assert.equal('collectionsManifestUid' in buildTerseBucketConfig(input), false, 'absent when the input has none');
  });

  test('invalid input is rejected with ClusterConfigError', () => {
    const base = singleNode(4);
    const bad: [string, ClusterConfigInput][] = [
      ['owners length', { ...base, vbucketOwners: [0, 0, 0] }],
      ['owner range', { ...base, vbucketOwners: [0, 0, 1, 0] }],
      ['bucket name', { ...base, bucket: { ...base.bucket, name: '.hidden' } }],
      ['bucket uuid', { ...base, bucket: { ...base.bucket, uuid: 'a b' } }],
      ['vbuckets', { ...base, bucket: { ...base.bucket, numVBuckets: 0 }, vbucketOwners: [] }],
      ['no nodes', { ...base, nodes: [] }],
      ['port', { ...base, nodes: [{ kvPort: 70000, mgmtPort: 8091 }] }],
      ['hostname', { ...base, nodes: [{ hostname: '$HOST', kvPort: 11210, mgmtPort: 8091 }] }],
      ['thisNode', { ...base, thisNode: 1 }],
      ['rev', { ...base, rev: -1 }],
    ];
    for (const [what, input] of bad) {
      assert.throws(() => buildTerseBucketConfig(input), (e: unknown) => e instanceof Error && e.name === 'ClusterConfigError', what);
    }
  });
});

describe('global config (bucket-less GET_CLUSTER_CONFIG, /pools/default/nodeServices)', () => {
  test('has exactly rev, revEpoch, nodesExt and cluster capabilities', () => {
    const config = buildGlobalConfig({ rev: 1, revEpoch: 1, nodes: [{ kvPort: 11299, mgmtPort: 8091 }], thisNode: 0 });
    assert.deepEqual(wire(config), {
      rev: 1,
      revEpoch: 1,
      nodesExt: [{ services: { kv: 11299, mgmt: 8091 }, thisNode: true }],
      clusterCapabilitiesVer: [1, 0],
      clusterCapabilities: {},
    });
    assert.deepEqual(goDecodeErrors(wire(config), GO_COUCHBASE_POOL_SERVICES), []);
    assert.deepEqual(goDecodeErrors(wire(config), GOCBCORE_CFG_BUCKET), []);
  });
});

describe('helpers', () => {
  test('hostPort brackets IPv6 once; couchApiBase encodes NAME+UUID', () => {
    assert.equal(hostPort('127.0.0.1', 1), '127.0.0.1:1');
    assert.equal(hostPort('fe80::1', 2), '[fe80::1]:2');
    assert.equal(hostPort('[fe80::1]', 2), '[fe80::1]:2');
    assert.equal(couchApiBase('h', 8092), 'http://h:8092/');
    assert.equal(couchApiBase('h', 8092, { name: 'a%b', uuid: 'u' }), 'http://h:8092/a%25b%2Bu');
  });

  test('the Go decoding model itself catches type mismatches', () => {
    assert.deepEqual(goDecodeErrors({ rev: '1' }, GOCBCORE_CFG_BUCKET), ['$.rev: want integer']);
    assert.deepEqual(goDecodeErrors({ nodesExt: [{ services: { kv: 70000 } }] }, GOCBCORE_CFG_BUCKET), [
      '$.nodesExt[0].services.kv: want uint16',
    ]);
    assert.deepEqual(goDecodeErrors({ nodes: [{ uptime: 5 }] }, GOCBCORE_CFG_BUCKET), ['$.nodes[0].uptime: want ",string" integer']);
  });
});
