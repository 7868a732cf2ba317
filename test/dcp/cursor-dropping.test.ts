/**
 * A consumer stalled beyond what memory holds is dropped to backfill and loses nothing (issue #16;
 * dcp.md §3.4, kv_engine cursor dropping: "a slow consumer can be switched back to disk at any
 * time"). The server keeps only `checkpointBytes` (64 KiB here) of persisted versions per vbucket
 * in memory; a consumer with a small flow-control window stops acknowledging while 20k writes go
 * in, so its cursor falls below the checkpoint queue's floor. Once it reads again it must get a
 * Disk snapshot for the rest, after the Memory snapshots it had, and end with exactly the server's
 * state: every key's value, CAS, deleted flag and seqno.
 *
 * Both with the `supports_cursor_dropping` control negotiated and for a consumer that is not
 * eligible (a name with "replication", kv's default): Freshet's follower reads the disk whenever
 * a cursor is below memory, so both backfill rather than hold memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { startTestServer } from '../helpers/server.js';
import { DcpTestConsumer } from './helpers/consumer.js';
import { DcpMirror, assertSameState, serverState } from '../server/fixtures/dcp-mirror.js';

const VBS = 4;
const DOCS = 20_000;
const WINDOW = 8192;

async function stalledConsumer(variant: { name: string; controls: Record<string, string>; eligible: string }): Promise<void> {
  const server = await startTestServer({ numVBuckets: VBS, checkpointBytes: 64 * 1024 });
  try {
    const bucket = server.server.engine.bucket('default')!;
    const cons = await DcpTestConsumer.open(server, { name: variant.name, controls: { connection_buffer_size: String(WINDOW), ...variant.controls } });
    const watcher = await DcpTestConsumer.open(server, { name: `${variant.name}-watcher` });
    const mirror = new DcpMirror(VBS);
    mirror.attach(cons);
    for (let vb = 0; vb < VBS; vb++) mirror.accepted(vb, await cons.streamFromZero(vb));
    assert.equal((await watcher.stats('dcp')).get(`eq_dcpq:${variant.name}:cursor_dropping`), variant.eligible);

    // 20k writes (every tenth rewritten, every twentieth deleted) while the consumer reads nothing.
    const model = new Map<string, string | null>();
    for (let i = 0; i < DOCS; i += 500) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < i + 500; j++) {
        const key = `doc-${j}`;
        const value = JSON.stringify({ j, pad: 'x'.repeat(80) });
        batch.push(bucket.set(key, value, { datatype: c.Datatype.Json }));
        model.set(key, value);
      }
      await Promise.all(batch);
      const again: Promise<unknown>[] = [];
      for (let j = i; j < i + 500; j += 10) {
        const key = `doc-${j}`;
        if (j % 20 === 0) {
          again.push(bucket.delete(key));
          model.set(key, null);
        } else {
          const value = JSON.stringify({ j, again: true });
          again.push(bucket.set(key, value, { datatype: c.Datatype.Json }));
          model.set(key, value);
        }
      }
      await Promise.all(again);
    }
    const highs = Array.from({ length: VBS }, (_, vb) => bucket.vbucketInfo(vb).highSeqno);
    // The flusher catches up, and the persisted versions beyond 64 KiB leave memory.
    for (let tries = 0; !highs.every((h, vb) => bucket.vbucketInfo(vb).persistedSeqno === h); tries++) {
      assert.ok(tries < 1000, 'the flusher persisted everything');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    mirror.fold();
    const stalledAt = mirror.vbs.map((p) => p.seqno);
    assert.ok(cons.countedBytes <= WINDOW + 1024, `the stalled consumer was sent one window (${cons.countedBytes} bytes)`);
    assert.ok(stalledAt.every((s, vb) => s < highs[vb]!), 'every stream is behind');

    // Read again, acknowledging as it goes.
    let acked = 0;
    const timer = setInterval(() => {
      const pending = cons.countedBytes - acked;
      if (pending > 0) {
        acked += pending;
        void cons.ack(pending);
      }
    }, 2);
    try {
      await cons.waitFor('every stream caught up', () => {
        mirror.fold();
        return mirror.vbs.every((p, vb) => p.seqno === highs[vb]);
      }, 60_000);
    } finally {
      clearInterval(timer);
    }

    for (let vb = 0; vb < VBS; vb++) {
      const markers = mirror.vbs[vb]!.markers;
      const firstMemory = markers.findIndex((m) => (m.flags & c.SnapshotFlag.Memory) !== 0);
      const disk = markers.findIndex((m, i) => i > firstMemory && (m.flags & c.SnapshotFlag.Disk) !== 0);
      assert.ok(firstMemory >= 0 && disk > firstMemory, `vb ${vb}: a Disk snapshot after the Memory ones (${JSON.stringify(markers.slice(0, 6))})`);
      assert.ok(markers[disk]!.start > stalledAt[vb]!, `vb ${vb}: the backfill starts after what was delivered`);
      assert.ok(markers[disk]!.start > 1, `vb ${vb}: the backfill is for the rest, not from the start`);
    }

    const stats = await watcher.stats('dcp');
    for (let vb = 0; vb < VBS; vb++) assert.ok(Number(stats.get(`eq_dcpq:${variant.name}:stream_${vb}_cursor_drops`)) >= 1, `vb ${vb}: the drop is counted`);

    // Nothing lost: the consumer's state is the server's, and the writes' outcome.
    const truth = await serverState(() => DcpTestConsumer.open(server), highs);
    assertSameState(mirror.keys, truth.keys, variant.name);
    assert.equal(mirror.keys.size, DOCS);
    for (const [key, value] of model) {
      const got = mirror.keys.get(key)!;
      assert.deepEqual({ deleted: got.deleted, value: got.deleted ? null : got.value }, { deleted: value === null, value }, key);
    }
    assert.deepEqual(cons.errors, []);
    await watcher.close();
    await cons.close();
  } finally {
    await server.close();
  }
}

describe('dcp > a consumer stalled beyond memory', () => {
  test('with supports_cursor_dropping: dropped to a disk backfill, ends with the server state', () =>
    stalledConsumer({ name: 'stalled-eligible', controls: { supports_cursor_dropping: 'true' }, eligible: 'true' }));

  test('not eligible (a replication connection): also backfills from disk, loses nothing', () =>
    stalledConsumer({ name: 'stalled-replication', controls: {}, eligible: 'false' }));
});
