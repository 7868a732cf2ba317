/**
 * NodeDataSource (one named node, no cluster map) against a real in-process Freshet: the options a
 * replica needs (delete times, expiration opcode, xattrs, no flow control), the stream-request
 * reply's failover log through Receiver.streamStarted, `release(vb)` closing one stream, and a
 * refused vbucket requested again after a backoff until the node takes it.
 */
import { bucketCore } from '../../src/engine/bucket.js';
import { expireItem } from '../../src/engine/mutations.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode } from '../../src/codec/index.js';
import type { Packet } from '../../src/codec/index.js';
import { NodeDataSource } from '../../src/consumer/node-data-source.js';
import type { ConsumerError } from '../../src/consumer/errors.js';
import type { FailoverPair } from '../../src/consumer/metadata.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { startTestServer, ADMIN } from '../helpers/server.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';
import { until } from './fixtures/cluster.js';

class ReplicaLikeReceiver extends MemoryReceiver {
  readonly started = new Map<number, readonly FailoverPair[]>();
  readonly opcodes: { vb: number; opcode: number; extras: number }[] = [];

  streamStarted(vb: number, log: readonly FailoverPair[]): void {
    this.started.set(vb, log);
  }

  override dataDelete(vb: number, key: Buffer, seq: number, req?: Packet): void | Promise<void> {
    if (req !== undefined) this.opcodes.push({ vb, opcode: req.opcode, extras: req.extras.length });
    return super.dataDelete(vb, key, seq);
  }
}

function keyIn(bucket: Bucket, vb: number, tag: string): string {
  for (let i = 0; ; i++) if (bucket.vbucketOf(`${tag}-${i}`) === vb) return `${tag}-${i}`;
}

const lastSeq = (r: MemoryReceiver, vb: number): number => r.history.get(vb)?.at(-1)?.seq ?? 0;

describe('consumer > NodeDataSource (one node, no map)', () => {
  test('replica options, streamStarted with the failover log, release of one vbucket', async (t) => {
    const ts = await startTestServer();
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    const [k0, k1] = [(tag: string): string => keyIn(bucket, 0, tag), (tag: string): string => keyIn(bucket, 1, tag)];
    await bucket.set(k0('a'), '{"a":1}');
    await bucket.set(k0('gone'), '{}');
    await bucket.delete(k0('gone'));
    await bucket.set(k0('exp'), '{}');
    const core = bucketCore(bucket);
    await expireItem(core, bucket.vbucket(0), bucket.lookup(Buffer.from(k0('exp')))!);
    await bucket.set(k1('b'), '{"b":2}');

    const receiver = new ReplicaLikeReceiver();
    const ds = new NodeDataSource({
      server: `127.0.0.1:${ts.server.ports.kv}`,
      bucket: 'default',
      credentials: ADMIN,
      receiver,
      options: { includeXAttrs: true, includeDeleteTimes: true, includeDeletedUserXattrs: true, expiryOpcode: true, feedBufferSizeBytes: 0 },
    });
    t.after(() => ds.close());
    ds.setWanted([0, 1]);
    await until(() => lastSeq(receiver, 0) === bucket.vbucketInfo(0).highSeqno && lastSeq(receiver, 1) === bucket.vbucketInfo(1).highSeqno, 'both vbuckets streamed');
    assert.deepEqual(receiver.errors, []);
    for (const vb of [0, 1]) assert.deepEqual(receiver.started.get(vb), bucket.vbucketInfo(vb).failoverLog.map((e) => [e.uuid, e.seqno]));
    assert.deepEqual(
      receiver.opcodes.map((o) => [o.opcode, o.extras]),
      [[Opcode.DcpDeletion, 21], [Opcode.DcpExpiration, 20]],
      'a V2 deletion (delete time) and an expiration as its own opcode',
    );
    assert.equal(ds.stats().totUPRBufferAck, 0, 'no flow control');

    await ds.release(0);
    assert.deepEqual([...ds.wanted], [1]);
    const before = lastSeq(receiver, 0);
    await bucket.set(k0('after'), '{}');
    await bucket.set(k1('after'), '{}');
    await until(() => lastSeq(receiver, 1) === bucket.vbucketInfo(1).highSeqno, 'vbucket 1 still streams');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lastSeq(receiver, 0), before, 'nothing of vbucket 0 after its release');
    assert.ok(ds.stats().totUPRCloseStream >= 1);
  });

  test('a refused vbucket is requested again after a backoff, until the node takes it', async (t) => {
    const ts = await startTestServer();
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await bucket.setVBucketState(2, 'replica');
    const receiver = new ReplicaLikeReceiver();
    const ds = new NodeDataSource({
      server: `127.0.0.1:${ts.server.ports.kv}`,
      bucket: 'default',
      credentials: ADMIN,
      receiver,
      options: { clusterManagerSleepInitMS: 10, clusterManagerBackoffFactor: 2, clusterManagerSleepMaxMS: 40 },
    });
    t.after(() => ds.close());
    ds.setWanted([2]);
    await until(() => ds.stats().totUPRStreamReqResFailNotMyVBucket >= 3, 'NOT_MY_VBUCKET retried');
    await bucket.setVBucketState(2, 'active');
    await bucket.set(keyIn(bucket, 2, 'k'), '{}');
    await until(() => lastSeq(receiver, 2) === bucket.vbucketInfo(2).highSeqno && lastSeq(receiver, 2) > 0, 'streamed once active');
    // NOT_MY_VBUCKET is a map change, not an error (cbdatasource): onError saw nothing
    assert.deepEqual(receiver.errors.map((e) => (e as ConsumerError).code), []);
  });
});
