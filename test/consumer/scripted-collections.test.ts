/**
 * Collection-aware streaming against a scripted producer over a real socket: what the consumer
 * sends (HELLO Collections, GET_COLLECTIONS_MANIFEST, the stream-request JSON filter, per-collection
 * GET_ALL_VB_SEQNOS) and what it does with system events, SEQNO_ADVANCED and FilterEmpty; and that
 * a plain BucketDataSource stays cbdatasource (no HELLO Collections, no filter).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { BucketDataSource, isConsumerError, MemoryCheckpointStore, openChangeStream, type ChangeEvent, type ChangeStreamOptions } from '../../src/consumer/index.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';
import { MANIFEST, systemEventFrame } from './fixtures/collection-frames.js';

const creds = { username: 'alice', password: 'secret' };
const streamOk = (req: c.Packet) => c.encodeStreamRequestOk([{ vbUuid: 0xabc, seqno: 0 }], { opaque: req.opaque });
const marker = (req: c.Packet, start: number, end: number): c.Packet =>
  c.encodeSnapshotMarker({ opaque: req.opaque, vbucket: req.vbucket, version: 'v1', startSeqno: start, endSeqno: end, flags: 1 });
const mutation = (req: c.Packet, seq: number, cid: number, key: string): c.Packet =>
  c.encodeDcpMutation({ opaque: req.opaque, vbucket: req.vbucket, key: c.joinCollectionKey(cid, key), value: `{"seq":${seq}}`, cas: BigInt(seq), datatype: 1, bySeqno: seq, revSeqno: 1, flags: 0, expiration: 0 });

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function collectionsNode(t: TestContext, withCollections = true): Promise<ScriptedNode> {
  const node = await ScriptedNode.start(4);
  if (withCollections) node.collections = { manifest: MANIFEST, highSeqnos: new Map() };
  t.after(() => node.close());
  return node;
}

function stream(t: TestContext, node: ScriptedNode, opts: Partial<ChangeStreamOptions>) {
  const s = openChangeStream({ seeds: [node.seed], credentials: creds, vbuckets: [0], noopTimeIntervalSecs: 0, dataManagerSleepInitMS: 10, dataManagerSleepMaxMS: 20, ...opts });
  t.after(() => s.close());
  return s;
}

describe('consumer > collections against a scripted producer', () => {
  test('a plain BucketDataSource stays cbdatasource: no HELLO Collections, no stream filter', async (t) => {
    const node = await collectionsNode(t);
    const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver: new MemoryReceiver(), vbuckets: [0], options: { noopTimeIntervalSecs: 0 } });
    t.after(() => ds.close());
    ds.start();
    const conn = await node.nextDcp();
    const req = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.equal(req.value.length, 0);
    assert.ok(node.helloFeatures.length > 0 && node.helloFeatures.every((f) => !f.includes(c.Feature.Collections)));
    assert.equal(conn.all(c.Opcode.CollectionsGetManifest).length, 0);
  });

  test('a collections filter: items with names, a drop event, seqno-advanced moves the checkpoint, FilterEmpty ends', async (t) => {
    const node = await collectionsNode(t);
    const store = new MemoryCheckpointStore();
    const s = stream(t, node, { collections: ['inventory.hotel'], checkpoint: store });
    const conn = await node.nextDcp();
    const reqP = await conn.next(c.Opcode.DcpStreamReq);
    assert.equal(c.decodeStreamRequest(reqP).value.toString(), '{"collections":["a2"]}');
    assert.ok(node.helloFeatures.at(-1)!.includes(c.Feature.Collections));
    conn.send(streamOk(reqP), marker(reqP, 1, 6), mutation(reqP, 3, 0xa2, 'h1'), c.encodeSeqnoAdvanced({ opaque: reqP.opaque, vbucket: 0, seqno: 6 }));
    const first = await s.next();
    assert.equal(first.done, false);
    const m = first.value as ChangeEvent;
    assert.ok(m.type === 'mutation');
    assert.deepEqual([m.key.toString(), m.scope, m.collection, m.collectionId, m.seqno], ['h1', 'inventory', 'hotel', 0xa2, 3]);
    // asking for the next event commits the mutation, then the seqno-advanced position (a snapshot end: saved)
    const second = s.next();
    await until(() => s.committed(0)?.lastSeq === 6, 'seqno-advanced committed');
    await until(() => store.current?.vbuckets['0']?.lastSeq === 6, 'checkpoint at 6');
    conn.send(marker(reqP, 7, 7), systemEventFrame(reqP.opaque, 0, 7, { type: 'EndCollection', manifestUid: 6, scopeId: 8, collectionId: 0xa2 }), c.encodeStreamEnd({ opaque: reqP.opaque, vbucket: 0, reason: c.StreamEndReason.FilterEmpty }));
    const drop = (await second).value as ChangeEvent;
    assert.deepEqual(drop, { type: 'collection', action: 'drop', vbucket: 0, seqno: 7, manifestUid: 6, scope: 'inventory', scopeId: 8, collection: 'hotel', collectionId: 0xa2 });
    // every wanted vbucket ended FilterEmpty: the iteration ends instead of re-requesting forever
    assert.equal((await s.next()).done, true);
    const st = s.stats()!;
    assert.deepEqual([st.totUPRSeqnoAdvanced, st.totUPRSystemEvent, st.totUPRStreamEndFilterEmpty, st.totCollectionsManifest], [1, 1, 1, 1]);
    assert.equal(conn.all(c.Opcode.DcpStreamReq).length, 1);
    assert.equal(store.current?.vbuckets['0']?.lastSeq, 7);
  });

  test("a scope filter, and from 'now' / to 'now' at the max of the scope's collection high seqnos", async (t) => {
    const node = await collectionsNode(t);
    node.highSeqnos.set(0, 50);
    node.collections!.highSeqnos = new Map([
      [8, new Map([[0, 10]])],
      [0xa2, new Map([[0, 20]])],
    ]);
    stream(t, node, { scope: 'inventory', from: 'now' });
    const conn = await node.nextDcp();
    const req = c.decodeStreamRequest(await conn.next(c.Opcode.DcpStreamReq));
    assert.equal(req.value.toString(), '{"scope":"8"}');
    assert.deepEqual([req.startSeqno, req.snapStartSeqno, req.snapEndSeqno, req.endSeqno, req.vbUuid], [20, 20, 20, c.SEQNO_INFINITY, 0xabc]);
    assert.deepEqual([...new Set(node.seqnoRequests)].sort(), [0xa2, 8].sort());
    // to 'now' ends there too
    stream(t, node, { scope: 'inventory', to: 'now' });
    const conn2 = await node.nextDcp();
    const req2 = c.decodeStreamRequest(await conn2.next(c.Opcode.DcpStreamReq));
    assert.deepEqual([req2.startSeqno, req2.endSeqno], [0, 20]);
    // a scope without collections: "now" is the vbucket's high seqno
    node.seqnoRequests.length = 0;
    stream(t, node, { scope: 'tenants', from: 'now' });
    const conn3 = await node.nextDcp();
    const req3 = c.decodeStreamRequest(await conn3.next(c.Opcode.DcpStreamReq));
    assert.deepEqual([req3.value.toString(), req3.startSeqno], ['{"scope":"9"}', 50]);
    assert.deepEqual(node.seqnoRequests, [undefined]);
  });

  test("from 'now' with collections whose high seqnos are below the vbucket's starts after that collection's documents", async (t) => {
    const node = await collectionsNode(t);
    node.highSeqnos.set(0, 50);
    node.collections!.highSeqnos = new Map([[8, new Map([[0, 12]])]]);
    const s = stream(t, node, { collections: ['inventory.airport'], from: 'now' });
    const conn = await node.nextDcp();
    const reqP = await conn.next(c.Opcode.DcpStreamReq);
    const req = c.decodeStreamRequest(reqP);
    assert.deepEqual([req.startSeqno, req.endSeqno], [12, c.SEQNO_INFINITY]);
    assert.deepEqual(node.seqnoRequests, [8]);
    conn.send(streamOk(reqP), marker(reqP, 13, 51), mutation(reqP, 51, 8, 'SFO'));
    const e = (await s.next()).value as ChangeEvent;
    assert.ok(e.type === 'mutation' && e.key.toString() === 'SFO' && e.collection === 'airport');
  });

  test('unknown names and a server without collections end the iteration with a stable code', async (t) => {
    const node = await collectionsNode(t);
    const unknown = stream(t, node, { collections: ['inventory.route'] });
    await assert.rejects(unknown.next(), (e: unknown) => isConsumerError(e, 'UNKNOWN_COLLECTION') && e.code === 'CONSUMER_UNKNOWN_COLLECTION');
    const noScope = stream(t, node, { scope: 'nope' });
    await assert.rejects(noScope.next(), (e: unknown) => isConsumerError(e, 'UNKNOWN_SCOPE'));
    const old = await collectionsNode(t, false);
    const legacyServer = stream(t, old, { collections: ['inventory.airport'] });
    await assert.rejects(legacyServer.next(), (e: unknown) => isConsumerError(e, 'COLLECTIONS_UNSUPPORTED'));
  });

  test('a stream request refused with unknown collection resolves names again on a new connection', async (t) => {
    const node = await collectionsNode(t);
    const s = stream(t, node, { collections: ['inventory.airport'] });
    const conn = await node.nextDcp();
    const reqP = await conn.next(c.Opcode.DcpStreamReq);
    // the collection was dropped between the manifest and the stream request
    node.collections!.manifest = { uid: '6', scopes: [MANIFEST.scopes[0], { name: 'inventory', uid: '8', collections: [] }] };
    conn.send(c.replyTo(reqP, { status: c.Status.UnknownCollection }));
    await assert.rejects(s.next(), (e: unknown) => isConsumerError(e, 'UNKNOWN_COLLECTION') && e.context.manifestUid === 6);
    assert.equal(s.stats()!.totUPRStreamReqResFailUnknownCollection, 1);
    assert.equal(s.stats()!.totCollectionsManifest, 2);
  });
});
