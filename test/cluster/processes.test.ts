/**
 * A two-node development cluster of real `freshet serve` processes sharing one map file: KV writes
 * land on the owner and a non-owner answers NOT_MY_VBUCKET with the map; a BucketDataSource streams
 * the whole bucket over one connection per node; then the map moves a vbucket whose replica has
 * caught up, and the consumer follows it to the new owner with no rollback and no gap, ending with
 * exactly the union of both nodes' active state.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { Status, VbucketStateFilter } from '../../src/codec/index.js';
import { BucketDataSource, openChangeStream } from '../../src/consumer/index.js';
import { vbucketOf } from '../../src/engine/vbucket-hash.js';
import { ADMIN, tempDir } from '../helpers/server.js';
import { MemoryReceiver } from '../consumer/fixtures/memory-receiver.js';
import { EventFold } from '../consumer/fixtures/cluster.js';
import { NodeClient, spawnNode, vbucketInfo, type NodeProcess } from './fixtures/node-process.js';
import { until, writeMap } from './fixtures/map.js';
import { connectSdk, SDK_TEST_TIMEOUT } from '../kv/sdk.js';

const VBS = 16;
const MOVED = 7;

describe('cluster > two serve processes, one map file', () => {
  test('routing, NOT_MY_VBUCKET, one DCP connection per node, and a lossless vbucket move', { timeout: SDK_TEST_TIMEOUT }, async (t) => {
    const dir = tempDir('freshet-cluster-run-');
    const file = join(dir, 'map.json');
    const nodes: NodeProcess[] = [];
    const clients: NodeClient[] = [];
    t.after(async () => {
      for (const c of clients) await c.close();
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    });
    nodes.push(...(await Promise.all([0, 1].map((i) => spawnNode(join(dir, `n${i}`), file, i, VBS)))));
    clients.push(...(await Promise.all(nodes.map((n) => NodeClient.open(n.kvPort)))));
    const owners = Array.from({ length: VBS }, (_, vb) => (vb < VBS / 2 ? 0 : 1));
    writeMap(file, 1, nodes, owners);

    const activeOn = async (i: number): Promise<number[]> => [...(await clients[i]!.seqnos(VbucketStateFilter.Active)).keys()].sort((x, y) => x - y);
    const ownedBy = (i: number): number[] => owners.flatMap((o, vb) => (o === i ? [vb] : []));
    const mapApplied = async (): Promise<boolean> =>
      JSON.stringify([await activeOn(0), await activeOn(1)]) === JSON.stringify([ownedBy(0), ownedBy(1)]);
    await until(mapApplied, 'map 1 applied on both nodes');

    const expected = new Map<string, string>();
    const write = async (key: string, value: string | null): Promise<void> => {
      const vb = vbucketOf(Buffer.from(key), VBS);
      const c = clients[owners[vb]!]!;
      const res = value === null ? await c.delete(key, vb) : await c.set(key, value, vb);
      assert.equal(res.status, Status.Success, `${key} on node ${owners[vb]}`);
      if (value === null) expected.delete(key);
      else expected.set(key, value);
    };
    for (let i = 0; i < 400; i++) await write(`doc-${i}`, JSON.stringify({ i }));

    // The SDK routes by the shared map: its writes reach both nodes (and show up in the final state).
    const sdk = await connectSdk(nodes[0]!.kvPort);
    t.after(() => sdk.close());
    const collection = sdk.bucket('default').defaultCollection();
    const sdkWrite = async (key: string, value: { sdk: number }): Promise<void> => {
      await collection.upsert(key, value);
      expected.set(key, JSON.stringify(value));
    };
    for (let i = 0; i < 40; i++) await sdkWrite(`sdk-${i}`, { sdk: i });

    // A non-owner refuses with NOT_MY_VBUCKET and hands out the shared map.
    let probe = 0;
    while (owners[vbucketOf(Buffer.from(`probe-${probe}`), VBS)] !== 0) probe++;
    const nmvb = await clients[1]!.set(`probe-${probe}`, '{}', vbucketOf(Buffer.from(`probe-${probe}`), VBS));
    assert.equal(nmvb.status, Status.NotMyVbucket);
    const config = JSON.parse(nmvb.value.toString()) as { revEpoch: number; vBucketServerMap: { vBucketMap: number[][]; serverList: string[] } };
    assert.equal(config.revEpoch, 1, 'the map file rev is the config epoch');
    assert.deepEqual(config.vBucketServerMap.vBucketMap.map((row) => row[0]), owners);
    assert.equal(config.vBucketServerMap.serverList.length, 2);

    const receiver = new MemoryReceiver();
    const ds = new BucketDataSource({
      seeds: [`http://127.0.0.1:${nodes[0]!.mgmtPort}`],
      bucket: 'default',
      credentials: ADMIN,
      receiver,
      options: { clusterManagerSleepInitMS: 20, clusterManagerSleepMaxMS: 100, dataManagerSleepInitMS: 20, dataManagerSleepMaxMS: 100 },
    });
    t.after(() => ds.close());
    const servers = new Set<string>();
    ds.onStatus((s) => void (s.type === 'connected' && servers.add(s.server)));
    ds.start();
    const lastSeq = (vb: number): number => receiver.history.get(vb)?.at(-1)?.seq ?? 0;
    const consumerCaughtUp = async (): Promise<boolean> => {
      const highs = new Map([...(await clients[0]!.seqnos(VbucketStateFilter.Active)), ...(await clients[1]!.seqnos(VbucketStateFilter.Active))]);
      return highs.size === VBS && [...highs].every(([vb, high]) => lastSeq(vb) === high);
    };
    await until(consumerCaughtUp, 'the consumer streamed both nodes');
    assert.equal(servers.size, 2, 'one DCP connection per node');

    // The replica of the vbucket to move catches up on node 1 under node 0's failover log.
    const replicaCaughtUp = async (): Promise<boolean> => {
      const [a, r] = await Promise.all([vbucketInfo(nodes[0]!.mgmtPort, MOVED), vbucketInfo(nodes[1]!.mgmtPort, MOVED)]);
      return r.state === 'replica' && r.highSeqno === a.highSeqno && JSON.stringify(r.failoverLog) === JSON.stringify(a.failoverLog);
    };
    await until(replicaCaughtUp, `the replica of vbucket ${MOVED} caught up`);
    const before = await vbucketInfo(nodes[0]!.mgmtPort, MOVED);
    assert.ok(before.highSeqno > 0);

    owners[MOVED] = 1;
    writeMap(file, 2, nodes, owners);
    await until(mapApplied, `vbucket ${MOVED} moved to node 1`);
    const promoted = await vbucketInfo(nodes[1]!.mgmtPort, MOVED);
    assert.deepEqual(promoted.failoverLog, [{ uuid: promoted.failoverLog[0]!.uuid, seqno: before.highSeqno }, ...before.failoverLog]);

    // More writes, some to the moved vbucket (now on node 1), and deletions across the bucket.
    for (let i = 400; i < 600; i++) await write(`doc-${i}`, JSON.stringify({ i, after: true }));
    for (let i = 0; i < 600; i += 7) await write(`doc-${i}`, null);
    // The same SDK connection, bootstrapped with map 1: writes to the moved vbucket reach node 1
    // (through a NOT_MY_VBUCKET carrying map 2, or a config it fetched meanwhile).
    for (let i = 40; i < 120; i++) await sdkWrite(`sdk-${i}`, { sdk: i });
    assert.ok([...expected.keys()].some((k) => k.startsWith('sdk-') && vbucketOf(Buffer.from(k), VBS) === MOVED && Number(k.slice(4)) >= 40));
    assert.ok([...expected.keys()].some((k) => vbucketOf(Buffer.from(k), VBS) === MOVED && Number(k.slice(4)) >= 400));

    await until(consumerCaughtUp, 'the consumer followed the moved vbucket');
    assert.deepEqual(receiver.rollbacks, [], 'no rollback: the new owner continues the old history');
    assert.ok(ds.stats().totUPRStreamEnd >= 1, 'the old owner ended the stream (state changed)');
    assert.deepEqual(receiver.errors, []);
    assert.ok(receiver.history.get(MOVED)!.some((c) => c.seq > before.highSeqno), 'the moved vbucket continued past the move');
    assert.deepEqual(receiver.state(), expected);

    // The union of both nodes' active vbuckets, read by a fresh consumer, is the same state.
    const fold = new EventFold();
    for await (const e of openChangeStream({ seeds: [`couchbase://127.0.0.1:${nodes[1]!.kvPort}/default`], credentials: ADMIN, to: 'now' })) fold.add(e);
    assert.deepEqual(fold.state(), expected);
  });
});
