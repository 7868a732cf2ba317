/**
 * The data source against a misbehaving scripted producer: closing while connecting, stream-end
 * reasons, frames it must survive.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as c from '../../src/codec/index.js';
import { BucketDataSource, openChangeStream, type BucketDataSourceOptions } from '../../src/consumer/index.js';
import { encodeMetaData } from '../../src/consumer/metadata.js';
import { fatalCause } from '../../src/cli/tail-run.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';

const creds = { username: 'alice', password: 'secret' };

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function source(t: TestContext, node: ScriptedNode, options: BucketDataSourceOptions = {}, vbuckets = [0]) {
  const receiver = new MemoryReceiver();
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets, options: { noopTimeIntervalSecs: 0, ...options } });
  t.after(async () => {
    await ds.close();
    await node.close();
  });
  return { receiver, ds };
}

describe('consumer > misbehaving producer', () => {
  test('close() while a node accepted the DCP connection and never answers returns at once', async (t) => {
    const node = await ScriptedNode.start(4);
    node.muteConnection = (i) => i >= 1; // the map connection answers, the data connection does not
    const { ds } = await source(t, node, { connectTimeoutMS: 20_000, requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => node.accepted >= 2, 'data connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });

  test('close() while DCP_OPEN is unanswered returns at once and leaves no socket open', async (t) => {
    const node = await ScriptedNode.start(4);
    node.ignore.add(c.Opcode.DcpOpen);
    const { ds } = await source(t, node, { requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => ds.stats().totWorkerConnectOk === 1, 'authenticated data connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    assert.equal(ds.stats().totHandShakeErr, 0, 'a close is not a handshake error');
  });

  test('close() while the map connection never answers returns at once', async (t) => {
    const node = await ScriptedNode.start(4);
    node.muteConnection = () => true;
    const { ds } = await source(t, node, { connectTimeoutMS: 20_000, requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => node.accepted >= 1, 'map connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });
});

const mutation = (req: c.Packet, seq: number): c.Packet =>
  c.encodeDcpMutation({ opaque: req.opaque, vbucket: req.vbucket, key: `k${seq}`, value: `v${seq}`, cas: BigInt(seq), datatype: 0, bySeqno: seq, revSeqno: 1, flags: 0, expiration: 0 });
const marker = (req: c.Packet, start: number, end: number, flags = 1): c.Packet =>
  c.encodeSnapshotMarker({ opaque: req.opaque, vbucket: req.vbucket, version: 'v1', startSeqno: start, endSeqno: end, flags });
const streamOk = (req: c.Packet) => c.encodeStreamRequestOk([{ vbUuid: 0xabc, seqno: 0 }], { opaque: req.opaque });

describe('consumer > stream end reasons', () => {
  for (const reason of [1, 2, 3, 4, 5, 6, 8, 42]) {
    test(`STREAM_END reason ${reason} of an unbounded stream: asked again from the checkpoint`, async (t) => {
      const node = await ScriptedNode.start(4);
      const { receiver, ds } = await source(t, node, { clusterManagerSleepInitMS: 5, clusterManagerSleepMaxMS: 10, dataManagerSleepInitMS: 5 });
      ds.start();
      const conn = await node.nextDcp();
      const req = await conn.next(c.Opcode.DcpStreamReq);
      conn.send(streamOk(req), marker(req, 1, 4), mutation(req, 1), mutation(req, 2), c.encodeStreamEnd({ opaque: req.opaque, vbucket: 0, reason }));
      const again = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
      assert.deepEqual([again.startSeqno, again.snapStartSeqno, again.snapEndSeqno, again.vbUuid], [2, 1, 4, 0xabc]);
      assert.equal(receiver.items, 2);
    });
  }
});

describe('consumer > change stream signal', () => {
  test('the signal while the data node never answers: the iteration ends at once', async (t) => {
    const node = await ScriptedNode.start(1);
    node.muteConnection = (i) => i >= 1;
    t.after(() => node.close());
    const ac = new AbortController();
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, signal: ac.signal, requestTimeoutMS: 20_000 });
    const got = stream.next();
    await until(() => node.accepted >= 2, 'data connection');
    const t0 = Date.now();
    ac.abort();
    assert.deepEqual(await got, { value: undefined, done: true });
    assert.ok(Date.now() - t0 < 1000, `ended after ${Date.now() - t0} ms`);
  });

  test('close() during the reconnect backoff returns at once', async (t) => {
    const node = await ScriptedNode.start(4);
    const { ds } = await source(t, node, { dataManagerSleepInitMS: 20_000, dataManagerSleepMaxMS: 20_000 });
    ds.start();
    (await node.nextDcp()).socket.destroy();
    await until(() => ds.stats().totWorkerReconnectSleep === 1, 'backoff');
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });

  test('a signal aborted before the stream opens ends it at once, without connecting', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, signal: AbortSignal.abort() });
    t.after(() => stream.close());
    const r = await Promise.race([stream.next(), new Promise((resolve) => setTimeout(() => resolve('hung'), 2000))]);
    assert.deepEqual(r, { value: undefined, done: true });
    assert.equal(node.accepted, 0);
  });

  test('a long-lived signal keeps no listener of a closed stream', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const ac = new AbortController();
    let listeners = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
    for (let i = 0; i < 3; i++) {
      const stream = openChangeStream({ seeds: [node.seed], credentials: creds, signal: ac.signal });
      await stream.ready();
      await stream.close();
    }
    assert.equal(listeners, 0);
  });
});

describe('consumer > broken frames', () => {
  test('frames split at every byte are reassembled; garbage ends the connection and the stream resumes', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5, feedBufferSizeBytes: 100, feedBufferAckThreshold: 0.01 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    const bytes = Buffer.concat([streamOk(req), marker(req, 1, 3), mutation(req, 1), c.encodeDcpNoopRequest(5), mutation(req, 2)].map((p) => c.encodePacket(p)));
    for (const b of bytes) {
      conn.socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => receiver.items === 2, 'two items');
    assert.equal((await conn.next(c.Opcode.DcpNoop)).opaque, 5);
    const garbage = Buffer.alloc(24, 0x42); // bad magic
    conn.send(garbage);
    const again = await node.nextDcp();
    const req2 = c.decodeStreamRequest(await again.next(c.Opcode.DcpStreamReq));
    assert.deepEqual([req2.startSeqno, req2.snapStartSeqno, req2.snapEndSeqno], [2, 1, 3]);
    assert.ok(receiver.errors.length >= 1);
  });

  test('a producer that hangs up right after DCP_OPEN is retried with backoff, errors reported', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5, dataManagerSleepMaxMS: 20 });
    ds.start();
    for (let i = 0; i < 3; i++) (await node.nextDcp()).socket.destroy();
    const conn = await node.nextDcp();
    await conn.next(c.Opcode.DcpStreamReq);
    assert.ok(receiver.errors.length >= 3);
    assert.ok(ds.stats().totWorkerReconnectSleep >= 3);
  });

  test('a truncated frame then a hang-up: reconnect, nothing delivered twice', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    const m2 = c.encodePacket(mutation(req, 2));
    conn.send(streamOk(req), marker(req, 1, 2), mutation(req, 1), m2.subarray(0, m2.length - 3));
    await until(() => receiver.items === 1, 'first item');
    conn.socket.end();
    const again = await node.nextDcp();
    const r2 = await again.next(c.Opcode.DcpStreamReq);
    assert.equal(c.decodeStreamRequest(r2).startSeqno, 1);
    again.send(streamOk(r2), marker(r2, 1, 2), mutation(r2, 2));
    await until(() => receiver.items === 2, 'second item');
    assert.deepEqual(receiver.history.get(0)?.map((h) => h.seq), [1, 2]);
  });
});

describe('consumer > odd snapshots', () => {
  test('an item beyond the announced snapshot widens the saved range: the resume stays consistent', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5, clusterManagerSleepInitMS: 5 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    // odd marker flags (memory|disk|checkpoint|ack|history|may-contain-duplicates|unknown)
    conn.send(streamOk(req), marker(req, 1, 2, 0xff), mutation(req, 1), mutation(req, 2), mutation(req, 3), c.encodeStreamEnd({ opaque: req.opaque, vbucket: 0, reason: 4 }));
    const again = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.equal(receiver.items, 3);
    assert.equal(again.startSeqno, 3);
    assert.ok(again.snapStartSeqno <= 3 && 3 <= again.snapEndSeqno, `snapshot [${again.snapStartSeqno}, ${again.snapEndSeqno}] must hold 3`);
    assert.equal(ds.stats().totUPROutsideSnapshot, 1);
    assert.deepEqual(receiver.snapshots, [{ vb: 0, start: 1, end: 2, type: 0xff }]);
  });

  test('items without any marker: each resume position is consistent', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5, clusterManagerSleepInitMS: 5 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), mutation(req, 5), c.encodeStreamEnd({ opaque: req.opaque, vbucket: 0, reason: 4 }));
    const again = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.equal(receiver.items, 1);
    assert.deepEqual([again.startSeqno, again.snapStartSeqno <= 5, again.snapEndSeqno], [5, true, 5]);
  });
});

describe('consumer > change stream restart and close', () => {
  test('restarted from its checkpoint mid-snapshot: resumes right after the last processed event', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const dir = await mkdtemp(join(tmpdir(), 'freshet-cons-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'cp.json');
    const first = openChangeStream({ seeds: [node.seed], credentials: creds, checkpoint: file, noopTimeIntervalSecs: 0 });
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), marker(req, 1, 5), mutation(req, 1), mutation(req, 2), mutation(req, 3), mutation(req, 4));
    const seen: number[] = [];
    for await (const e of first) {
      seen.push((e as { seqno: number }).seqno);
      if (seen.length === 3) break;
    }
    const second = openChangeStream({ seeds: [node.seed], credentials: creds, checkpoint: file, noopTimeIntervalSecs: 0 });
    t.after(() => second.close());
    const got = second.next();
    const conn2 = await node.nextDcp();
    const req2 = await conn2.next(c.Opcode.DcpStreamReq);
    const r = c.decodeStreamRequest(req2);
    assert.deepEqual([r.startSeqno, r.snapStartSeqno, r.snapEndSeqno, r.vbUuid], [3, 1, 5, 0xabc]);
    conn2.send(streamOk(req2), marker(req2, 1, 5), mutation(req2, 4), mutation(req2, 5));
    seen.push(((await got).value as { seqno: number }).seqno, ((await second.next()).value as { seqno: number }).seqno);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  test('close() while the producer is blocked on a full queue: the iteration ends, sockets are closed', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, highWaterMark: 2, noopTimeIntervalSecs: 0 });
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), marker(req, 1, 50), ...Array.from({ length: 50 }, (_, i) => mutation(req, i + 1)));
    assert.equal(((await stream.next()).value as { seqno: number }).seqno, 1);
    await until(() => stream.bufferedBytes > 0, 'queue filling');
    const pending = stream.next();
    const closed = stream.close();
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('close hung')), 2000))]);
    await pending; // either an event or the end, never a hang or a rejection
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    await until(() => conn.socket.destroyed || conn.socket.readableEnded, 'producer side closed', 2000);
  });
});

describe('consumer > bogus rollbacks', () => {
  test('a rollback point above the requested start is a protocol error: no rollback, reported, reconnect with backoff', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 50, dataManagerSleepMaxMS: 50 });
    receiver.meta.set(0, { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 5, snapEnd: 5, failOverLog: [[11, 0]] }), lastSeq: 5 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(c.encodeStreamRequestRollback(10, { opaque: req.opaque }));
    const again = await node.nextDcp();
    assert.notEqual(again, conn);
    assert.equal(c.decodeStreamRequest(await again.next(c.Opcode.DcpStreamReq)).startSeqno, 5);
    assert.equal(conn.all(c.Opcode.DcpStreamReq).length, 1, 'not asked again at once on the same connection');
    assert.deepEqual(receiver.rollbacks, []);
    assert.ok(receiver.errors.some((e) => /to 10, requested from 5/.test(e.message)));
  });

  test('Erange for a request from 0 with snapshot [0, 0] is a protocol error, not a rollback loop', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 50, dataManagerSleepMaxMS: 50 });
    receiver.meta.set(0, { value: encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 3, snapEnd: 3, failOverLog: [[11, 0]] }), lastSeq: 3 });
    ds.start();
    const conn = await node.nextDcp();
    const first = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(c.replyTo(first, { status: c.Status.Erange })); // from 3: a rollback to 0 (cbdatasource)
    const second = await conn.next(c.Opcode.DcpStreamReq);
    assert.equal(c.decodeStreamRequest(second).startSeqno, 0);
    conn.send(c.replyTo(second, { status: c.Status.Erange })); // from 0: nothing left to roll back
    const again = await node.nextDcp();
    await again.next(c.Opcode.DcpStreamReq);
    assert.equal(conn.all(c.Opcode.DcpStreamReq).length, 2);
    assert.equal(receiver.rollbacks.length, 1);
    assert.ok(receiver.errors.some((e) => /Erange for vbucket 0 requested from 0/.test(e.message)));
  });

  test('a rollback of a request from 0 is a protocol error too (it could only loop)', async (t) => {
    const node = await ScriptedNode.start(4);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 50, dataManagerSleepMaxMS: 50 });
    ds.start();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(c.encodeStreamRequestRollback(0, { opaque: req.opaque }));
    const again = await node.nextDcp();
    await again.next(c.Opcode.DcpStreamReq);
    assert.equal(conn.all(c.Opcode.DcpStreamReq).length, 1);
    assert.deepEqual(receiver.rollbacks, []);
  });
});

describe('consumer > hang-ups during the handshake', () => {
  test('a node that hangs up on SELECT_BUCKET is a connection problem, not a missing bucket', async (t) => {
    const node = await ScriptedNode.start(4);
    node.hangUpOn.set(c.Opcode.SelectBucket, 3);
    const { receiver, ds } = await source(t, node, { dataManagerSleepInitMS: 5, clusterManagerSleepInitMS: 5, clusterManagerSleepMaxMS: 10 });
    ds.start();
    const conn = await node.nextDcp();
    await conn.next(c.Opcode.DcpStreamReq);
    assert.ok(receiver.errors.length >= 1);
    assert.equal(ds.stats().totSelectBucketErr, 0);
    for (const e of receiver.errors) assert.equal(fatalCause(e, true), undefined, `fatal for tail: ${e.message}`);
  });

  test('a change stream keeps going through a hang-up on SELECT_BUCKET', async (t) => {
    const node = await ScriptedNode.start(1);
    node.hangUpOn.set(c.Opcode.SelectBucket, 1);
    t.after(() => node.close());
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, noopTimeIntervalSecs: 0, clusterManagerSleepInitMS: 5 });
    t.after(() => stream.close());
    const got = stream.next();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), marker(req, 1, 1), mutation(req, 1));
    assert.equal(((await got).value as { seqno: number }).seqno, 1);
  });
});

describe('consumer > overlapping next() calls', () => {
  test('each pending next() gets its own event, and close() ends them all', async (t) => {
    const node = await ScriptedNode.start(1);
    t.after(() => node.close());
    const stream = openChangeStream({ seeds: [node.seed], credentials: creds, noopTimeIntervalSecs: 0 });
    t.after(() => stream.close());
    const a = stream.next();
    const b = stream.next();
    const conn = await node.nextDcp();
    const req = await conn.next(c.Opcode.DcpStreamReq);
    conn.send(streamOk(req), marker(req, 1, 2), mutation(req, 1), mutation(req, 2));
    const seqs = (await Promise.all([a, b])).map((r) => (r.value as { seqno: number }).seqno).sort();
    assert.deepEqual(seqs, [1, 2]);
    const d = stream.next();
    const e = stream.next();
    await stream.close();
    const ends = await Promise.race([Promise.all([d, e]), new Promise((resolve) => setTimeout(() => resolve('hung'), 2000))]);
    assert.deepEqual(ends, [{ value: undefined, done: true }, { value: undefined, done: true }]);
  });
});
