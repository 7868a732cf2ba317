/**
 * Stream requests the producer refuses and streams it ends early: reported, then asked for again
 * with backoff (cbdatasource: OnError for every failure it heals, ExponentialBackoffLoop pacing).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { BucketDataSource, isConsumerError, type BucketDataSourceOptions, type DataSourceStatus } from '../../src/consumer/index.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';

const creds = { username: 'alice', password: 'secret' };

async function source(t: TestContext, options: BucketDataSourceOptions) {
  const node = await ScriptedNode.start(4);
  const receiver = new MemoryReceiver();
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets: [0], options: { noopTimeIntervalSecs: 0, ...options } });
  t.after(async () => {
    await ds.close();
    await node.close();
  });
  const events: DataSourceStatus[] = [];
  ds.onStatus((e) => events.push(e));
  ds.start();
  return { node, receiver, ds, events, conn: await node.nextDcp() };
}

const streamOk = (req: c.Packet) => c.encodeStreamRequestOk([{ vbUuid: 0xabc, seqno: 0 }], { opaque: req.opaque });
const mutation = (req: c.Packet, seq: number): c.Packet =>
  c.encodeDcpMutation({ opaque: req.opaque, vbucket: req.vbucket, key: `k${seq}`, value: `v${seq}`, cas: BigInt(seq), datatype: 0, bySeqno: seq, revSeqno: 1, flags: 0, expiration: 0 });
const marker = (req: c.Packet, start: number, end: number): c.Packet =>
  c.encodeSnapshotMarker({ opaque: req.opaque, vbucket: req.vbucket, version: 'v1', startSeqno: start, endSeqno: end, flags: 1 });
const slowEnd = (req: c.Packet) => c.encodeStreamEnd({ opaque: req.opaque, vbucket: req.vbucket, reason: c.StreamEndReason.Slow });

describe('consumer > refused stream requests', () => {
  for (const status of [c.Status.Eaccess, c.Status.Etmpfail, c.Status.Enomem]) {
    test(`stream request refused with ${c.statusName(status)}: onError and a status event, then asked again`, async (t) => {
      const { receiver, events, conn } = await source(t, { clusterManagerSleepInitMS: 5, clusterManagerSleepMaxMS: 10 });
      const first = await conn.next(c.Opcode.DcpStreamReq);
      conn.send(c.replyTo(first, { status }));
      const second = await conn.next(c.Opcode.DcpStreamReq);
      assert.equal(second.vbucket, 0);
      const refused = receiver.errors.filter((e) => isConsumerError(e, 'STREAM_REFUSED'));
      assert.equal(refused.length, 1, receiver.errors.map((e) => e.message).join('; '));
      assert.equal(refused[0]!.code, 'CONSUMER_STREAM_REFUSED');
      assert.deepEqual([refused[0]!.context.vbucket, refused[0]!.context.status, refused[0]!.context.statusName], [0, status, c.statusName(status)]);
      assert.ok(events.some((e) => e.type === 'error' && e.error === refused[0]));
    });
  }
});

describe('consumer > stream ends that re-request', () => {
  test('STREAM_END Slow: re-requested after a growing backoff, reset once a stream made progress', async (t) => {
    const { receiver, ds, events, conn } = await source(t, { dataManagerSleepInitMS: 4, dataManagerBackoffFactor: 2, dataManagerSleepMaxMS: 1000 });
    let req = await conn.next(c.Opcode.DcpStreamReq);
    for (let i = 0; i < 3; i++) {
      conn.send(streamOk(req), slowEnd(req)); // dropped cursor, nothing delivered
      req = await conn.next(c.Opcode.DcpStreamReq);
    }
    conn.send(streamOk(req), marker(req, 1, 1), mutation(req, 1), slowEnd(req)); // progress first
    req = await conn.next(c.Opcode.DcpStreamReq);
    assert.equal(c.decodeStreamRequest(req).startSeqno, 1);
    assert.equal(receiver.items, 1);
    const retries = events.filter((e): e is Extract<DataSourceStatus, { type: 'stream-retry' }> => e.type === 'stream-retry');
    assert.deepEqual(
      retries.map((e) => [e.vbucket, e.delayMs]),
      [
        [0, 4],
        [0, 8],
        [0, 16],
        [0, 4],
      ],
    );
    assert.equal(ds.stats().totUPRStreamEndRetrySleep, 4);
  });
});
