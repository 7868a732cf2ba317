/**
 * Stream lifecycle and message variants over the wire: close stream (with and without
 * STREAM_END), deletions and expirations with and without delete times and the expiry opcode,
 * collection-aware keys and SEQNO_ADVANCED, xattrs and no-value opens, and stream ids.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { runExpiryPager } from '../../src/engine/maintenance.js';
import { nowSeconds } from '../../src/engine/expiry.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer, type ConsumerOptions } from './helpers/consumer.js';

let server: TestServer;
let bucket: Bucket;
const json = { datatype: c.Datatype.Json };

before(async () => {
  // Disk-backfill semantics (deduplicated history): streams that are not caught up read the disk.
  server = await startTestServer({ numVBuckets: 32, checkpointBytes: 0 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

function keysIn(vb: number, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (bucket.vbucketOf(`${prefix}-${i}`) === vb) keys.push(`${prefix}-${i}`);
  return keys;
}

async function consumer(t: import('node:test').TestContext, opts: ConsumerOptions = {}): Promise<DcpTestConsumer> {
  const cons = await DcpTestConsumer.open(server, opts);
  t.after(() => cons.close());
  return cons;
}

describe('dcp > close stream', () => {
  test('without send_stream_end_on_client_close_stream: Success and nothing more on that stream', async (t) => {
    const vb = 1;
    const [k1, k2] = keysIn(vb, 2, 'close');
    const cons = await consumer(t);
    await bucket.set(k1!, '1', json);
    await cons.streamFromZero(vb);
    await cons.waitFor('first item', () => cons.items(vb).length === 1);
    assert.equal(await cons.closeStream(vb), c.Status.Success);
    assert.equal(await cons.closeStream(vb), c.Status.KeyEnoent, 'already closed');
    await bucket.set(k2!, '2', json);
    // A later stream on another vbucket proves the connection moved on; vb 1 got nothing more.
    await bucket.set(keysIn(2, 1, 'close-other')[0]!, '3', json);
    await cons.streamFromZero(2);
    await cons.waitFor('other vbucket', () => cons.items(2).length === 1);
    assert.deepEqual(cons.eventsFor(vb).map((e) => e.type), ['marker', 'mutation']);
  });

  test('with send_stream_end_on_client_close_stream: STREAM_END(Closed) follows the reply', async (t) => {
    const vb = 3;
    const cons = await consumer(t, { controls: { send_stream_end_on_client_close_stream: 'true' } });
    await cons.streamFromZero(vb);
    assert.equal(await cons.closeStream(vb), c.Status.Success);
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.Closed);
    assert.equal(await cons.closeStream(vb), c.Status.KeyEnoent);
    await cons.streamFromZero(vb);
  });

  test('a stream requested again before its STREAM_END(Closed) went out replaces it: that STREAM_END is never sent', async (t) => {
    const vb = 9;
    for (const k of keysIn(vb, 40, 'replace')) await bucket.set(k, JSON.stringify({ pad: 'x'.repeat(100) }), json);
    const cons = await consumer(t, { controls: { send_stream_end_on_client_close_stream: 'true', connection_buffer_size: '512' } });
    await cons.streamFromZero(vb);
    // The window fills: the STREAM_END(Closed) of the close cannot go out yet.
    await cons.waitFor('a full window', () => cons.countedBytes >= 512);
    assert.equal(await cons.closeStream(vb), c.Status.Success);
    const { result } = await cons.streamRequest({ vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }, 0x7000);
    assert.equal(result.kind, 'ok');
    // kv DcpProducer::streamRequest erases the dead stream and its queued STREAM_END with it.
    let acked = 0;
    const timer = setInterval(() => {
      const pending = cons.countedBytes - acked;
      acked += pending;
      if (pending > 0) void cons.ack(pending);
    }, 5);
    t.after(() => clearInterval(timer));
    await cons.waitFor('the new stream', () => cons.items(vb).filter((e) => e.opaque === 0x7000).length === 40);
    assert.deepEqual(cons.eventsFor(vb).filter((e) => e.type === 'end'), []);
  });
});

describe('dcp > close stream of an ending stream', () => {
  test('without send_stream_end_on_client_close_stream: KeyEnoent, and its queued STREAM_END is dropped', async (t) => {
    const vb = 10;
    for (const k of keysIn(vb, 40, 'ending')) await bucket.set(k, JSON.stringify({ pad: 'x'.repeat(100) }), json);
    const cons = await consumer(t, { controls: { connection_buffer_size: '512' } });
    await cons.streamFromZero(vb);
    await cons.waitFor('a full window', () => cons.countedBytes >= 512);
    // The vbucket leaves the active state: the stream ends, its STREAM_END waits behind the window.
    await server.server.engine.setVBucketState('default', vb, 'dead');
    t.after(() => server.server.engine.setVBucketState('default', vb, 'active'));
    // kv's stream states have no 'ending': the stream is dead while its STREAM_END waits.
    assert.equal((await cons.stats('dcp')).get(`eq_dcpq:${cons.name}:stream_${vb}_state`), 'dead');
    assert.equal(await cons.closeStream(vb), c.Status.KeyEnoent);
    await cons.ack(cons.countedBytes);
    // Another stream proves the window reopened and the connection moved on.
    const [other] = keysIn(11, 1, 'ending-other');
    await bucket.set(other!, '1', json);
    await cons.streamFromZero(11);
    await cons.waitFor('the other vbucket', () => cons.items(11).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(cons.eventsFor(vb).filter((e) => e.type === 'end'), []);
  });
});

describe('dcp > bucket deletion', () => {
  test('deleting the bucket closes its DCP connections', async (t) => {
    const other = await server.server.engine.createBucket('doomed', { numVBuckets: 4 });
    await other.set('k', '"v"', json);
    const cons = await consumer(t, { bucket: 'doomed' });
    await cons.streamFromZero(other.vbucketOf('k'));
    await cons.waitFor('the document', () => cons.itemCount === 1);
    await server.server.engine.deleteBucket('doomed');
    await cons.closed;
    assert.equal(cons.isOpen, false);
  });
});

describe('dcp > the connection changes hands', () => {
  test('SELECT_BUCKET on a DCP connection is NotSupported; re-authenticating ends the producer (found by fuzzing)', async (t) => {
    const other = await server.server.engine.createBucket('elsewhere', { numVBuckets: 4 });
    t.after(() => server.server.engine.deleteBucket('elsewhere'));
    const vb = 3;
    const [first, second] = keysIn(vb, 2, 'rehand');
    await bucket.set(first!, '"v"', json);
    const cons = await consumer(t);
    await cons.streamFromZero(vb);
    await cons.waitFor('the first document', () => cons.items(vb).some((e) => e.key.toString() === first));
    const select = await cons.conn.request(c.encodeSelectBucketRequest('elsewhere'));
    assert.equal(select.status, c.Status.NotSupported);
    assert.equal(other.name, 'elsewhere');
    // A new login: the producer opened with the old one stops; nothing more is streamed.
    await cons.conn.saslPlain(ADMIN.username, ADMIN.password);
    const before = cons.items(vb).length;
    await bucket.set(second!, '"v"', json);
    await bucket.quiesce();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(cons.items(vb).length, before, 'no item after the re-authentication');
    // The connection is a plain one again, in "no bucket": a DCP request needs a bucket first.
    const control = await cons.conn.request(c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }));
    assert.notEqual(control.status, c.Status.Success);
  });
});

describe('dcp > deletions and expirations', () => {
  async function history(vb: number, prefix: string): Promise<{ deleted: string; expired: string }> {
    const [deleted, expired] = keysIn(vb, 2, prefix);
    await bucket.set(deleted!, '"d"', json);
    await bucket.delete(deleted!);
    await bucket.set(expired!, '"e"', { ...json, expiry: nowSeconds() + 1000 });
    await bucket.quiesce(); // the pager reads the expiry index on disk
    assert.equal(await runExpiryPager(bucket, nowSeconds() + 2000), 1);
    await bucket.quiesce();
    return { deleted: deleted!, expired: expired! };
  }

  test('plain open: deletions V1 and expirations as V1 deletions', async (t) => {
    const vb = 4;
    const { deleted, expired } = await history(vb, 'de1');
    const cons = await consumer(t, { controls: { enable_expiry_opcode: 'true' } });
    await cons.streamFromZero(vb);
    await cons.waitFor('both tombstones', () => cons.items(vb).length === 2);
    const [d, e] = cons.items(vb);
    assert.ok(d?.type === 'deletion' && e?.type === 'deletion');
    assert.deepEqual([d.key.toString(), d.version, d.value.length], [deleted, 1, 0]);
    assert.deepEqual([e.key.toString(), e.version], [expired, 1], 'no expiry opcode without IncludeDeleteTimes');
  });

  test('IncludeDeleteTimes: V2 deletions with the delete time; the expiry opcode then sends DCP_EXPIRATION', async (t) => {
    const vb = 5;
    const { deleted, expired } = await history(vb, 'de2');
    const flags = c.DcpOpenFlag.Producer | c.DcpOpenFlag.IncludeDeleteTimes;
    const times = await consumer(t, { openFlags: flags });
    await times.streamFromZero(vb);
    await times.waitFor('both tombstones', () => times.items(vb).length === 2);
    const [d, e] = times.items(vb);
    assert.ok(d?.type === 'deletion' && e?.type === 'deletion');
    assert.equal(d.version, 2);
    assert.ok(Math.abs(d.deleteTime! - nowSeconds()) < 60, `delete time ${d.deleteTime}`);
    assert.equal(e.key.toString(), expired);

    const expiry = await consumer(t, { openFlags: flags, controls: { enable_expiry_opcode: 'true' } });
    await expiry.streamFromZero(vb);
    await expiry.waitFor('both tombstones', () => expiry.items(vb).length === 2);
    const [d2, e2] = expiry.items(vb);
    assert.ok(d2?.type === 'deletion' && d2.key.toString() === deleted);
    assert.ok(e2?.type === 'expiration');
    assert.equal(e2.key.toString(), expired);
    assert.equal(e2.size, 24 + 20 + expired.length, 'expiration extras are 20 bytes');
    assert.ok(e2.deleteTime > 0);
  });
});

describe('dcp > connection options', () => {
  test('collection-aware: keys carry collection id 0; SEQNO_ADVANCED closes a deduplicated end', async (t) => {
    const vb = 6;
    const [a, b] = keysIn(vb, 2, 'coll');
    await bucket.set(a!, '1', json); // seqno 1
    await bucket.set(b!, '2', json); // seqno 2
    await bucket.set(a!, '3', json); // seqno 3: a@1 is gone from the index
    await bucket.quiesce();
    const cons = await consumer(t, { features: [c.Feature.Xerror, c.Feature.Collections], controls: { enable_noop: 'true' } });
    await cons.streamFromZero(vb, { endSeqno: 1 });
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.Ok);
    assert.deepEqual(
      cons.eventsFor(vb).map((e) => [e.type, e.type === 'seqno-advanced' ? e.seqno : e.type === 'marker' ? e.end : null]),
      [
        ['marker', 1],
        ['seqno-advanced', 1],
        ['end', null],
      ],
    );
    cons.events.length = 0;
    await cons.streamFromZero(vb);
    await cons.waitFor('backfill', () => cons.items(vb).length === 2);
    const keys = cons.items(vb).map((e) => e.key);
    assert.deepEqual(keys, [Buffer.from(`\0${b}`), Buffer.from(`\0${a}`)]);
    assert.equal(c.splitCollectionKey(keys[0]!).collectionId, 0);
  });

  test('a plain connection never gets SEQNO_ADVANCED: a snapshot with nothing to send is not sent', async (t) => {
    const vb = 6;
    const cons = await consumer(t);
    await cons.streamFromZero(vb, { endSeqno: 1 });
    assert.equal(await cons.streamEnd(vb), c.StreamEndReason.Ok);
    // Seqno 1 was deduplicated away: a legacy stream's snapshot ends at its last item, so there is
    // none to mark (kv markLegacyDiskSnapshot), and the stream ends at its end seqno.
    assert.deepEqual(cons.eventsFor(vb).map((e) => e.type), ['end']);
  });

  test('IncludeXattrs sends the xattr blob before the body; NoValue sends none of the body', async (t) => {
    const vb = 7;
    const [k] = keysIn(vb, 1, 'xattr');
    await bucket.set(k!, '{"body":true}', { ...json, xattrs: Buffer.from('{"_sync":{"rev":"2-b"}}') });
    const full = await consumer(t, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.IncludeXattrs, controls: { enable_noop: 'true' } });
    await full.streamFromZero(vb);
    await full.waitFor('the document', () => full.items(vb).length === 1);
    const m = full.items(vb)[0]!;
    assert.ok(m.type === 'mutation');
    assert.equal(m.datatype, c.Datatype.Json | c.Datatype.Xattr);
    const blobLength = m.value.readUInt32BE(0) + 4;
    assert.equal(m.value.subarray(blobLength).toString(), '{"body":true}');
    assert.ok(m.value.subarray(0, blobLength).includes(Buffer.from('_sync\0{"rev":"2-b"}\0')));

    const none = await consumer(t, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.NoValue });
    await none.streamFromZero(vb);
    await none.waitFor('the document', () => none.items(vb).length === 1);
    const n = none.items(vb)[0]!;
    assert.ok(n.type === 'mutation');
    assert.deepEqual([n.datatype, n.value.length, n.key.toString()], [0, 0, k]);
  });

  test('stream ids: two streams on one vbucket, each message tagged with its id', async (t) => {
    const vb = 8;
    const [k] = keysIn(vb, 1, 'sid');
    await bucket.set(k!, '"s"', json);
    const cons = await consumer(t, {
      features: [c.Feature.Xerror, c.Feature.Collections],
      controls: { enable_noop: 'true', enable_stream_id: 'true' },
    });
    const base = { vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 };
    assert.deepEqual((await cons.streamRequest(base)).result, { kind: 'error', status: c.Status.DcpStreamIdInvalid });
    assert.equal((await cons.streamRequest({ ...base, value: '{"sid":1}' }, 501)).result.kind, 'ok');
    assert.equal((await cons.streamRequest({ ...base, value: '{"sid":2}' }, 502)).result.kind, 'ok');
    assert.deepEqual((await cons.streamRequest({ ...base, value: '{"sid":2}' }, 503)).result, { kind: 'error', status: c.Status.KeyEexists });
    await cons.waitFor('both streams', () => cons.items(vb).length === 2);
    assert.deepEqual(cons.items(vb).map((e) => [e.streamId, e.opaque]).sort(), [[1, 501], [2, 502]]);
    assert.equal(await cons.closeStream(vb), c.Status.DcpStreamIdInvalid, 'a stream id is required');
    assert.equal(await cons.closeStream(vb, 1), c.Status.Success);
    // kv closeStream: no stream with this id while the vbucket has others is an invalid id.
    assert.equal(await cons.closeStream(vb, 1), c.Status.DcpStreamIdInvalid);
    assert.equal(await cons.closeStream(vb, 2), c.Status.Success);
    assert.equal(await cons.closeStream(vb, 2), c.Status.KeyEnoent, 'no stream left on the vbucket');
  });
});
