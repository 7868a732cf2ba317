import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { BucketDataSource } from '../../src/consumer/index.js';
import { encodeMetaData } from '../../src/consumer/metadata.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';
const creds = { username: 'alice', password: 'secret' };
const streamOk = (req: c.Packet, log = [{ vbUuid: 0xabc, seqno: 0 }]) => c.encodeStreamRequestOk(log, { opaque: req.opaque });

test('close during reconnect backoff', async () => {
  const node = await ScriptedNode.start(4);
  const receiver = new MemoryReceiver();
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets: [0], options: { noopTimeIntervalSecs: 0, dataManagerSleepInitMS: 5000, dataManagerSleepMaxMS: 5000 } });
  ds.start();
  (await node.nextDcp()).socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await ds.close();
  assert.ok(Date.now() - t0 < 500, `${Date.now() - t0}`);
  await node.close();
});

test('repeated rollbacks and a changing failover log', async () => {
  const node = await ScriptedNode.start(4);
  const receiver = new MemoryReceiver();
  receiver.meta.set(0, { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 8, snapEnd: 10, failOverLog: [[33, 9], [22, 6], [11, 0]] }), lastSeq: 10 });
  receiver.history.set(0, [2, 3, 5, 8, 10].map((seq) => ({ seq, key: `k${seq}`, value: 'x' })));
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets: [0], options: { noopTimeIntervalSecs: 0 } });
  ds.start();
  const conn = await node.nextDcp();
  let req = await conn.next(c.Opcode.DcpStreamReq);
  conn.send(c.encodeStreamRequestRollback(8, { opaque: req.opaque }));
  req = await conn.next(c.Opcode.DcpStreamReq);
  console.log(c.decodeStreamRequest(req));
  conn.send(c.encodeStreamRequestRollback(3, { opaque: req.opaque }));
  req = await conn.next(c.Opcode.DcpStreamReq);
  console.log(c.decodeStreamRequest(req), receiver.rollbacks);
  conn.send(c.replyTo(req, { status: c.Status.NotMyVbucket, value: Buffer.from(JSON.stringify(node.config())), datatype: 1 }));
  req = await conn.next(c.Opcode.DcpStreamReq);
  console.log(c.decodeStreamRequest(req));
  conn.send(streamOk(req, [{ vbUuid: 44, seqno: 3 }, { vbUuid: 11, seqno: 0 }]));
  await new Promise((r) => setTimeout(r, 100));
  console.log(receiver.meta.get(0)!.value.toString(), receiver.errors.map((e) => e.message));
  await ds.close();
  await node.close();
});
