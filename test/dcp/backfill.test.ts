/**
 * Backfill then live over raw DCP (issue 4 tests): 10k documents over 64 vbuckets with correct
 * snapshot markers and deduplication, live memory snapshots afterwards, a stream resuming in the
 * middle of a snapshot, from-latest, and end seqnos (ToLatest, DiskOnly, explicit).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer, type ItemEvent } from './helpers/consumer.js';

const DISK_CHK = c.SnapshotFlag.Disk | c.SnapshotFlag.Checkpoint;
const json = { datatype: c.Datatype.Json };

let server: TestServer;
let bucket: Bucket;

before(async () => {
  // No checkpoint memory kept: a stream that is not caught up reads the disk, so these tests see
  // kv_engine's disk backfill (a stream caught up still reads memory: test/dcp/memory.test.ts).
  server = await startTestServer({ numVBuckets: 64, checkpointBytes: 0 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

/** `count` fresh keys that hash to vbucket `vb`. */
function keysIn(vb: number, count: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (vbOf(`${prefix}-${i}`) === vb) out.push(`${prefix}-${i}`);
  return out;
}

/** Keys by vbucket, for building expectations. */
function vbOf(key: string): number {
  return bucket.vbucketOf(key);
}

describe('dcp > backfill then live', () => {
  test('10k documents over 64 vbuckets: one disk snapshot per vbucket, deduplicated, then memory snapshots', async (t) => {
    const latest = new Map<string, { value: string; deleted: boolean }>();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const key = `doc-${i}`;
      const value = JSON.stringify({ i, v: 1 });
      latest.set(key, { value, deleted: false });
      writes.push(bucket.set(key, value, json));
    }
    await Promise.all(writes);
    // Rewrite and delete some keys: their older versions must not be streamed.
    for (let i = 0; i < 2000; i++) {
      const key = `doc-${i * 5}`;
      const value = JSON.stringify({ i: i * 5, v: 2 });
      latest.set(key, { value, deleted: false });
      await bucket.set(key, value, json);
    }
    for (let i = 0; i < 500; i++) {
      const key = `doc-${i * 7 + 1}`;
      latest.set(key, { value: '', deleted: true });
      await bucket.delete(key);
    }
    await bucket.quiesce();

    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());
    const highs = Array.from({ length: 64 }, (_, vb) => bucket.vbucketInfo(vb).highSeqno);
    const repliedAt: number[] = [];
    for (let vb = 0; vb < 64; vb++) {
      const log = await consumer.streamFromZero(vb);
      repliedAt.push(consumer.conn.stats.responses);
      assert.deepEqual(log, bucket.vbucketInfo(vb).failoverLog.map((e) => ({ vbUuid: e.uuid, seqno: e.seqno })));
    }
    const lastSeqno = (vb: number): number => consumer.items(vb).at(-1)?.seqno ?? 0;
    await consumer.waitFor('every vbucket backfilled', () => highs.every((h, vb) => lastSeqno(vb) === h));

    const seen = new Map<string, ItemEvent>();
    for (let vb = 0; vb < 64; vb++) {
      const events = consumer.eventsFor(vb);
      const marker = events[0]!;
      assert.equal(marker.type, 'marker');
      assert.ok(marker.responsesBefore >= repliedAt[vb]!, `vb ${vb}: the marker arrived before the stream-request reply`);
      assert.equal(marker.opaque, 0x10000 + vb);
      if (marker.type !== 'marker') continue;
      assert.deepEqual([marker.start, marker.end, marker.flags, marker.version], [0, highs[vb], DISK_CHK, 'v1']);
      const items = events.slice(1) as ItemEvent[];
      assert.ok(items.every((e) => e.type === 'mutation' || e.type === 'deletion'), `vb ${vb}: only items after the marker`);
      assert.ok(items.every((e) => e.opaque === 0x10000 + vb), 'every message carries the stream opaque');
      for (let i = 1; i < items.length; i++) assert.ok(items[i]!.seqno > items[i - 1]!.seqno, 'seqnos increase');
      for (const e of items) {
        const key = e.key.toString();
        assert.ok(!seen.has(key), `${key} streamed twice (not deduplicated)`);
        assert.equal(vbOf(key), vb);
        seen.set(key, e);
      }
    }
    assert.equal(seen.size, latest.size);
    for (const [key, want] of latest) {
      const got = seen.get(key)!;
      if (want.deleted) {
        assert.equal(got.type, 'deletion', key);
      } else {
        assert.equal(got.type, 'mutation', key);
        if (got.type === 'mutation') {
          assert.equal(got.value.toString(), want.value);
          assert.equal(got.datatype, c.Datatype.Json);
        }
      }
    }
    const deletion = [...seen.values()].find((e) => e.type === 'deletion')!;
    assert.equal(consumer.events.find((e) => e === deletion)!.size, 24 + 18 + deletion.key.length, 'V1 deletion: 18-byte extras');

    // Live: two writes to one vbucket arrive as memory snapshots continuing the disk snapshot.
    const key = 'live-doc';
    const vb = vbOf(key);
    await bucket.set(key, '{"live":1}', json);
    await consumer.waitFor('live mutation', () => lastSeqno(vb) === highs[vb]! + 1);
    await bucket.set(key, '{"live":2}', json);
    await consumer.waitFor('second live mutation', () => lastSeqno(vb) === highs[vb]! + 2);
    const markers = consumer.eventsFor(vb).filter((e) => e.type === 'marker');
    assert.equal(markers.length, 3);
    const [, m2, m3] = markers;
    assert.ok(m2?.type === 'marker' && m3?.type === 'marker');
    assert.deepEqual([m2.start, m2.end, m2.flags], [highs[vb]! + 1, highs[vb]! + 1, c.SnapshotFlag.Memory | c.SnapshotFlag.Checkpoint]);
    assert.deepEqual([m3.start, m3.end, m3.flags], [highs[vb]! + 2, highs[vb]! + 2, c.SnapshotFlag.Memory]);
    assert.deepEqual(consumer.errors, []);
  });

  test('a stream resuming in the middle of a snapshot gets the rest, marked from its snapshot start', async (t) => {
    const keys = keysIn(5, 10, 'mid');
    for (const k of keys) await bucket.set(k, '{"a":1}', json);
    await bucket.quiesce();
    const info = bucket.vbucketInfo(5);
    // The consumer saw a snapshot [snapStart, high] but only items up to `start`.
    const snapStart = info.highSeqno - keys.length + 1;
    const start = snapStart + 2;
    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());
    const { result } = await consumer.streamRequest({
      vbucket: 5,
      startSeqno: start,
      vbUuid: info.uuid,
      snapStartSeqno: snapStart,
      snapEndSeqno: info.highSeqno,
    });
    assert.deepEqual(result, { kind: 'ok', failoverLog: [{ vbUuid: info.uuid, seqno: 0 }] });
    await consumer.waitFor('rest of the snapshot', () => consumer.items(5).at(-1)?.seqno === info.highSeqno);
    const [marker, ...items] = consumer.eventsFor(5);
    assert.ok(marker?.type === 'marker');
    assert.deepEqual([marker.start, marker.end, marker.flags], [snapStart, info.highSeqno, DISK_CHK]);
    assert.deepEqual(
      items.map((e) => (e.type === 'mutation' ? e.seqno : -1)),
      Array.from({ length: info.highSeqno - start }, (_, i) => start + 1 + i),
    );
  });

  test('from-latest streams only what is written after the request', async (t) => {
    await bucket.set('fl-before', '{}', json);
    const vb = vbOf('fl-before');
    const high = bucket.vbucketInfo(vb).highSeqno;
    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());
    // uuid 0 is replaced by the latest uuid; start/snapshot are ignored in favour of the high seqno.
    const { result } = await consumer.streamRequest({
      vbucket: vb,
      flags: c.DcpStreamFlag.FromLatest,
      startSeqno: 0,
      vbUuid: 0,
      snapStartSeqno: 0,
      snapEndSeqno: 0,
    });
    assert.equal(result.kind, 'ok');
    await bucket.set('fl-before', '{"after":true}', json);
    await consumer.waitFor('the new write', () => consumer.items(vb).length === 1);
    const [marker, item] = consumer.eventsFor(vb);
    assert.ok(marker?.type === 'marker' && item?.type === 'mutation');
    assert.deepEqual([marker.start, marker.end, marker.flags], [high, high + 1, c.SnapshotFlag.Memory | c.SnapshotFlag.Checkpoint]);
    assert.equal(item.seqno, high + 1);
    assert.equal(item.value.toString(), '{"after":true}');
  });

  test('end seqnos: explicit end, ToLatest and DiskOnly end the stream with Ok', async (t) => {
    const vb = 9;
    const keys = keysIn(vb, 6, 'end');
    for (const k of keys) await bucket.set(k, '"x"', json);
    await bucket.quiesce(); // DiskOnly ends at the persisted seqno
    const high = bucket.vbucketInfo(vb).highSeqno;
    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());

    const base = { vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 };
    await consumer.streamRequest({ ...base, endSeqno: 3 });
    assert.equal(await consumer.streamEnd(vb), c.StreamEndReason.Ok);
    const explicit = consumer.eventsFor(vb);
    assert.deepEqual(explicit.map((e) => e.type), ['marker', 'mutation', 'mutation', 'mutation', 'end']);
    assert.ok(explicit[0]?.type === 'marker' && explicit[0].end === 3);

    for (const flags of [c.DcpStreamFlag.ToLatest, c.DcpStreamFlag.DiskOnly]) {
      consumer.events.length = 0;
      await consumer.streamRequest({ ...base, flags });
      assert.equal(await consumer.streamEnd(vb), c.StreamEndReason.Ok);
      assert.equal(consumer.items(vb).at(-1)?.seqno, high);
    }

    // start == end: nothing to send, the stream ends at once.
    consumer.events.length = 0;
    await consumer.streamRequest({ ...base, startSeqno: 2, snapStartSeqno: 2, snapEndSeqno: 2, endSeqno: 2, vbUuid: bucket.vbucketInfo(vb).uuid });
    assert.equal(await consumer.streamEnd(vb), c.StreamEndReason.Ok);
    assert.deepEqual(consumer.eventsFor(vb).map((e) => e.type), ['end']);
  });
});
