/**
 * The data source against a scripted producer: messages it must skip rather than die on, noops,
 * flow-control acks, rollback and NOT_MY_VBUCKET handling, stale streams, dead connections.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { BucketDataSource, openChangeStream, SILENT_LOGGER, type BucketDataSourceOptions } from '../../src/consumer/index.js';
import { encodeMetaData, decodeMetaData } from '../../src/consumer/metadata.js';
import { MemoryCheckpointStore } from '../../src/consumer/checkpoint-store.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';

const creds = { username: 'alice', password: 'secret' };

async function setup(t: TestContext, options: BucketDataSourceOptions = {}, vbuckets = [0]) {
  const node = await ScriptedNode.start(4);
  const receiver = new MemoryReceiver();
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets, options: { noopTimeIntervalSecs: 0, ...options } });
  t.after(async () => {
    await ds.close();
    await node.close();
  });
  ds.start();
  const conn = await node.nextDcp();
  return { node, receiver, ds, conn };
}

const mutation = (req: c.Packet, seq: number, value = `v${seq}`): c.Packet =>
  c.encodeDcpMutation({ opaque: req.opaque, vbucket: req.vbucket, key: `k${seq}`, value, cas: BigInt(seq), datatype: 0, bySeqno: seq, revSeqno: 1, flags: 0, expiration: 0 });
const marker = (req: c.Packet, start: number, end: number): c.Packet =>
  c.encodeSnapshotMarker({ opaque: req.opaque, vbucket: req.vbucket, version: 'v1', startSeqno: start, endSeqno: end, flags: 1 });
const streamOk = (req: c.Packet) => c.encodeStreamRequestOk([{ vbUuid: 0xabc, seqno: 0 }], { opaque: req.opaque });

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('consumer > scripted producer', () => {
  test('unknown and unsupported messages are logged, skipped and still acknowledged; noops answered', async (t) => {
    const warnings: string[] = [];
    const logger = { ...SILENT_LOGGER, warn: (_f: object | string, m?: string) => void warnings.push(m ?? '') };
    const { receiver, ds, conn } = await setup(t, { feedBufferSizeBytes: 100, feedBufferAckThreshold: 0.2, logger });
    const req = await conn.next(c.Opcode.DcpStreamReq);
    const unknown = c.makeRequest(0x7f, { opaque: req.opaque, vbucket: 0, value: Buffer.from('???') });
    const sysEvent = c.makeRequest(c.Opcode.DcpSystemEvent, { opaque: req.opaque, vbucket: 0, extras: Buffer.alloc(13) });
    const push = c.encodeClustermapChangeNotification({ revision: 9, bucket: 'default', config: '{}' });
    const sent = [marker(req, 1, 2), mutation(req, 1), unknown, sysEvent, mutation(req, 2)];
    conn.send(streamOk(req), ...sent, push, c.encodeDcpNoopRequest(0x1234));
    const noopReply = await conn.next(c.Opcode.DcpNoop);
    assert.equal(noopReply.magic, 0x81);
    assert.equal(noopReply.opaque, 0x1234);
    await until(() => receiver.items === 2 && ds.stats().totUPRUnknown === 2, 'items');
    const s = ds.stats();
    assert.equal(s.totUPRUnsupported, 1);
    assert.equal(s.totUPRNoop, 1);
    assert.equal(warnings.filter((w) => w.includes('unknown DCP message')).length, 2);
    // every stream-magic message counts against the window, the 0x82 push and the noop do not
    const expected = sent.reduce((n, p) => n + c.packetSize(p), 0);
    await until(() => ds.stats().totUPRBufferAckBytes === expected, 'acks');
    const acks = conn.all(c.Opcode.DcpBufferAcknowledgement).reduce((n, p) => n + p.extras.readUInt32BE(0), 0);
    assert.equal(acks, expected);
    assert.deepEqual(receiver.history.get(0)?.map((h) => h.seq), [1, 2]);
  });

  test('handshake: DCP_OPEN producer flags, controls, stream request from the stored metadata', async (t) => {
    const node = await ScriptedNode.start(4);
    const receiver = new MemoryReceiver();
    receiver.meta.set(2, { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 5, snapEnd: 9, failOverLog: [[77, 0]] }), lastSeq: 7 });
    const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets: [2], options: { name: 'feed1', keysOnly: true, feedBufferSizeBytes: 2000 } });
    t.after(async () => {
      await ds.close();
      await node.close();
    });
    ds.start();
    const conn = await node.nextDcp();
    const req = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.deepEqual(
      { vb: req.vbucket, start: req.startSeqno, end: req.endSeqno, uuid: req.vbUuid, ss: req.snapStartSeqno, se: req.snapEndSeqno },
      { vb: 2, start: 7, end: c.SEQNO_INFINITY, uuid: 77, ss: 5, se: 9 },
    );
    assert.deepEqual(node.controls.slice(0, 3), ['connection_buffer_size=2000', 'enable_noop=true', 'set_noop_interval=120']);
  });

  test('Rollback: rollbackEx with the kept uuid, metadata normalised, re-request from the rollback point', async (t) => {
    const node = await ScriptedNode.start(4);
    const receiver = new MemoryReceiver();
    receiver.meta.set(0, { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 4, snapEnd: 9, failOverLog: [[22, 6], [11, 0]] }), lastSeq: 8 });
    receiver.history.set(0, [2, 3, 5, 8].map((seq) => ({ seq, key: `k${seq}`, value: 'x' })));
    const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets: [0] });
    t.after(async () => {
      await ds.close();
      await node.close();
    });
    ds.start();
    const conn = await node.nextDcp();
    const first = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(c.encodeStreamRequestRollback(5, { opaque: first.opaque }));
    const again = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.deepEqual(receiver.rollbacks, [{ vb: 0, uuid: 11, seq: 5 }]);
    assert.deepEqual([again.startSeqno, again.snapStartSeqno, again.snapEndSeqno, again.vbUuid], [5, 5, 5, 11]);
    assert.deepEqual(decodeMetaData(receiver.meta.get(0)!.value)!.failOverLog, [[11, 0]]);
    assert.equal(ds.stats().totRollbackMetaDataFix, 1);
    // Erange is a rollback to 0 (cbdatasource)
    conn.send(c.replyTo(conn.all(c.Opcode.DcpStreamReq)[1]!, { status: c.Status.Erange }));
    const third = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.equal(third.startSeqno, 0);
    assert.equal(ds.stats().totUPRStreamReqResFailERange, 1);
  });

  test('NOT_MY_VBUCKET: map refresh, then the vbucket is asked for again', async (t) => {
    const { ds, conn } = await setup(t, { clusterManagerSleepInitMS: 10, clusterManagerSleepMaxMS: 20 });
    const first = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(c.replyTo(first, { status: c.Status.NotMyVbucket }));
    const second = await conn.next(c.Opcode.DcpStreamReq);
    assert.equal(second.vbucket, 0);
    const s = ds.stats();
    assert.equal(s.totUPRStreamReqResFailNotMyVBucket, 1);
    assert.ok(s.totRefreshCluster >= 2);
  });

  test('messages of a stream that is not current are dropped (and acknowledged); V2 markers work', async (t) => {
    const { receiver, ds, conn } = await setup(t, { feedBufferSizeBytes: 50, feedBufferAckThreshold: 0.1 });
    const req = await conn.next(c.Opcode.DcpStreamReq);
    const stale = c.encodeDcpMutation({ opaque: 999, vbucket: 0, key: 'old', value: 'x', cas: 1n, datatype: 0, bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0 });
    const v2 = c.encodeSnapshotMarker({ opaque: req.opaque, vbucket: 0, version: 'v2.0', startSeqno: 1, endSeqno: 3, flags: 2, maxVisibleSeqno: 3, highCompletedSeqno: 0 });
    conn.send(streamOk(req), stale, v2, mutation(req, 3));
    await until(() => receiver.items === 1, 'item');
    assert.equal(ds.stats().totUPRStaleDrop, 1);
    assert.deepEqual(receiver.snapshots, [{ vb: 0, start: 1, end: 3, type: 2 }]);
    assert.deepEqual(decodeMetaData(receiver.meta.get(0)!.value), { seqStart: 0, seqEnd: 0, snapStart: 1, snapEnd: 3, failOverLog: [[0xabc, 0]] });
    await until(() => ds.stats().totUPRBufferAckBytes === c.packetSize(stale) + c.packetSize(v2) + c.packetSize(mutation(req, 3)), 'acks');
  });

  test('a sleeping receiver still answers producer noops; stream end Ok completes a bounded vbucket', async (t) => {
    const { receiver, ds, conn } = await setup(t, { seqEnd: { 0: 2 } });
    let release!: () => void;
    const slept = new Promise<void>((r) => (release = r));
    receiver.onItem = (_vb, seq) => (seq === 1 ? slept : undefined);
    const req = await conn.next(c.Opcode.DcpStreamReq);
    assert.equal(c.decodeStreamRequest(req).endSeqno, 2);
    conn.send(streamOk(req), marker(req, 1, 2), mutation(req, 1), mutation(req, 2), c.encodeStreamEnd({ opaque: req.opaque, vbucket: 0, reason: 0 }), c.encodeDcpNoopRequest(77));
    const noop = await conn.next(c.Opcode.DcpNoop);
    assert.equal(noop.opaque, 77);
    assert.equal(receiver.items, 1); // still asleep in the first item
    release();
    await until(() => ds.complete, 'complete');
    assert.equal(receiver.items, 2);
    assert.equal(ds.stats().totUPRStreamEndDone, 1);
  });

  test('an unanswered ping marks the connection dead and the worker reconnects', async (t) => {
    const { node, ds, conn } = await setup(t, { pingTimeoutMS: 60, dataManagerSleepInitMS: 10 });
    conn.answerPings = false;
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req));
    const again = await node.nextDcp();
    assert.ok(again !== conn);
    assert.ok(ds.stats().totWorkerDeadConnection >= 1);
    await again.next(c.Opcode.DcpStreamReq);
  });

  test('wrong credentials: AuthFailError to onError, retried with backoff', async (t) => {
    const node = await ScriptedNode.start(1);
    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({ seeds: [node.seed], credentials: { username: 'alice', password: 'nope' }, receiver, options: { clusterManagerSleepInitMS: 5, clusterManagerSleepMaxMS: 10 } });
    t.after(async () => {
      await ds.close();
      await node.close();
    });
    ds.start();
    await until(() => receiver.errors.length >= 2, 'errors');
    assert.equal(receiver.errors[0]!.name, 'AllServerURLsConnectBucketError');
    assert.equal((receiver.errors[0]!.cause as Error).name, 'AuthFailError');

    const stream = openChangeStream({ seeds: [node.seed], credentials: { username: 'alice', password: 'nope' } });
    await assert.rejects(stream.next(), (e: unknown) => e instanceof Error && e.name === 'AuthFailError');
  });

  test('a bucket uuid that does not match: reported and retried by the data source, fatal for a change stream', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, bucketUuid: 'other', options: { clusterManagerSleepInitMS: 5 } });
    t.after(() => ds.close());
    ds.start();
    await until(() => ds.stats().totRefreshClusterBucketUUIDErr >= 2, 'uuid errors');
    assert.equal((receiver.errors[0] as { code?: string }).code, 'CONSUMER_BUCKET_UUID');
    assert.equal(ds.stats().totWorkerConnect, 0, 'never streams from the wrong bucket');

    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, bucketUuid: 'other' });
    await assert.rejects(stream.next(), (e: unknown) => (e as { code?: string }).code === 'CONSUMER_BUCKET_UUID');
  });

  test('change stream: an AbortSignal ends the iteration and the consumed position is checkpointed', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const ac = new AbortController();
    const store = new MemoryCheckpointStore();
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, signal: ac.signal, checkpoint: store });
    const got = stream.next();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), marker(req, 1, 3), mutation(req, 1), mutation(req, 2), mutation(req, 3));
    const first = await got;
    await until(() => stream.bufferedBytes > 0, 'events 2 and 3 queued');
    assert.equal(first.done, false);
    assert.equal((first.value as { seqno: number }).seqno, 1);
    ac.abort();
    const after = await stream.next();
    assert.equal(after.done, true);
    // the event returned before the abort counts as processed; the queued ones do not
    assert.equal(store.current?.vbuckets['0']?.lastSeq, 1);
    assert.deepEqual(store.current?.vbuckets['0']?.meta.failOverLog, [[0xabc, 0]]);
  });
});
