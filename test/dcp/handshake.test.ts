/**
 * DCP connection setup over the KV port: DCP_OPEN (producer only, name reuse), commands before
 * DCP_OPEN, DCP_CONTROL answers (unknown key: Einval and the connection keeps working),
 * DCP_GET_FAILOVER_LOG, buffer acks that are never answered, and `stats dcp`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { KvConnection } from '../../src/client/connection.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer } from './helpers/consumer.js';

let server: TestServer;
let bucket: Bucket;

before(async () => {
  server = await startTestServer({ numVBuckets: 16 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

async function plainConnection(t: import('node:test').TestContext, selectBucket = true): Promise<KvConnection> {
  const conn = await KvConnection.connect({ port: server.server.ports.kv });
  t.after(() => conn.close());
  await conn.hello('dcp-test', [c.Feature.Xerror]);
  await conn.saslPlain(ADMIN.username, ADMIN.password);
  if (selectBucket) await conn.selectBucket('default');
  return conn;
}

describe('dcp > connection setup', () => {
  test('DCP_OPEN needs a bucket; DCP commands need DCP_OPEN first; DCP_OPEN twice is Einval', async (t) => {
    const noBucket = await plainConnection(t, false);
    const res = await noBucket.request(c.encodeDcpOpenRequest({ name: 'x', flags: c.DcpOpenFlag.Producer }));
    assert.equal(res.status, c.Status.NoBucket);

    const conn = await plainConnection(t);
    for (const p of [
      c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }),
      c.encodeStreamRequest({ vbucket: 0, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }),
      c.encodeCloseStreamRequest({ vbucket: 0 }),
      c.encodeFailoverLogRequest(0, c.Opcode.DcpGetFailoverLog),
    ]) {
      assert.equal((await conn.request(p)).status, c.Status.Einval, c.opcodeName(p.opcode));
    }
    assert.equal((await conn.request(c.encodeDcpOpenRequest({ name: 'twice', flags: c.DcpOpenFlag.Producer }))).status, c.Status.Success);
    assert.equal((await conn.request(c.encodeDcpOpenRequest({ name: 'twice', flags: c.DcpOpenFlag.Producer }))).status, c.Status.Einval);
  });

  test('consumer and notifier opens are refused; the connection stays usable', async (t) => {
    const conn = await plainConnection(t);
    assert.equal((await conn.request(c.encodeDcpOpenRequest({ name: 'c', flags: 0 }))).status, c.Status.NotSupported);
    assert.equal((await conn.request(c.encodeDcpOpenRequest({ name: 'n', flags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.Invalid }))).status, c.Status.Einval);
    assert.equal((await conn.request(c.encodeDcpOpenRequest({ name: 'p', flags: c.DcpOpenFlag.Producer }))).status, c.Status.Success);
  });

  test('reusing a connection name closes the older connection', async (t) => {
    const first = await DcpTestConsumer.open(server, { name: 'shared-name' });
    t.after(() => first.close());
    await first.streamFromZero(1);
    const second = await DcpTestConsumer.open(server, { name: 'shared-name' });
    t.after(() => second.close());
    await first.closed;
    assert.equal(first.isOpen, false);
    assert.equal(second.isOpen, true);
    await second.streamFromZero(1);
  });

  test('an unknown control is Einval and the connection still streams', async (t) => {
    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());
    assert.equal(await consumer.control('no_such_control', 'true'), c.Status.Einval);
    assert.equal(await consumer.control('connection_buffer_size', 'lots'), c.Status.Einval);
    assert.equal(await consumer.control('stream_buffer_size', '100'), c.Status.NotSupported);
    for (const [k, v] of [
      ['connection_buffer_size', '20000000'],
      ['enable_noop', 'true'],
      ['set_noop_interval', '120'],
      ['set_priority', 'medium'],
      ['supports_cursor_dropping', 'true'],
      ['send_stream_end_on_client_close_stream', 'true'],
      ['enable_expiry_opcode', 'true'],
    ]) {
      assert.equal(await consumer.control(k!, v!), c.Status.Success, k);
    }
    await bucket.set('after-bad-control', '{}', { datatype: c.Datatype.Json });
    const vb = bucket.vbucketOf('after-bad-control');
    await consumer.streamFromZero(vb);
    await consumer.waitFor('the document', () => consumer.items(vb).some((e) => e.key.toString() === 'after-bad-control'));
  });

  test('DCP_GET_FAILOVER_LOG returns the vbucket log newest first; NotMyVbucket past the last vbucket', async (t) => {
    const consumer = await DcpTestConsumer.open(server);
    t.after(() => consumer.close());
    await server.server.engine.failover('default', 2);
    const log = await consumer.failoverLog(2);
    assert.deepEqual(log, bucket.vbucketInfo(2).failoverLog.map((e) => ({ vbUuid: e.uuid, seqno: e.seqno })));
    assert.equal(log.length, 2);
    const res = await consumer.conn.request(c.encodeFailoverLogRequest(16, c.Opcode.DcpGetFailoverLog));
    assert.equal(res.status, c.Status.NotMyVbucket);
  });

  test('buffer acks are never answered; consumer-side messages close the connection (kv ConnHandler)', async (t) => {
    const consumer = await DcpTestConsumer.open(server, { controls: { connection_buffer_size: '1000' } });
    t.after(() => consumer.close());
    await consumer.ack(100);
    await consumer.ack(5000);
    // The next reply must be the NOOP's: had the acks been answered, those replies would be unmatched.
    await consumer.conn.noop();
    assert.equal(consumer.conn.stats.unmatchedResponses, 0);
    // SEQNO_ACKNOWLEDGED is the producer's own call: Einval without sync replication.
    const ack = c.makeRequest(c.Opcode.DcpSeqnoAcknowledged, { extras: Buffer.alloc(8) });
    assert.equal((await consumer.conn.request(ack)).status, c.Status.Einval);
    const marker = c.encodeSnapshotMarker({ opaque: 1, vbucket: 0, version: 'v1', startSeqno: 0, endSeqno: 1, flags: 1 });
    await consumer.conn.send(marker);
    await consumer.closed;
    // A DCP_NOOP *request* from the consumer is no different.
    const other = await DcpTestConsumer.open(server);
    t.after(() => other.close());
    await other.conn.send(c.encodeDcpNoopRequest(7));
    await other.closed;
  });

  test('stats dcp lists the connection and its streams under eq_dcpq:<name>:', async (t) => {
    const consumer = await DcpTestConsumer.open(server, {
      name: 'stats-conn',
      controls: { connection_buffer_size: '65536', enable_noop: 'true', set_noop_interval: '60' },
    });
    t.after(() => consumer.close());
    await bucket.set('stats-doc', '"v"', { datatype: c.Datatype.Json });
    const vb = bucket.vbucketOf('stats-doc');
    await consumer.streamFromZero(vb);
    await consumer.waitFor('the document', () => consumer.items(vb).length > 0);
    const stats = await consumer.stats('dcp');
    const p = 'eq_dcpq:stats-conn:';
    assert.equal(stats.get(`${p}type`), 'producer');
    assert.equal(stats.get(`${p}flow_control`), 'enabled');
    assert.equal(stats.get(`${p}max_buffer_bytes`), '65536');
    assert.equal(stats.get(`${p}noop_enabled`), 'true');
    assert.equal(stats.get(`${p}noop_interval`), '60');
    // kv 7.x prints these as booleans (DcpProducer::addStats).
    assert.equal(stats.get(`${p}cursor_dropping`), 'true');
    assert.equal(stats.get(`${p}force_value_compression`), 'false');
    assert.equal(stats.get(`${p}synchronous_replication`), 'false');
    assert.equal(stats.get(`${p}num_streams`), '1');
    assert.equal(stats.get(`${p}stream_${vb}_opaque`), String(0x10000 + vb));
    assert.equal(stats.get(`${p}stream_${vb}_end_seqno`), '18446744073709551615');
    assert.equal(stats.get(`${p}stream_${vb}_state`), 'in-memory');
    assert.equal(stats.get(`${p}stream_${vb}_last_sent_seqno`), String(bucket.vbucketInfo(vb).highSeqno));
    assert.ok(Number(stats.get(`${p}items_sent`)) >= 1);
    assert.equal(Number(stats.get(`${p}unacked_bytes`)), consumer.countedBytes);
    assert.ok(Number(stats.get('ep_dcp_count')) >= 1);
  });

  test('stats dcpagg aggregates the connections by the type in their name, plus :total (kv doConnAggStats)', async (t) => {
    const typed = await DcpTestConsumer.open(server, { name: 'aggtype:one' });
    const other = await DcpTestConsumer.open(server, { name: 'aggtype:two' });
    const untyped = await DcpTestConsumer.open(server, { name: 'aggplain' });
    t.after(() => Promise.all([typed.close(), other.close(), untyped.close()]));
    await bucket.set('agg-doc', '"v"', { datatype: c.Datatype.Json });
    const vb = bucket.vbucketOf('agg-doc');
    await typed.streamFromZero(vb);
    await typed.waitFor('the document', () => typed.items(vb).length > 0);
    const stats = await typed.stats('dcpagg :');
    assert.equal(stats.get('aggtype:count'), '2');
    assert.equal(stats.get('aggtype:producer_count'), '2');
    assert.equal(stats.get('aggtype:backoff'), '0');
    assert.ok(Number(stats.get('aggtype:items_sent')) >= 1);
    assert.ok(Number(stats.get('aggtype:total_bytes')) >= typed.countedBytes);
    assert.equal(stats.get('aggtype:items_remaining'), '0');
    // A name without a separator has no type: it counts in the total only.
    assert.equal(stats.get('aggplain:count'), undefined);
    assert.ok(Number(stats.get(':total:count')) >= 3);
    assert.equal(stats.get(':total:total_uncompressed_data_size'), stats.get(':total:total_bytes'));
    // Without an argument the separator is ':' too.
    assert.equal((await typed.stats('dcpagg')).get('aggtype:count'), '2');
  });
});
