/**
 * DCP_STREAM_REQ over the wire: each rollback case of dcp.md §3.5 produced by real history
 * (failover with discarded items, purged tombstones, unknown uuids), ERANGE cases, duplicate
 * streams, NotMyVbucket for vbuckets that are not active, noop-mandatory NotSupported, and a
 * failover while a stream is open (STREAM_END Rollback, then a rollback on re-request).
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
  server = await startTestServer({ numVBuckets: 32 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

/** Write `count` new keys into vbucket `vb`; returns the keys. */
async function fill(vb: number, count: number, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (bucket.vbucketOf(`${prefix}-${i}`) === vb) keys.push(`${prefix}-${i}`);
  for (const k of keys) await bucket.set(k, '{"v":1}', { datatype: c.Datatype.Json });
  return keys;
}

async function consumer(t: import('node:test').TestContext, opts: Parameters<typeof DcpTestConsumer.open>[1] = {}): Promise<DcpTestConsumer> {
  const cons = await DcpTestConsumer.open(server, opts);
  t.after(() => cons.close());
  return cons;
}

function rollbackTo(result: c.StreamRequestResult): number {
  assert.equal(result.kind, 'rollback', JSON.stringify(result));
  return result.kind === 'rollback' ? result.rollbackSeqno : -1;
}

describe('dcp > stream requests > rollback (dcp.md §3.5)', () => {
  test('a rollback reply is status 0x23 with exactly an 8-byte seqno and no extras', async (t) => {
    const cons = await consumer(t);
    const { packet } = await cons.streamRequest({ vbucket: 0, startSeqno: 5, vbUuid: 0x1234, snapStartSeqno: 5, snapEndSeqno: 5 });
    assert.equal(packet.status, c.Status.Rollback);
    assert.deepEqual([packet.extras.length, packet.key.length, packet.value.length], [0, 0, 8]);
    assert.equal(packet.value.readBigUInt64BE(0), 0n, 'unknown uuid: roll back to 0');
    assert.equal(packet.opaque, 0x10000);
    // A 64-bit uuid (kv before 4.x drew them so) is just another unknown uuid, not an error.
    const wide = c.encodeStreamRequest({ vbucket: 0, startSeqno: 5, vbUuid: 0, snapStartSeqno: 5, snapEndSeqno: 5 });
    wide.extras.writeBigUInt64BE(0x8000_0000_0000_0001n, 24);
    const res = await cons.conn.request(wide, { opaque: 0x20000 });
    assert.equal(res.status, c.Status.Rollback);
    assert.equal(res.value.readBigUInt64BE(0), 0n);
  });

  test('start 0: never a rollback, unless StrictVbUuid with an unknown uuid', async (t) => {
    const cons = await consumer(t);
    const base = { vbucket: 1, startSeqno: 0, snapStartSeqno: 0, snapEndSeqno: 0, endSeqno: 0 };
    assert.equal((await cons.streamRequest({ ...base, vbUuid: 0x4242 })).result.kind, 'ok');
    assert.equal(await cons.streamEnd(1), c.StreamEndReason.Ok);
    assert.equal(rollbackTo((await cons.streamRequest({ ...base, vbUuid: 0x4242, flags: c.DcpStreamFlag.StrictVbUuid })).result), 0);
  });

  test('after a failover that discarded history: roll back to the branch point or to the snapshot start', async (t) => {
    const vb = 3;
    await fill(vb, 10, 'fo');
    const old = bucket.vbucketInfo(vb);
    assert.equal(old.highSeqno, 10);
    await server.server.engine.failover('default', vb, { discardAbove: 6 });
    await fill(vb, 3, 'fo-after'); // the new branch: seqnos 7..9
    const cons = await consumer(t);
    const req = (start: number, snapStart: number, snapEnd: number): Promise<{ result: c.StreamRequestResult }> =>
      cons.streamRequest({ vbucket: vb, startSeqno: start, vbUuid: old.uuid, snapStartSeqno: snapStart, snapEndSeqno: snapEnd });
    // Had everything up to 10 (whole snapshot): history diverged after 6.
    assert.equal(rollbackTo((await req(10, 1, 10)).result), 6);
    // In the middle of a snapshot that started at 4: back to its start.
    assert.equal(rollbackTo((await req(8, 4, 10)).result), 4);
    // A snapshot that ends at the branch point is still common history.
    const ok = await req(5, 1, 6);
    assert.equal(ok.result.kind, 'ok');
    assert.ok(ok.result.kind === 'ok' && ok.result.failoverLog.length === 2 && ok.result.failoverLog[1]!.vbUuid === old.uuid);
    await cons.waitFor('the new branch', () => cons.items(vb).at(-1)?.seqno === 9);
    assert.deepEqual(cons.items(vb).map((e) => e.seqno), [6, 7, 8, 9]);
  });

  test('behind the purge seqno: roll back to 0, unless IgnorePurgedTombstones', async (t) => {
    const vb = 4;
    const keys = await fill(vb, 6, 'purge');
    await bucket.delete(keys[0]!);
    await bucket.delete(keys[1]!);
    await fill(vb, 2, 'purge-more');
    const result = await server.server.engine.compact('default', 0);
    assert.ok((result.purgeSeqnos[vb] ?? 0) >= 8);
    const info = bucket.vbucketInfo(vb);
    const cons = await consumer(t);
    const req = { vbucket: vb, startSeqno: 3, vbUuid: info.uuid, snapStartSeqno: 3, snapEndSeqno: 3 };
    assert.equal(rollbackTo((await cons.streamRequest(req)).result), 0);
    const ignoring = await cons.streamRequest({ ...req, flags: c.DcpStreamFlag.IgnorePurgedTombstones });
    assert.equal(ignoring.result.kind, 'ok');
  });
});

describe('dcp > stream requests > refusals', () => {
  test('Erange: start above end, start outside the snapshot', async (t) => {
    const cons = await consumer(t);
    const uuid = bucket.vbucketInfo(5).uuid;
    const cases: c.StreamRequest[] = [
      { vbucket: 5, startSeqno: 4, endSeqno: 2, vbUuid: uuid, snapStartSeqno: 4, snapEndSeqno: 4 },
      { vbucket: 5, startSeqno: 4, vbUuid: uuid, snapStartSeqno: 5, snapEndSeqno: 8 },
      { vbucket: 5, startSeqno: 9, vbUuid: uuid, snapStartSeqno: 5, snapEndSeqno: 8 },
    ];
    for (const req of cases) assert.deepEqual((await cons.streamRequest(req)).result, { kind: 'error', status: c.Status.Erange });
  });

  test('KeyEexists for a second active stream on a vbucket; a closed one can be requested again', async (t) => {
    const cons = await consumer(t);
    await cons.streamFromZero(6);
    assert.deepEqual((await cons.streamRequest({ vbucket: 6, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }, 99)).result, {
      kind: 'error',
      status: c.Status.KeyEexists,
    });
    assert.equal(await cons.closeStream(6), c.Status.Success);
    await cons.streamFromZero(6);
  });

  test('NotMyVbucket for a vbucket that is not active or does not exist', async (t) => {
    const cons = await consumer(t);
    await server.server.engine.setVBucketState('default', 7, 'replica');
    t.after(() => server.server.engine.setVBucketState('default', 7, 'active'));
    const base = { startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 };
    assert.deepEqual((await cons.streamRequest({ vbucket: 7, ...base })).result, { kind: 'error', status: c.Status.NotMyVbucket });
    assert.deepEqual((await cons.streamRequest({ vbucket: 32, ...base })).result, { kind: 'error', status: c.Status.NotMyVbucket });
  });

  test('collection-aware or xattr connections must enable noop first (NotSupported)', async (t) => {
    const coll = await consumer(t, { features: [c.Feature.Xerror, c.Feature.Collections] });
    assert.deepEqual((await coll.streamRequest({ vbucket: 8, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 })).result, {
      kind: 'error',
      status: c.Status.NotSupported,
    });
    assert.equal(await coll.control('enable_noop', 'true'), c.Status.Success);
    await coll.streamFromZero(8);
    const xattrs = await consumer(t, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.IncludeXattrs });
    const r = await xattrs.streamRequest({ vbucket: 9, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 });
    assert.deepEqual(r.result, { kind: 'error', status: c.Status.NotSupported });
  });
});

describe('dcp > failover and state changes while streaming', () => {
  test('a failover that discards history ends the stream with Rollback; the re-request rolls back', async (t) => {
    const vb = 10;
    await fill(vb, 8, 'live-fo');
    const cons = await consumer(t);
    await cons.streamFromZero(vb);
    await cons.waitFor('backfill', () => cons.items(vb).at(-1)?.seqno === 8);
    const before = bucket.vbucketInfo(vb);
    await server.server.engine.failover('default', vb, { discardAbove: 5 });
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.Rollback);
    const marker = cons.eventsFor(vb)[0]!;
    assert.ok(marker.type === 'marker');
    const { result } = await cons.streamRequest({ vbucket: vb, startSeqno: 8, vbUuid: before.uuid, snapStartSeqno: marker.start, snapEndSeqno: marker.end });
    assert.equal(rollbackTo(result), 5, 'it had the whole snapshot [0, 8]: back to where the histories split');
    // After rolling back to 5 (as java-dcp-client does: start = snapshot = rollback seqno), streaming resumes.
    const again = await cons.streamRequest({ vbucket: vb, startSeqno: 5, vbUuid: before.uuid, snapStartSeqno: 5, snapEndSeqno: 5 });
    assert.equal(again.result.kind, 'ok');
  });

  test('a failover without discarded items ends the stream with StateChanged; resuming needs no rollback', async (t) => {
    const vb = 11;
    await fill(vb, 4, 'sc');
    const cons = await consumer(t);
    await cons.streamFromZero(vb);
    await cons.waitFor('backfill', () => cons.items(vb).at(-1)?.seqno === 4);
    const before = bucket.vbucketInfo(vb);
    await server.server.engine.failover('default', vb);
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.StateChanged);
    const { result } = await cons.streamRequest({ vbucket: vb, startSeqno: 4, vbUuid: before.uuid, snapStartSeqno: 0, snapEndSeqno: 4 });
    assert.ok(result.kind === 'ok' && result.failoverLog.length === 2);
  });

  test('a vbucket leaving the active state ends its stream (StateChanged); re-requests get NotMyVbucket', async (t) => {
    const vb = 12;
    const cons = await consumer(t);
    await cons.streamFromZero(vb);
    await server.server.engine.setVBucketState('default', vb, 'dead');
    t.after(() => server.server.engine.setVBucketState('default', vb, 'active'));
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.StateChanged);
    const { result } = await cons.streamRequest({ vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 });
    assert.deepEqual(result, { kind: 'error', status: c.Status.NotMyVbucket });
  });
});
