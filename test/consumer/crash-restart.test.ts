/**
 * kill -9 of the server in the middle of a stream: the consumer keeps going on its own (reconnect
 * with backoff to the same node once it is back on the same ports), picks up the new failover
 * branch the unclean restart created, rolls back where a later failover demands it, and ends with
 * exactly the state the server has.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN } from '../helpers/server.js';
import { openChangeStream, type ChangeEvent } from '../../src/consumer/index.js';
import { EventFold, until } from './fixtures/cluster.js';
import { CrashableServer, KvWriter } from './fixtures/server-process.js';

const VBS = 16;

async function serverTruth(seed: string): Promise<EventFold> {
  const fold = new EventFold();
  for await (const e of openChangeStream({ seeds: [seed], credentials: ADMIN, to: 'now' })) fold.add(e);
  return fold;
}

describe('consumer > server crash and restart', () => {
  test('kill -9 mid-stream, restart on the same data: reconnect, follow the new branch, end with the server state', async (t) => {
    const server = await CrashableServer.start(t, 'freshet-crash-', VBS);
    const { kvPort, mgmtPort } = server;
    const seed = `couchbase://127.0.0.1:${kvPort}/default`;
    let writer = await KvWriter.open(kvPort, VBS);
    await writer.setMany('doc-', 3000);
    await writer.close();

    const fold = new EventFold();
    const stream = openChangeStream({
      seeds: [seed],
      credentials: ADMIN,
      highWaterMark: 16,
      feedBufferSizeBytes: 16 * 1024,
      dataManagerSleepInitMS: 50,
      dataManagerSleepMaxMS: 200,
      clusterManagerSleepInitMS: 50,
      clusterManagerSleepMaxMS: 200,
    });
    t.after(() => stream.close());
    const it = stream[Symbol.asyncIterator]();
    let consuming = true;
    const consumer = (async () => {
      while (consuming) {
        const r = await it.next();
        if (r.done) return;
        fold.add(r.value as ChangeEvent);
        if (fold.events < 1200) await new Promise((res) => setImmediate(res));
      }
    })();

    await until(() => fold.events >= 1000, '1000 events before the crash', 60_000);
    assert.ok(fold.events < 3000, 'the crash happens mid-stream');
    await server.kill();

    await server.restart(); // unclean restart: new failover entries
    writer = await KvWriter.open(kvPort, VBS);
    for (let i = 0; i < 100; i++) await writer.delete(`doc-${i * 3}`);
    await writer.setMany('after-', 500);
    await writer.close();

    // A failover that discards history on vbucket 0, over the admin REST endpoint. The discarded
    // items are all new keys ('after-'): Freshet keeps one version per key, so discarding a key's
    // latest version removes the key, where a real replica would still hold its older version.
    const auth = { Authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` };
    const info = (await (await fetch(`http://127.0.0.1:${mgmtPort}/freshet/buckets/default/vbuckets/0`, { headers: auth })).json()) as { highSeqno: number };
    const discardAbove = info.highSeqno - 5;
    // The consumer has the items the failover discards, so it must roll back.
    await until(() => fold.lastSeq(0) >= info.highSeqno, 'vbucket 0 streamed to its high seqno', 60_000);
    const res = await fetch(`http://127.0.0.1:${mgmtPort}/freshet/buckets/default/vbuckets/0/failover`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `discardAbove=${discardAbove}`,
    });
    assert.equal(res.status, 200);

    const truth = await serverTruth(seed);
    await until(() => Array.from({ length: VBS }, (_, vb) => vb).every((vb) => fold.lastSeq(vb) === truth.lastSeq(vb)), 'caught up with the server', 60_000);
    consuming = false;
    assert.deepEqual(fold.state(), truth.state());
    const s = stream.stats()!;
    assert.ok(s.totWorkerConnLost + s.totWorkerConnectErr >= 1, 'the connection loss was seen');
    assert.ok(s.totWorkerConnectOk >= 2, 'reconnected');
    assert.deepEqual(fold.rollbacks.map((r) => r.vbucket), [0], 'rolled back where the failover demanded, nowhere else');
    assert.ok(fold.rollbacks[0]!.seqno <= discardAbove);
    // every vbucket's position now names the branch the restart created
    await stream.close();
    await consumer;
    for (let vb = 0; vb < VBS; vb++) assert.ok(stream.committed(vb)!.meta.failOverLog.length >= 2, `vbucket ${vb} has the new branch`);
  });
});
