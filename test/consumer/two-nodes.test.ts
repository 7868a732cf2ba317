/**
 * Two in-process Freshet nodes serving one bucket from one shared vbucket map (the topology hook
 * of src/topology/topology.ts: setNodes + setOwners on each node). The consumer keeps one DCP
 * connection per node, and when the map moves a vbucket it closes the stream on the old owner and
 * opens it on the new one, never streaming it from both.
 *
 * Here the nodes are wired with the bare topology hook, without intra-cluster replication, so the
 * new owner's copy has its own history (another failover uuid): the move ends in a rollback to 0
 * and a re-stream from the new owner. The lossless move (a cluster-map file, replicas fed over
 * DCP, promotion keeping the history) is test/cluster/processes.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, ADMIN } from '../helpers/server.js';
import { BucketDataSource } from '../../src/consumer/index.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';
import { serverState, until, writeDocs } from './fixtures/cluster.js';

describe('consumer > two nodes, one map', () => {
  test('one connection per node; a moved vbucket is closed on the old node and streamed from the new one', async (t) => {
    const a = await startTestServer({ numVBuckets: 8 });
    const b = await startTestServer({ numVBuckets: 8 });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const nodes = [a, b].map((s) => ({ kvPort: s.server.ports.kv, mgmtPort: s.server.ports.mgmt }));
    const setOwners = (owners: number[]): void => {
      for (const s of [a, b]) s.server.topology.setOwners('default', owners);
    };
    a.server.topology.setNodes(nodes, 0);
    b.server.topology.setNodes(nodes, 1);
    setOwners([0, 0, 0, 0, 1, 1, 1, 1]);
    const [ba, bb] = [a, b].map((s) => s.server.engine.bucket('default')!);
    await writeDocs(ba!, 400);
    await writeDocs(bb!, 400); // the same documents on both nodes

    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({
      seeds: [`http://127.0.0.1:${a.server.ports.mgmt}`],
      bucket: 'default',
      credentials: ADMIN,
      receiver,
      options: { clusterManagerSleepInitMS: 20, clusterManagerSleepMaxMS: 50 },
    });
    t.after(() => ds.close());
    const servers = new Set<string>();
    ds.onStatus((s) => void (s.type === 'connected' && servers.add(s.server)));
    ds.start();
    const caughtUp = (): boolean => [0, 1, 2, 3, 4, 5, 6, 7].every((vb) => (receiver.history.get(vb)?.at(-1)?.seq ?? 0) === (vb < 4 ? ba! : bb!).vbucketInfo(vb).highSeqno);
    await until(caughtUp, 'both nodes streamed');
    assert.equal(servers.size, 2);
    assert.equal(ds.stats().totRefreshWorkersAddWorker, 2);

    setOwners([0, 0, 0, 1, 1, 1, 1, 1]); // move vbucket 3 to node b
    await writeDocs(bb!, 100, 'moved-');
    const onB = (vb: number): boolean => vb >= 3;
    await until(
      () => [0, 1, 2, 3, 4, 5, 6, 7].every((vb) => (receiver.history.get(vb)?.at(-1)?.seq ?? 0) === (onB(vb) ? bb! : ba!).vbucketInfo(vb).highSeqno) && receiver.rollbacks.length > 0,
      'vbucket 3 from node b',
    );
    const s = ds.stats();
    assert.ok(s.totUPRCloseStream >= 1, 'closed on the old owner');
    assert.ok(s.totRefreshClusterStreamingUpdate >= 1, 'the move arrived through the streaming config');
    assert.deepEqual(receiver.rollbacks.map((r) => [r.vb, r.seq]), [[3, 0]], 'the new copy has another history');
    const expected = new Map([...(await serverState(ba!))].filter(([k]) => !onB(ba!.vbucketOf(k))));
    for (const [k, v] of await serverState(bb!)) if (onB(bb!.vbucketOf(k))) expected.set(k, v);
    assert.deepEqual(receiver.state(), expected);
  });
});
