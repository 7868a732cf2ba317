/**
 * GET_REPLICA (0x83) on a two-node development cluster: a node answers from its replica of a
 * vbucket, NOT_MY_VBUCKET where it holds the active (kv_engine reads replicas only), and
 * KEY_ENOENT for a missing or deleted document; sub-document lookups with the ReplicaRead doc flag
 * likewise.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLookupResults, encodeGetRequest, encodeMultiRequest, Feature, Opcode, Status, SubdocDocFlag, makeRequest } from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import type { TestServer } from '../helpers/server.js';
import { openBucket, expectStatus, type RawKv } from '../kv/raw-client.js';
import { LookupInSpec } from 'couchbase';
import { connectSdk } from '../kv/sdk.js';
import { twoNodes, until, writeMap } from './fixtures/map.js';

const VBS = 8;
const bucketOf = (s: TestServer): Bucket => s.server.engine.requireBucket('default');
const ports = (s: TestServer) => ({ kvPort: s.server.ports.kv, mgmtPort: s.server.ports.mgmt });

function keyIn(bucket: Bucket, vb: number, tag: string): string {
  for (let i = 0; ; i++) if (bucket.vbucketOf(`${tag}-${i}`) === vb) return `${tag}-${i}`;
}

describe('cluster > GET_REPLICA', () => {
  test('replica reads over raw frames and through the SDK', { timeout: 60_000 }, async (t) => {
    const { a, b, file } = await twoNodes(t, VBS);
    writeMap(file, 1, [ports(a), ports(b)], [0, 0, 0, 0, 1, 1, 1, 1]);
    await until(() => a.server.cluster!.lastApply?.rev === 1 && b.server.cluster!.lastApply?.rev === 1, 'the map applied');
    const [ba, bb] = [bucketOf(a), bucketOf(b)];
    const key = keyIn(ba, 3, 'doc');
    const gone = keyIn(ba, 3, 'gone');
    await ba.set(key, '{"on":"a"}', { flags: 0x2000006 });
    await ba.set(gone, '{}');
    await ba.delete(gone);
    await until(() => bb.vbucketInfo(3).highSeqno === ba.vbucketInfo(3).highSeqno, 'the replica of vbucket 3 caught up');

    const onB = await openBucket(b.server.ports.kv);
    const onA = await openBucket(a.server.ports.kv);
    t.after(() => {
      onA.close();
      onB.close();
    });
    const replicaGet = (k: string) => makeRequest(Opcode.GetReplica, { key: Buffer.from(k), vbucket: 3 });
    const hit = expectStatus(await onB.request(replicaGet(key)), Status.Success, 'replica read');
    assert.equal(hit.value.toString(), '{"on":"a"}');
    assert.equal(hit.extras.readUInt32BE(0), 0x2000006);
    assert.equal(hit.cas, ba.get(key).cas);
    expectStatus(await onB.request(replicaGet(gone)), Status.KeyEnoent, 'deleted');
    expectStatus(await onB.request(replicaGet('never-written')), Status.NotMyVbucket, 'a key of another vbucket');
    expectStatus(await onB.request(replicaGet(keyIn(ba, 3, 'missing'))), Status.KeyEnoent, 'missing');
    expectStatus(await onA.request(replicaGet(key)), Status.NotMyVbucket, 'the active is no replica');
    // A sub-document lookup with the ReplicaRead doc flag reads the replica too (lookupInAnyReplica),
    // once the connection negotiated SubdocReplicaRead.
    const replicaLookup = (kv: RawKv) =>
      kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key, vbucket: 3, docFlags: SubdocDocFlag.ReplicaRead, specs: [{ opcode: Opcode.SubdocGet, path: 'on' }] }));
    expectStatus(await replicaLookup(onB), Status.Einval, 'ReplicaRead without the HELLO feature');
    const withFeature = await openBucket(b.server.ports.kv, { features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.SubdocReplicaRead] });
    t.after(() => withFeature.close());
    const looked = expectStatus(await replicaLookup(withFeature), Status.Success, 'replica lookup');
    assert.deepEqual(decodeLookupResults(looked.value).map((r) => r.value.toString()), ['"a"']);
    const onAWithFeature = await openBucket(a.server.ports.kv, { features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.SubdocReplicaRead] });
    t.after(() => onAWithFeature.close());
    expectStatus(await replicaLookup(onAWithFeature), Status.NotMyVbucket, 'replica lookup on the active');
    // A plain GET of the replica vbucket is still NOT_MY_VBUCKET.
    expectStatus(await onB.request(encodeGetRequest({ key, vbucket: 3 })), Status.NotMyVbucket, 'GET on the replica');

    // The configs list no replicas (numReplicas 0, topology.ts), so the SDK's getAllReplicas reads
    // the active only; it still works against the cluster.
    const cluster = await connectSdk(a.server.ports.kv);
    try {
      const coll = cluster.bucket('default').defaultCollection();
      const all = await coll.getAllReplicas(key);
      assert.deepEqual(all.map((r) => [r.isReplica, r.content]), [[false, { on: 'a' }]]);
      const lookups = await coll.lookupInAllReplicas(key, [LookupInSpec.get('on')]);
      assert.deepEqual(lookups.map((r) => r.content[0]!.value), ['a']);
    } finally {
      await cluster.close();
    }
  });
});
