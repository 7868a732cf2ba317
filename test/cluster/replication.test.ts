/**
 * Two in-process nodes sharing one map file: every vbucket a node does not own is a replica fed
 * over DCP from its owner with the active's metadata and failover log, and a move promotes the
 * replica with a failover entry at its high seqno (so the history continues under the old uuid).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.js';
import type { Bucket } from '../../src/engine/bucket.js';
import type { Item } from '../../src/engine/types.js';
import { runExpiryPager } from '../../src/engine/maintenance.js';
import { twoNodes, until, writeMap } from './fixtures/map.js';

const VBS = 8;


const bucketOf = (s: TestServer): Bucket => s.server.engine.requireBucket('default');
const applied = (rev: number, ...nodes: TestServer[]): boolean => nodes.every((s) => s.server.cluster!.lastApply?.rev === rev);
const ports = (s: TestServer) => ({ kvPort: s.server.ports.kv, mgmtPort: s.server.ports.mgmt });

/** The replica of `vb` on `to` has everything of the active on `from`, under the same failover log. */
function caughtUp(from: Bucket, to: Bucket, vb: number): boolean {
  const [a, r] = [from.vbucketInfo(vb), to.vbucketInfo(vb)];
  return r.persistedSeqno === a.highSeqno && JSON.stringify(r.failoverLog) === JSON.stringify(a.failoverLog);
}

/** Every version of a vbucket, in seqno order, without the per-node change sequence. */
function versions(bucket: Bucket, vb: number): Omit<Item, 'bucketSeq'>[] {
  const out: Omit<Item, 'bucketSeq'>[] = [];
  for (const { item } of bucket.readChanges({ since: 0 })) {
    if (item.vbucket !== vb) continue;
    const { bucketSeq: _ignored, ...rest } = item;
    out.push(rest);
  }
  return out.sort((x, y) => x.seqno - y.seqno);
}

/** A key of vbucket `vb`. */
function keyIn(bucket: Bucket, vb: number, tag: string): string {
  for (let i = 0; ; i++) if (bucket.vbucketOf(`${tag}-${i}`) === vb) return `${tag}-${i}`;
}

describe('cluster > intra-cluster replication', () => {
  test('replicas keep the active metadata; a move promotes the replica without a new history', async (t) => {
    const { a, b, file } = await twoNodes(t, VBS);
    const [ba, bb] = [bucketOf(a), bucketOf(b)];
    writeMap(file, 1, [ports(a), ports(b)], [0, 0, 0, 0, 1, 1, 1, 1]);
    await until(() => applied(1, a, b), 'the map applied on both nodes');
    const states = (bucket: Bucket): string[] => Array.from({ length: bucket.numVBuckets }, (_, vb) => bucket.vbucketState(vb));
    assert.deepEqual(states(ba), ['active', 'active', 'active', 'active', 'replica', 'replica', 'replica', 'replica']);
    assert.deepEqual(states(bb), ['replica', 'replica', 'replica', 'replica', 'active', 'active', 'active', 'active']);
    assert.equal(a.server.topology.revEpoch, 1, 'the map rev is the advertised revEpoch');

    // Every kind of change on vbucket 3 (owned by node 0): flags, expiry, xattrs, delete, expiry tombstone.
    const k = (tag: string): string => keyIn(ba, 3, tag);
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    await ba.set(k('plain'), '{"a":1}', { flags: 0x2000006 });
    await ba.set(k('ttl'), 'raw bytes', { expiry, flags: 7 });
    await ba.set(k('xattr'), '{"b":2}', { xattrs: Buffer.from('{"_sync":{"rev":"1-a"},"user":[1,2]}') });
    await ba.set(k('gone'), '{"c":3}', { xattrs: Buffer.from('{"_sync":{"rev":"1-b"}}') });
    await ba.delete(k('gone'), { xattrs: Buffer.from('{"_sync":{"rev":"2-b","deleted":true}}') });
    await ba.set(k('plain'), '{"a":2}');
    await ba.set(k('expiring'), '{"e":5}', { expiry: expiry - 3000 });
    await ba.quiesce(); // the pager reads the expiry index on disk
    assert.equal(await runExpiryPager(ba, expiry - 2000), 1, 'an expiration tombstone (DCP_EXPIRATION)');
    for (let i = 0; i < 200; i++) await ba.set(k(`bulk${i % 50}`), JSON.stringify({ i }));
    await until(() => caughtUp(ba, bb, 3), 'the replica of vbucket 3 caught up');

    const active = versions(ba, 3);
    assert.ok(active.length >= 55);
    assert.ok(active.some((v) => v.expired) && active.some((v) => v.deleted && !v.expired && v.xattrs !== null));
    assert.deepEqual(versions(bb, 3), active, 'same keys, seqnos, CAS, rev seqnos, flags, expiry, datatype, xattrs, tombstones');
    const expectedHigh = ba.vbucketInfo(3).highSeqno;
    const oldLog = ba.vbucketInfo(3).failoverLog;

    // Move vbucket 3 to node 1.
    writeMap(file, 2, [ports(a), ports(b)], [0, 0, 0, 1, 1, 1, 1, 1]);
    await until(() => applied(2, a, b), 'vbucket 3 moved');
    const promoted = bb.vbucketInfo(3);
    assert.equal(promoted.highSeqno, expectedHigh);
    assert.equal(promoted.failoverLog[0]!.seqno, expectedHigh, 'the new branch starts at the promoted high seqno');
    assert.deepEqual(promoted.failoverLog.slice(1), oldLog, 'the old history is kept under it');
    const decision = bb.vbucket(3).failoverLog.needsRollback({
      start: expectedHigh, highSeqno: promoted.highSeqno, uuid: oldLog[0]!.uuid, snapStart: expectedHigh, snapEnd: expectedHigh, purgeSeqno: 0,
    });
    assert.deepEqual(decision, { rollback: false }, 'a consumer resuming with the old uuid continues');

    await assert.rejects(ba.set(k('late'), '{}'), { code: 'ENGINE_NOT_MY_VBUCKET' });
    const r = await bb.set(k('after-move'), '{"d":4}');
    assert.equal(r.token.seqno, expectedHigh + 1);
    assert.ok(r.cas > active.at(-1)!.cas, 'the promoted copy hands out larger CAS values');

    // Node 0 now replicates vbucket 3 from node 1 and continues its history without a reset.
    await until(() => caughtUp(bb, ba, 3), 'node 0 follows vbucket 3 from node 1');
    assert.deepEqual(versions(ba, 3), versions(bb, 3));
    assert.equal(b.server.cluster!.replicaFeeds.stats().rollbacks + a.server.cluster!.replicaFeeds.stats().rollbacks, 0);
  });

  test('collections replicate: documents keep their collection, system events travel, and both nodes converge on one manifest', async (t) => {
    const { a, b, file } = await twoNodes(t, VBS);
    const [ba, bb] = [bucketOf(a), bucketOf(b)];
    writeMap(file, 1, [ports(a), ports(b)], [0, 0, 0, 0, 1, 1, 1, 1]);
    await until(() => applied(1, a, b), 'the map applied on both nodes');
    await ba.createScope('inventory');
    await ba.createCollection('inventory', 'airport', { maxTTL: 3600 });
    await until(() => bb.manifest.uid === 2, 'node 1 adopted the manifest from the replicated system events');
    assert.deepEqual(bb.manifest.toJSON(), ba.manifest.toJSON());

    const onA = keyIn(ba, 3, 'a');
    const onB = keyIn(ba, 5, 'b');
    await ba.collectionByName('inventory', 'airport').set(onA, '{"from":"a"}');
    await bb.collectionByName('inventory', 'airport').set(onB, '{"from":"b"}');
    await ba.set(onA, '{"default":true}');
    await until(() => caughtUp(ba, bb, 3) && caughtUp(bb, ba, 5), 'replicas caught up');
    const replicaCopy = bb.collectionByName('inventory', 'airport').lookup(Buffer.from(onA));
    assert.equal(replicaCopy?.value.toString(), '{"from":"a"}');
    assert.equal(replicaCopy?.collection, 8);
    assert.equal(bb.lookup(Buffer.from(onA))?.value.toString(), '{"default":true}', 'the same key in the default collection stays apart');
    assert.equal(ba.collectionByName('inventory', 'airport').lookup(Buffer.from(onB))?.value.toString(), '{"from":"b"}');
    assert.equal(bb.collectionHighSeqno(3, 8), ba.collectionHighSeqno(3, 8));

    // A promoted replica serves the collection; a drop on either node reaches the other.
    writeMap(file, 2, [ports(a), ports(b)], [0, 0, 0, 1, 1, 1, 1, 1]);
    await until(() => applied(2, a, b), 'vbucket 3 moved');
    assert.equal(bb.collectionByName('inventory', 'airport').get(onA).value.toString(), '{"from":"a"}');
    await bb.dropCollection('inventory', 'airport');
    await until(() => ba.manifest.uid === 3 && !ba.manifest.hasCollection(8), 'node 0 adopted the drop');
  });

  test('a replica whose active took another branch is reset and streamed again', async (t) => {
    const { a, b, file } = await twoNodes(t, VBS);
    const [ba, bb] = [bucketOf(a), bucketOf(b)];
    writeMap(file, 1, [ports(a), ports(b)], [0, 0, 0, 0, 1, 1, 1, 1]);
    await until(() => applied(1, a, b), 'map 1 applied');
    for (let i = 0; i < 30; i++) await ba.set(keyIn(ba, 2, `r${i}`), JSON.stringify({ i }));
    await until(() => caughtUp(ba, bb, 2), 'the replica of vbucket 2 caught up');
    const high = ba.vbucketInfo(2).highSeqno;

    // The active loses its last 5 items and starts a new branch below what the replica holds.
    await a.server.engine.failover('default', 2, { discardAbove: high - 5 });
    await ba.set(keyIn(ba, 2, 'branch'), '{"new":true}');
    await until(() => caughtUp(ba, bb, 2), 'the replica follows the new branch');
    assert.deepEqual(versions(bb, 2), versions(ba, 2));
    assert.equal(b.server.cluster!.replicaFeeds.stats().rollbacks, 1, 'one reset, through a Rollback reply');
  });

  test('a bad map file is reported and the previous map stays in force', async (t) => {
    const { a, b, file } = await twoNodes(t, VBS);
    const [ba, bb] = [bucketOf(a), bucketOf(b)];
    writeMap(file, 1, [ports(a), ports(b)], [0, 0, 0, 0, 1, 1, 1, 1]);
    await until(() => applied(1, a, b), 'map 1 applied');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, '{"rev": 2, "nodes": [');
    await new Promise((r) => setTimeout(r, 100));
    await a.server.cluster!.refresh();
    writeMap(file, 1, [ports(a), ports(b)], [1, 1, 1, 1, 1, 1, 1, 1]); // same rev, other content: refused
    await a.server.cluster!.refresh();
    assert.equal(a.server.cluster!.map?.rev, 1);
    assert.equal(ba.vbucketInfo(0).state, 'active');
    writeMap(file, 3, [ports(a), ports(b)], [1, 1, 1, 1, 1, 1, 1, 1]);
    await until(() => applied(3, a, b), 'map 3 applied');
    assert.equal(ba.vbucketInfo(0).state, 'replica');
    assert.equal(bb.vbucketInfo(0).state, 'active');
  });
});
