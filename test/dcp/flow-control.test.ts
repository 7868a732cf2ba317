/**
 * Flow control and liveness over the wire: a consumer that never acknowledges receives at most
 * one window (plus the message that crossed it) and the rest after an ack; noops arrive on the
 * negotiated interval and a consumer that stops answering is disconnected.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer } from './helpers/consumer.js';

let server: TestServer;
let bucket: Bucket;

before(async () => {
  server = await startTestServer({ numVBuckets: 8 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

describe('dcp > flow control', () => {
  test('a consumer that never acks receives at most the buffer size; an ack resumes the stream', async (t) => {
    const window = 4096;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) writes.push(bucket.set(`fc-${i}`, JSON.stringify({ i, pad: 'x'.repeat(40) }), { datatype: c.Datatype.Json }));
    await Promise.all(writes);
    const total = Array.from({ length: 8 }, (_, vb) => bucket.vbucketInfo(vb).highSeqno).reduce((a, b) => a + b, 0);
    const cons = await DcpTestConsumer.open(server, { name: 'no-acks', controls: { connection_buffer_size: String(window) } });
    t.after(() => cons.close());
    for (let vb = 0; vb < 8; vb++) await cons.streamFromZero(vb);

    // The producer reports a full window once it stops; by then everything sent has arrived.
    const watcher = await DcpTestConsumer.open(server, { name: 'watcher' });
    t.after(() => watcher.close());
    const unacked = async (): Promise<number> => Number((await watcher.stats('dcp')).get('eq_dcpq:no-acks:unacked_bytes'));
    for (let tries = 0; (await unacked()) < window; tries++) {
      assert.ok(tries < 500, 'the producer never filled the window');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const sent = await unacked();
    await cons.waitFor('everything the producer sent', () => cons.countedBytes === sent);
    const largest = Math.max(...cons.events.map((e) => e.size));
    assert.ok(cons.countedBytes <= window + largest, `received ${cons.countedBytes} bytes with a ${window}-byte window`);
    assert.ok(cons.items().length < total, 'the stream paused before the end');
    assert.equal((await watcher.stats('dcp')).get('eq_dcpq:no-acks:paused'), 'true');

    // Ack as we go: everything arrives.
    let acked = 0;
    const ackAll = (): void => {
      const pending = cons.countedBytes - acked;
      if (pending > 0) {
        acked += pending;
        void cons.ack(pending);
      }
    };
    ackAll();
    const timer = setInterval(ackAll, 5);
    t.after(() => clearInterval(timer));
    await cons.waitFor('every item', () => cons.items().length === total);
    clearInterval(timer);
    const seqnos = new Map<number, number[]>();
    for (const e of cons.items()) seqnos.set(e.vb, [...(seqnos.get(e.vb) ?? []), e.seqno]);
    for (const [vb, list] of seqnos) assert.deepEqual(list, [...list].sort((a, b) => a - b), `vb ${vb} in order`);
  });

  test('closing a collection-aware stream paused mid-snapshot by the window, then acking, leaves the server serving', async (t) => {
    // Found by fuzzing: the closed stream kept claiming a SEQNO_ADVANCED it would never send, and
    // the send loop queued it again and again without yielding: the whole process hung.
    // A bucket of its own: the snapshot (40 items) fits in one read of the stream (64 items).
    const spin = await server.server.engine.createBucket('spin', { numVBuckets: 8 });
    const vb = 5;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; writes.length < 40; i++) if (spin.vbucketOf(`spin-${i}`) === vb) writes.push(spin.set(`spin-${i}`, JSON.stringify({ i }), { datatype: c.Datatype.Json }));
    await Promise.all(writes);
    await spin.quiesce();
    const cons = await DcpTestConsumer.open(server, { bucket: 'spin', name: 'closer', features: [c.Feature.Xerror, c.Feature.Collections], controls: { enable_noop: 'true', connection_buffer_size: '200' } });
    t.after(() => cons.close());
    await cons.streamFromZero(vb);
    const watcher = await DcpTestConsumer.open(server, { bucket: 'spin', name: 'closer-watcher' });
    t.after(() => watcher.close());
    await cons.waitFor('the window to fill', () => cons.countedBytes >= 100);
    for (let tries = 0; (await watcher.stats('dcp')).get('eq_dcpq:closer:paused') !== 'true'; tries++) {
      assert.ok(tries < 500, 'the producer never paused');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await cons.closeStream(vb), c.Status.Success);
    void cons.ack(100_000);
    // The loop answers: this connection's stats, and a fresh connection's.
    assert.ok((await cons.stats('dcp')).size > 0);
    const fresh = await DcpTestConsumer.open(server, { bucket: 'spin', name: 'after-close' });
    t.after(() => fresh.close());
    assert.ok((await fresh.stats('dcp')).has('eq_dcpq:closer:paused'));
  });

  test('connection_buffer_size=0 turns flow control off', async (t) => {
    const cons = await DcpTestConsumer.open(server, { controls: { connection_buffer_size: '100' } });
    t.after(() => cons.close());
    assert.equal(await cons.control('connection_buffer_size', '0'), c.Status.Success);
    const vb = 3;
    await cons.streamFromZero(vb);
    const high = bucket.vbucketInfo(vb).highSeqno;
    await cons.waitFor('all of vb 3 without acks', () => cons.items(vb).at(-1)?.seqno === high);
  });
});

describe('dcp > noops and dead consumers', () => {
  test('noops arrive on the interval once a stream exists, and an answering consumer stays connected', async (t) => {
    const cons = await DcpTestConsumer.open(server, { controls: { enable_noop: 'true', set_noop_interval: '0.1' } });
    t.after(() => cons.close());
    await cons.streamFromZero(0);
    await cons.waitFor('four noops', () => cons.events.filter((e) => e.type === 'noop').length >= 4);
    const noops = cons.events.filter((e) => e.type === 'noop');
    assert.deepEqual(
      noops.map((e) => e.opaque),
      noops.map((_, i) => 10_000_000 + i),
      'opaques count up from 10,000,000',
    );
    assert.equal(cons.isOpen, true);
    assert.deepEqual(cons.errors, []);
  });

  test('a consumer that stops answering noops is disconnected', async (t) => {
    const cons = await DcpTestConsumer.open(server, { answerNoops: false, controls: { enable_noop: 'true', set_noop_interval: '0.1' } });
    t.after(() => cons.close());
    await cons.streamFromZero(1);
    await cons.closed;
    assert.ok(cons.events.some((e) => e.type === 'noop'), 'it was sent a noop first');
    // The name is free again once the dead connection is gone.
    const next = await DcpTestConsumer.open(server, { name: cons.name });
    t.after(() => next.close());
    await next.streamFromZero(1);
  });

  test('a noop reply with the wrong opaque is a protocol error: the producer disconnects', async (t) => {
    const cons = await DcpTestConsumer.open(server, { controls: { enable_noop: 'true' } });
    t.after(() => cons.close());
    await cons.conn.send(c.encodeDcpNoopResponse(12345));
    await cons.closed;
  });
});
