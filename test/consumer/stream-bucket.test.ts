/**
 * BucketDataSource against a real in-process Freshet (KV + DCP producer + REST): whole-bucket
 * streams, bounded runs, flow control under a sleeping receiver, keys only, rollback mitigation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, ADMIN } from '../helpers/server.js';
import { BucketDataSource } from '../../src/consumer/index.js';
import { decodeMetaData } from '../../src/consumer/metadata.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';
import { serverState, until, writeDocs } from './fixtures/cluster.js';

describe('consumer > whole-bucket streams (real server)', () => {
  test('10k documents, REST seed: every vbucket to its high seqno, no gaps, exactly the server state', async (t) => {
    const ts = await startTestServer();
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 10_000);
    for (let i = 0; i < 500; i++) await bucket.delete(`doc-${i * 7}`);
    await writeDocs(bucket, 300, 'doc-', 9000, 'rewritten'); // overwritten keys: dedup in the stream
    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({ seeds: [`http://127.0.0.1:${ts.server.ports.mgmt}`], bucket: 'default', credentials: ADMIN, receiver, options: { to: 'now' } });
    t.after(() => ds.close());
    ds.start();
    await until(() => ds.complete, 'complete');
    assert.deepEqual(receiver.errors, []);
    assert.deepEqual(receiver.state(), await serverState(bucket));
    for (let vb = 0; vb < bucket.numVBuckets; vb++) {
      const high = bucket.vbucketInfo(vb).highSeqno;
      assert.equal(receiver.history.get(vb)?.at(-1)?.seq ?? 0, high, `vbucket ${vb} ends at its high seqno`);
      // metadata is cbdatasource's JSON, with the server's failover log
      const meta = decodeMetaData(receiver.meta.get(vb)!.value)!;
      assert.deepEqual(meta.failOverLog, bucket.vbucketInfo(vb).failoverLog.map((e) => [e.uuid, e.seqno]));
    }
    const s = ds.stats();
    assert.equal(s.totUPRStreamEndDone, bucket.numVBuckets);
    assert.equal(s.totUPRDataChangeMutation + s.totUPRDataChangeDeletion, receiver.items);
  });

  test('a sleeping receiver: what the consumer holds stays within the flow-control window', async (t) => {
    const ts = await startTestServer({ numVBuckets: 4 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 2000, 'big-', 0, 'x'.repeat(2000));
    const receiver = new MemoryReceiver();
    const window = 64 * 1024;
    const ds = new BucketDataSource({ seeds: [`couchbase://127.0.0.1:${ts.server.ports.kv}/default`], credentials: ADMIN, receiver, options: { to: 'now', feedBufferSizeBytes: window } });
    t.after(() => ds.close());
    let maxHeld = 0;
    receiver.onItem = async (_vb, seq) => {
      maxHeld = Math.max(maxHeld, ds.bufferedBytes);
      if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 20)); // asleep while the producer could send megabytes
    };
    ds.start();
    await until(() => ds.complete, 'complete', 60_000);
    assert.equal(receiver.items, 2000);
    const maxMessage = 24 + 31 + 10 + 2100;
    assert.ok(maxHeld > 0 && maxHeld <= window + maxMessage, `held ${maxHeld} bytes, window ${window}`);
    assert.ok(ds.stats().totUPRBufferAck >= (2000 * 2100) / window, 'acks went out as items were processed');
  });

  test('keys only, PLAIN-free SCRAM auth, rollback mitigation: items arrive without values, after persistence', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 200);
    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({
      seeds: [`couchbase://127.0.0.1:${ts.server.ports.kv}/default`],
      credentials: ADMIN,
      receiver,
      options: { to: 'now', keysOnly: true, rollbackMitigation: { pollIntervalMs: 5 } },
    });
    t.after(() => ds.close());
    ds.start();
    await until(() => ds.complete, 'complete');
    assert.equal(receiver.items, 200);
    for (const h of receiver.history.values()) for (const c of h) assert.equal(c.value, '');
    const s = ds.stats();
    assert.ok(s.totPersistencePoll > 0);
    assert.equal(s.totPersistenceReleased, s.totPersistenceHeld);
    assert.ok(s.totPersistenceHeld >= 200);
  });

  test('a vbucket subset, and a vbucket that stops being active comes back through a map refresh', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 400);
    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({
      seeds: [`couchbase://127.0.0.1:${ts.server.ports.kv}/default`],
      credentials: ADMIN,
      receiver,
      vbuckets: [2, 3],
      options: { clusterManagerSleepInitMS: 20, clusterManagerSleepMaxMS: 50, dataManagerSleepInitMS: 20 },
    });
    t.after(() => ds.close());
    ds.start();
    const high = (vb: number) => bucket.vbucketInfo(vb).highSeqno;
    await until(() => receiver.history.get(2)?.at(-1)?.seq === high(2) && receiver.history.get(3)?.at(-1)?.seq === high(3), 'vbuckets 2 and 3');
    assert.deepEqual([...receiver.history.keys()].sort(), [2, 3]);

    await ts.server.engine.setVBucketState('default', 3, 'replica'); // its stream ends: state changed
    await until(() => ds.stats().totRefreshWorkersMasterIdxErr > 0, 'map without an active vbucket 3');
    await ts.server.engine.setVBucketState('default', 3, 'active'); // a new failover branch at the same seqno
    await writeDocs(bucket, 400, 'later-');
    await until(() => receiver.history.get(3)?.at(-1)?.seq === high(3) && receiver.history.get(2)?.at(-1)?.seq === high(2), 'vbucket 3 back');
    const s = ds.stats();
    assert.ok(s.totUPRStreamEndKick >= 1, 'stream end (state changed) kicked a refresh');
    assert.equal(receiver.rollbacks.length, 0, 'same history: no rollback');
    const expected = new Map([...(await serverState(bucket))].filter(([k]) => [2, 3].includes(bucket.vbucketOf(k))));
    assert.deepEqual(receiver.state(), expected);
  });
});
