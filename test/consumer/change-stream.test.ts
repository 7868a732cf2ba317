/**
 * openChangeStream against a real in-process Freshet: from/to 'now', exact resume from a file
 * checkpoint, and a failover that discards history (rollback event, then the right final state).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startTestServer, tempDir, ADMIN } from '../helpers/server.js';
import { FileCheckpointStore, openChangeStream, type ChangeEvent } from '../../src/consumer/index.js';
import { EventFold, serverState, until, writeDocs } from './fixtures/cluster.js';

const keyOf = (e: ChangeEvent): string => ('key' in e ? e.key.toString() : '');

describe('consumer > change stream (real server)', () => {
  test("from 'now' sees only later writes; to 'now' ends the iteration", async (t) => {
    const ts = await startTestServer({ numVBuckets: 16 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 300, 'old-');
    const seed = `couchbase://127.0.0.1:${ts.server.ports.kv}/default`;

    const live = openChangeStream({ seeds: [seed], credentials: ADMIN, from: 'now' });
    t.after(() => live.close());
    await live.ready();
    let started = 0;
    live.onStatus((s) => void (s.type === 'stream-started' && started++));
    await until(() => started === 16, 'all streams started');
    await writeDocs(bucket, 50, 'new-');
    const seen: string[] = [];
    for await (const e of live) {
      seen.push(keyOf(e));
      if (seen.length === 50) break;
    }
    assert.deepEqual(seen.sort(), Array.from({ length: 50 }, (_, i) => `new-${i}`).sort());
    assert.equal(live.stats()!.totFromNowResolve, 16);

    // bounded: ends by itself at the state of the start
    const bounded = openChangeStream({ seeds: [seed], credentials: ADMIN, to: 'now' });
    const fold = new EventFold();
    for await (const e of bounded) fold.add(e);
    assert.deepEqual(fold.state(), await serverState(bucket));
    assert.equal(fold.events, 350);
  });

  test('restart from a file checkpoint resumes right after the last event consumed', async (t) => {
    const ts = await startTestServer({ numVBuckets: 16 });
    const dir = tempDir('freshet-cp-');
    t.after(async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 2000);
    const seed = `couchbase://127.0.0.1:${ts.server.ports.kv}/default`;
    const checkpoint = join(dir, 'tail.json');
    const fold = new EventFold();

    const first = openChangeStream({ seeds: [seed], credentials: ADMIN, checkpoint, highWaterMark: 64 });
    const lastOfRun1 = new Map<number, number>();
    for await (const e of first) {
      fold.add(e);
      if (e.type !== 'rollback') lastOfRun1.set(e.vbucket, e.seqno);
      if (fold.events === 700) break; // closes the stream: the 700th counts as consumed, checkpoint saved
    }
    const saved = await new FileCheckpointStore(checkpoint).load();
    for (const [vb, seq] of lastOfRun1) assert.equal(saved!.vbuckets[String(vb)]!.lastSeq, seq, `vbucket ${vb} checkpoint`);

    await writeDocs(bucket, 500, 'more-');
    const second = openChangeStream({ seeds: [seed], credentials: ADMIN, checkpoint, to: 'now' });
    for await (const e of second) {
      assert.notEqual(e.type, 'rollback');
      if (e.type !== 'rollback') assert.ok(e.seqno > (lastOfRun1.get(e.vbucket) ?? 0), 'no repeats of consumed events');
      fold.add(e); // throws on any seqno going backwards
    }
    assert.equal(fold.events, 2500, 'no gaps, no repeats');
    assert.deepEqual(fold.state(), await serverState(bucket));
  });

  test('a failover that discards items: rollback event, then exactly the server state', async (t) => {
    const ts = await startTestServer({ numVBuckets: 4 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 400);
    const stream = openChangeStream({ seeds: [`couchbase://127.0.0.1:${ts.server.ports.kv}/default`], credentials: ADMIN });
    t.after(() => stream.close());
    const fold = new EventFold();
    const it = stream[Symbol.asyncIterator]();
    const pull = async (until: () => boolean): Promise<void> => {
      while (!until()) fold.add((await it.next()).value as ChangeEvent);
    };
    await pull(() => fold.events === 400);
    const vb = 1;
    const high = bucket.vbucketInfo(vb).highSeqno;
    const discardAbove = high - 20;
    await ts.server.engine.failover('default', vb, { discardAbove });
    await writeDocs(bucket, 200, 'after-');
    await pull(() => fold.rollbacks.length > 0);
    assert.deepEqual(fold.rollbacks, [{ vbucket: vb, seqno: discardAbove }]);
    await pull(() => [0, 1, 2, 3].every((v) => fold.lastSeq(v) === bucket.vbucketInfo(v).highSeqno));
    assert.deepEqual(fold.state(), await serverState(bucket));
    assert.equal(stream.stats()!.totUPRStreamReqResRollback, 1);
  });
});
