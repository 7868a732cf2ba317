/**
 * 1024 streams on one connection (the normal case, issue 4): every vbucket of a 1024-vbucket
 * bucket streamed at once over one DCP connection, requests pipelined, backfill then live.
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
  server = await startTestServer({ numVBuckets: 1024 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

describe('dcp > many streams', () => {
  test('1024 streams on one connection: every vbucket backfills, then live writes reach every stream', async (t) => {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 6000; i++) writes.push(bucket.set(`many-${i}`, JSON.stringify({ i }), { datatype: c.Datatype.Json }));
    await Promise.all(writes);
    const highs = Array.from({ length: 1024 }, (_, vb) => bucket.vbucketInfo(vb).highSeqno);
    const total = highs.reduce((a, b) => a + b, 0);

    const cons = await DcpTestConsumer.open(server, {
      controls: { connection_buffer_size: '262144', enable_noop: 'true', set_noop_interval: '120' },
    });
    t.after(() => cons.close());
    // Acknowledge what arrived, as a real consumer does, so the window keeps moving.
    let acked = 0;
    const timer = setInterval(() => {
      const pending = cons.countedBytes - acked;
      if (pending > 0) {
        acked += pending;
        void cons.ack(pending);
      }
    }, 5);
    t.after(() => clearInterval(timer));

    const replies = await Promise.all(
      highs.map((_, vb) => cons.streamRequest({ vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 })),
    );
    assert.ok(replies.every((r) => r.result.kind === 'ok'));
    await cons.waitFor('the whole backfill', () => cons.itemCount === total, 60_000);

    const perVb = new Map<number, number[]>();
    for (const e of cons.items()) {
      const list = perVb.get(e.vb) ?? [];
      list.push(e.seqno);
      perVb.set(e.vb, list);
    }
    const firstEvent = new Map<number, (typeof cons.events)[number]>();
    for (const e of cons.events) if (!firstEvent.has(e.vb)) firstEvent.set(e.vb, e);
    for (let vb = 0; vb < 1024; vb++) {
      const seqnos = perVb.get(vb) ?? [];
      if (highs[vb] === 0) continue;
      assert.equal(seqnos.at(-1), highs[vb], `vb ${vb} reached its high seqno`);
      assert.equal(new Set(seqnos).size, seqnos.length, `vb ${vb} has no duplicates`);
      const marker = firstEvent.get(vb);
      assert.ok(marker?.type === 'marker' && marker.opaque === 0x10000 + vb && marker.end === highs[vb]);
    }
    const stats = await cons.stats('dcp');
    assert.equal(stats.get(`eq_dcpq:${cons.name}:num_streams`), '1024');

    // Live: one more write per vbucket arrives on its own stream.
    const live: Promise<unknown>[] = [];
    const perVbLive = new Set<number>();
    for (let i = 0; perVbLive.size < 1024; i++) {
      const vb = bucket.vbucketOf(`live-${i}`);
      if (perVbLive.has(vb)) continue;
      perVbLive.add(vb);
      live.push(bucket.set(`live-${i}`, '{}', { datatype: c.Datatype.Json }));
    }
    await Promise.all(live);
    await cons.waitFor('a live item on every stream', () => cons.itemCount === total + 1024, 60_000);
    assert.deepEqual(cons.errors, []);
  });
});
