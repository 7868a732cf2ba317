/** Seeds (dcp.md §4.3, couchbase:// strings) and the vbucket -> node assignment (dcp.md §4.2). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeed, parseSeeds, bucketFromSeeds, seedsWantTls } from '../../src/consumer/seeds.js';
import { assignVBuckets, isNewerMap, isOlderMap, parseClusterMap, sameRouting, splitServer } from '../../src/consumer/cluster-map.js';
import { ConsumerError } from '../../src/consumer/errors.js';

describe('consumer > seeds', () => {
  test('REST and couchbase:// seeds', () => {
    assert.deepEqual(parseSeed('http://10.0.0.1:8091'), [{ kind: 'rest', url: 'http://10.0.0.1:8091', baseUrl: 'http://10.0.0.1:8091', tls: false }]);
    assert.deepEqual(parseSeed('couchbase://h1:12000/beer-sample'), [{ kind: 'kv', url: 'couchbase://h1:12000/beer-sample', host: 'h1', port: 12000, bucket: 'beer-sample', tls: false }]);
    const multi = parseSeed('couchbase://a,b:11999,[::1]:11210/x');
    assert.deepEqual(multi.map((s) => (s.kind === 'kv' ? `${s.host}|${s.port}` : '')), ['a|11210', 'b|11999', '::1|11210']);
    assert.equal(bucketFromSeeds(parseSeeds(['http://a:8091', 'couchbase://b/travel'])), 'travel');
  });

  test('couchbases:// and https:// seeds ask for TLS; couchbases defaults to port 11207', () => {
    assert.deepEqual(parseSeed('couchbases://h1/b'), [{ kind: 'kv', url: 'couchbases://h1/b', host: 'h1', port: 11207, bucket: 'b', tls: true }]);
    assert.deepEqual(parseSeed('couchbases://h1:12007').map((seed) => (seed.kind === 'kv' ? seed.port : 0)), [12007]);
    assert.equal(parseSeed('https://h:18091')[0]!.tls, true);
    assert.equal(seedsWantTls(parseSeeds(['couchbase://a', 'https://b:18091'])), true);
    assert.equal(seedsWantTls(parseSeeds(['couchbase://a', 'http://b:8091'])), false);
  });

  test('over TLS each server moves to the kvSSL port of its nodesExt entry; none means no server', () => {
    const tlsDoc = {
      vBucketServerMap: { serverList: ['$HOST:11210', 'h2:11210'], vBucketMap: [[0], [1]] },
      nodesExt: [{ services: { kv: 11210, kvSSL: 11207 }, thisNode: true }, { hostname: 'h2', services: { kv: 11210 } }],
    };
    const map = parseClusterMap(tlsDoc, '10.0.0.5', { tls: true });
    assert.deepEqual(map.serverList, ['10.0.0.5:11207', '']);
    assert.deepEqual(assignVBuckets(map, undefined).problems, [{ vbucket: 1, problem: 'empty-server' }]);
    assert.deepEqual(parseClusterMap(tlsDoc, '10.0.0.5').serverList, ['10.0.0.5:11210', 'h2:11210'], 'plain by default');
  });

  test('bad seeds are CONSUMER_BAD_SEED', () => {
    for (const bad of ['ftp://x', 'couchbase://', 'couchbase://h:99999/b', 'localhost:8091']) {
      assert.throws(() => parseSeed(bad), (e: unknown) => e instanceof ConsumerError && e.code === 'CONSUMER_BAD_SEED', bad);
    }
    assert.throws(() => parseSeeds([]), ConsumerError);
  });
});

describe('consumer > cluster map', () => {
  const doc = {
    rev: 7,
    revEpoch: 2,
    name: 'default',
    uuid: 'abc',
    vBucketServerMap: { hashAlgorithm: 'CRC', numReplicas: 1, serverList: ['$HOST:12000', 'n2:12002'], vBucketMap: [[0, 1], [1, 0], [-1, 0], [5], []] },
  };

  test('parses serverList and vBucketMap, replacing $HOST with the dialled host', () => {
    const map = parseClusterMap(doc, '10.1.1.1');
    assert.deepEqual(map.serverList, ['10.1.1.1:12000', 'n2:12002']);
    assert.equal(map.rev, 7);
    assert.equal(map.uuid, 'abc');
    assert.deepEqual(parseClusterMap(doc, '::1').serverList[0], '[::1]:12000');
    assert.deepEqual(splitServer('[::1]:12000'), { host: '::1', port: 12000 });
  });

  test('assigns each wanted vbucket to its active node; problems are per vbucket', () => {
    const map = parseClusterMap(doc, 'h');
    const all = assignVBuckets(map, undefined);
    assert.deepEqual([...all.byServer], [['h:12000', [0]], ['n2:12002', [1]]]);
    assert.deepEqual(all.problems, [
      { vbucket: 2, problem: 'no-active' },
      { vbucket: 3, problem: 'bad-server-index' },
      { vbucket: 4, problem: 'empty-row' },
    ]);
    const some = assignVBuckets(map, [1, 9]);
    assert.deepEqual([...some.byServer], [['n2:12002', [1]]]);
    assert.deepEqual(some.problems, [{ vbucket: 9, problem: 'vbucket-id' }]);
  });

  test('configs order by (revEpoch, rev); garbage is CONSUMER_BAD_MAP', () => {
    const a = parseClusterMap(doc);
    assert.equal(isNewerMap({ ...a, rev: 8 }, a), true);
    assert.equal(isNewerMap({ ...a, rev: 100, revEpoch: 1 }, a), false);
    assert.equal(isNewerMap(a, undefined), true);
    assert.equal(isOlderMap({ ...a, rev: 6 }, a), true);
    assert.equal(isOlderMap({ ...a, rev: 0, revEpoch: 0 }, a), false, 'REST documents without rev are taken as they come');
    assert.equal(sameRouting(a, { ...a, rev: 99 }), true);
    assert.equal(sameRouting(a, { ...a, vBucketMap: [[1, 0], ...a.vBucketMap.slice(1)] }), false);
    assert.equal(sameRouting(a, undefined), false);
    for (const bad of [null, {}, { vBucketServerMap: { serverList: [1], vBucketMap: [] } }, { vBucketServerMap: { serverList: [], vBucketMap: [['x']] } }]) {
      assert.throws(() => parseClusterMap(bad), (e: unknown) => e instanceof ConsumerError && e.code === 'CONSUMER_BAD_MAP');
    }
  });
});
