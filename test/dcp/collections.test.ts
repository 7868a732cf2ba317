/**
 * DCP and collections over the wire against the real server (kv docs/dcp/documentation/
 * stream-request.md "Collections", commands/system_event.md, commands/seqno-advanced.md): LEB128
 * keys and system events in seqno order on a collection-aware stream, collection and scope
 * filters with SEQNO_ADVANCED, legacy streams (default collection only, snapshots ending at a
 * default item), FilterEmpty when the filtered collections are dropped (during a backfill and
 * live), and the stream-request value's errors. Scopes and collections are made with the engine
 * API; each test has its own bucket so seqnos and manifest uids are its own.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer, type ConsumerOptions, type DcpEvent } from './helpers/consumer.js';

let server: TestServer;
const json = { datatype: c.Datatype.Json };
const VB = 0;
let buckets = 0;

before(async () => {
  server = await startTestServer({ numVBuckets: 4 });
});
after(() => server.close());

async function newBucket(): Promise<Bucket> {
  return server.server.engine.createBucket(`coll-${++buckets}`, { numVBuckets: 4 });
}

function keysIn(bucket: Bucket, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (bucket.vbucketOf(`${prefix}-${i}`) === VB) keys.push(`${prefix}-${i}`);
  return keys;
}

async function consumer(t: TestContext, bucket: Bucket, opts: ConsumerOptions = {}): Promise<DcpTestConsumer> {
  const cons = await DcpTestConsumer.open(server, {
    bucket: bucket.name,
    features: [c.Feature.Xerror, c.Feature.Collections],
    controls: { enable_noop: 'true' },
    ...opts,
  });
  t.after(() => cons.close());
  return cons;
}

async function stream(cons: DcpTestConsumer, value?: string): Promise<c.StreamRequestResult> {
  const req = { vbucket: VB, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 };
  return (await cons.streamRequest(value === undefined ? req : { ...req, value })).result;
}

/** Events as compact tuples: markers with their range, items with their wire key, system events by type. */
function summary(events: DcpEvent[]): unknown[] {
  return events.map((e) => {
    switch (e.type) {
      case 'marker':
        return ['marker', e.start, e.end];
      case 'mutation':
      case 'deletion':
        return [e.type, e.seqno, e.key.toString('latin1')];
      case 'system':
        return ['system', e.seqno, e.data.type];
      case 'seqno-advanced':
        return ['advanced', e.seqno];
      case 'end':
        return ['end', e.reason];
      default:
        return [e.type];
    }
  });
}

const seqnoOf = (e: DcpEvent): number | undefined => ('seqno' in e ? e.seqno : undefined);

describe('dcp > collections > collection-aware streams', () => {
  test('an unfiltered stream: every live collection, system events in seqno order with kv layouts, LEB128 keys', async (t) => {
    const bucket = await newBucket();
    const [d0, d1] = keysIn(bucket, 2, 'def');
    const [a0] = keysIn(bucket, 1, 'air');
    const [h0] = keysIn(bucket, 1, 'hotel');
    await bucket.set(d0!, '{"d":0}', json);
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport', { maxTTL: 100 });
    await bucket.createCollection('inventory', 'hotel');
    await bucket.collectionByName('inventory', 'airport').set(a0!, '{"a":0}', json);
    await bucket.collectionByName('inventory', 'hotel').set(h0!, '{"h":0}', json);
    await bucket.dropCollection('inventory', 'hotel');
    await bucket.set(d1!, '{"d":1}', json);

    const cons = await consumer(t, bucket);
    assert.equal((await stream(cons)).kind, 'ok');
    await cons.waitFor('the last default document', () => cons.items(VB).some((e) => e.key.equals(Buffer.from(`\0${d1}`))));
    const events = cons.eventsFor(VB);
    const sent = events.filter((e) => e.type !== 'marker' && e.type !== 'seqno-advanced');
    const seqnos = sent.map(seqnoOf);
    assert.deepEqual(seqnos, [...seqnos].sort((x, y) => x! - y!), 'seqno order');
    assert.deepEqual(
      sent.map((e) => (e.type === 'system' ? e.data.type : e.type === 'mutation' ? e.key.toString('latin1') : e.type)),
      // The hotel create was replaced by its drop (a backfill sees only the drop); its document is
      // logically deleted with the collection and is not sent.
      [`\0${d0}`, 'CreateScope', 'BeginCollection', `\x08${a0}`, 'EndCollection', `\0${d1}`],
    );
    const [scope, airport, hotel] = sent.filter((e) => e.type === 'system');
    assert.ok(scope?.type === 'system' && airport?.type === 'system' && hotel?.type === 'system');
    // CreateScope: key = name, value = manifest uid (8) + scope id (4), version 0.
    assert.deepEqual([scope.key.toString(), scope.value.length, scope.version], ['inventory', 12, 0]);
    assert.deepEqual(scope.data, { type: 'CreateScope', name: 'inventory', manifestUid: 1, scopeId: 8 });
    // BeginCollection with a maxTTL: version 1, value = uid + scope + collection + max_ttl (20).
    assert.deepEqual([airport.key.toString(), airport.value.length, airport.version], ['airport', 20, 1]);
    assert.deepEqual(airport.data, { type: 'BeginCollection', name: 'airport', manifestUid: 2, scopeId: 8, collectionId: 8, maxTtl: 100 });
    // EndCollection: no key, uid + scope + collection (16).
    assert.deepEqual([hotel.key.length, hotel.value.length, hotel.version], [0, 16, 0]);
    assert.deepEqual(hotel.data, { type: 'EndCollection', manifestUid: 4, scopeId: 8, collectionId: 9 });

    // Live: a collection without maxTTL is a version 0 BeginCollection (16 bytes), then its document.
    await bucket.createCollection('inventory', 'route');
    const [r0] = keysIn(bucket, 1, 'route');
    await bucket.collectionByName('inventory', 'route').set(r0!, '{}', json);
    await cons.waitFor('the route document', () => cons.items(VB).some((e) => e.key.equals(Buffer.from(`\x0a${r0}`))));
    const route = cons.eventsFor(VB).find((e) => e.type === 'system' && e.data.type === 'BeginCollection' && e.data.name === 'route');
    assert.ok(route?.type === 'system');
    assert.deepEqual([route.version, route.value.length], [0, 16]);
    assert.deepEqual(route.data, { type: 'BeginCollection', name: 'route', manifestUid: 5, scopeId: 8, collectionId: 10 });
  });

  test('a stream filtered on one collection gets only it, and SEQNO_ADVANCED to the end of a snapshot', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    await bucket.createCollection('inventory', 'hotel');
    const airport = bucket.collectionByName('inventory', 'airport');
    const hotel = bucket.collectionByName('inventory', 'hotel');
    const [a0, a1] = keysIn(bucket, 2, 'air');
    const hotels = keysIn(bucket, 4, 'hotel');
    await airport.set(a0!, '{"a":0}', json);
    for (const k of hotels.slice(0, 3)) await hotel.set(k, '{}', json);
    await bucket.set('dflt', '{}', json);
    const high = bucket.vbucket(VB).highSeqno;

    const cons = await consumer(t, bucket);
    assert.equal((await stream(cons, '{"collections":["8"]}')).kind, 'ok');
    await cons.waitFor('seqno advanced', () => cons.eventsFor(VB).some((e) => e.type === 'seqno-advanced'));
    const backfill = summary(cons.eventsFor(VB));
    assert.deepEqual(backfill, [
      ['marker', 0, high],
      ['system', 2, 'BeginCollection'],
      ['mutation', 4, `\x08${a0}`],
      ['advanced', high],
    ]);
    const beginAirport = cons.eventsFor(VB).find((e) => e.type === 'system');
    assert.ok(beginAirport?.type === 'system' && beginAirport.data.type === 'BeginCollection' && beginAirport.data.collectionId === 8);

    // Live: a snapshot holding only other collections' changes sends nothing at all.
    await hotel.set(hotels[3]!, '{}', json);
    await airport.set(a1!, '{"a":1}', json);
    await cons.waitFor('the live airport document', () => cons.items(VB).length === 2);
    const live = cons.eventsFor(VB).slice(backfill.length);
    const seqno = bucket.vbucket(VB).highSeqno;
    assert.deepEqual(summary(live).slice(-1), [['mutation', seqno, `\x08${a1}`]]);
    assert.equal(live.filter((e) => e.type === 'marker').length, 1);
    assert.ok(cons.items(VB).every((e) => e.key[0] === 8), 'only airport documents');
    // kv DcpProducer::step counts system events and seqno advances in items_sent, markers not.
    const counted = cons.events.filter((e) => ['mutation', 'deletion', 'expiration', 'system', 'seqno-advanced'].includes(e.type)).length;
    assert.equal((await cons.stats('dcp')).get(`eq_dcpq:${cons.name}:items_sent`), String(counted));
  });

  test('a scope filter carries its collections, ones created later in it, and ends with FilterEmpty when dropped', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory'); // scope 8
    await bucket.createScope('other'); // scope 9
    await bucket.createCollection('inventory', 'airport'); // 8
    await bucket.createCollection('other', 'x'); // 9
    const [a0] = keysIn(bucket, 1, 'air');
    const [x0] = keysIn(bucket, 1, 'x');
    await bucket.collectionByName('inventory', 'airport').set(a0!, '{}', json);
    await bucket.collectionByName('other', 'x').set(x0!, '{}', json);
    await bucket.set('dflt', '{}', json);

    const cons = await consumer(t, bucket);
    assert.equal((await stream(cons, '{"scope":"8"}')).kind, 'ok');
    await cons.waitFor('the airport document', () => cons.items(VB).length === 1);
    await bucket.createCollection('inventory', 'late'); // 10
    const [l0] = keysIn(bucket, 1, 'late');
    await bucket.collectionByName('inventory', 'late').set(l0!, '{}', json);
    await cons.waitFor('the late document', () => cons.items(VB).length === 2);
    await bucket.dropScope('inventory');
    assert.equal(await cons.streamEnd(VB), c.StreamEndReason.FilterEmpty);
    const sent = cons.eventsFor(VB).filter((e) => e.type !== 'marker' && e.type !== 'seqno-advanced');
    assert.deepEqual(
      sent.map((e) => (e.type === 'system' ? `${e.data.type}` : e.type === 'mutation' ? e.key.toString('latin1') : e.type)),
      ['CreateScope', 'BeginCollection', `\x08${a0}`, 'BeginCollection', `\x0a${l0}`, 'EndCollection', 'EndCollection', 'DropScope', 'end'],
    );
    for (const e of sent) if (e.type === 'system' && e.data.type !== 'Opaque') assert.equal(e.data.scopeId, 8);
  });

  test('uid is accepted and ignored, as kv_engine 7.x: every system event of the range is sent', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory'); // uid 1
    await bucket.createCollection('inventory', 'airport'); // uid 2
    await bucket.createCollection('inventory', 'hotel'); // uid 3
    const cons = await consumer(t, bucket);
    await bucket.set(keysIn(bucket, 1, 'dflt')[0]!, '{}', json);
    // A uid ahead of the bucket's is no CollectionsManifestIsAhead either (kv Filter::constructFromJson).
    assert.equal((await stream(cons, '{"uid":"ff"}')).kind, 'ok');
    await cons.waitFor('the default document', () => cons.items(VB).length === 1);
    const systems = cons.eventsFor(VB).filter((e) => e.type === 'system');
    assert.deepEqual(
      systems.map((e) => (e.type === 'system' ? e.data.type : '?')),
      ['CreateScope', 'BeginCollection', 'BeginCollection'],
    );
  });
});

describe('dcp > collections > legacy streams', () => {
  test('a legacy stream gets the default collection only, no system events, snapshots ending at a default item', async (t) => {
    const bucket = await newBucket();
    const [d0, d1] = keysIn(bucket, 2, 'def');
    const airs = keysIn(bucket, 3, 'air');
    await bucket.set(d0!, '{}', json);
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    const airport = bucket.collectionByName('inventory', 'airport');
    for (const k of airs.slice(0, 2)) await airport.set(k, '{}', json);

    const cons = await consumer(t, bucket, { features: [c.Feature.Xerror], controls: {} });
    assert.equal((await stream(cons)).kind, 'ok');
    await cons.waitFor('the default document', () => cons.items(VB).length === 1);
    // The vbucket's last seqnos are airport documents: the snapshot ends at d0's seqno (1), not at them.
    assert.deepEqual(summary(cons.eventsFor(VB)), [
      ['marker', 0, 1],
      ['mutation', 1, d0],
    ]);
    await airport.set(airs[2]!, '{}', json);
    await bucket.set(d1!, '{}', json);
    const seqno = bucket.vbucket(VB).highSeqno;
    await cons.waitFor('the live default document', () => cons.items(VB).length === 2);
    const live = summary(cons.eventsFor(VB)).slice(2);
    assert.equal(live.length, 2);
    assert.deepEqual(live[1], ['mutation', seqno, d1]);
    assert.equal((live[0] as unknown[])[2], seqno, 'the marker ends at the default document');
    assert.ok(cons.eventsFor(VB).every((e) => e.type !== 'system' && e.type !== 'seqno-advanced'));

    // Dropping _default ends the legacy stream; a connection that is not collection-aware does not
    // know FilterEmpty, so the reason is Ok (kv DcpProducer::mapEndStreamStatus). A new legacy
    // stream is UnknownCollection.
    await bucket.dropCollection('_default', '_default');
    assert.equal(await cons.streamEnd(VB), c.StreamEndReason.Ok);
    assert.deepEqual(await stream(cons), { kind: 'error', status: c.Status.UnknownCollection });
  });
});

describe('dcp > collections > FilterEmpty', () => {
  test('a collection dropped while its filtered stream is live: EndCollection, then STREAM_END FilterEmpty', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    await bucket.createCollection('inventory', 'hotel');
    const [a0] = keysIn(bucket, 1, 'air');
    await bucket.collectionByName('inventory', 'airport').set(a0!, '{}', json);
    const cons = await consumer(t, bucket);
    assert.equal((await stream(cons, '{"collections":["8","9"]}')).kind, 'ok');
    await cons.waitFor('the airport document', () => cons.items(VB).length === 1);
    await bucket.dropCollection('inventory', 'airport');
    await cons.waitFor('the airport drop', () => cons.eventsFor(VB).some((e) => e.type === 'system' && e.data.type === 'EndCollection'));
    assert.ok(!cons.eventsFor(VB).some((e) => e.type === 'end'), 'hotel is still in the filter');
    await bucket.dropCollection('inventory', 'hotel');
    assert.equal(await cons.streamEnd(VB), c.StreamEndReason.FilterEmpty);
    const [drop, end] = cons.eventsFor(VB).slice(-2);
    assert.ok(drop?.type === 'system' && drop.data.type === 'EndCollection' && drop.data.collectionId === 9);
    assert.ok(end?.type === 'end' && end.reason === c.StreamEndReason.FilterEmpty);
  });

  test('a collection dropped during the backfill: its remaining documents are skipped, then FilterEmpty', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    const airport = bucket.collectionByName('inventory', 'airport');
    const keys = keysIn(bucket, 400, 'air');
    await Promise.all(keys.map((k) => airport.set(k, '{"some":"value"}', json)));
    // A small flow-control window and no acks hold the backfill after its first messages.
    const cons = await consumer(t, bucket, { controls: { enable_noop: 'true', connection_buffer_size: '4000' } });
    assert.equal((await stream(cons, '{"collections":["8"]}')).kind, 'ok');
    await cons.waitFor('the first documents', () => cons.items(VB).length > 0);
    await bucket.dropCollection('inventory', 'airport');
    const acking = setInterval(() => void cons.ack(cons.countedBytes).catch(() => {}), 5);
    t.after(() => clearInterval(acking));
    assert.equal(await cons.streamEnd(VB), c.StreamEndReason.FilterEmpty);
    const events = cons.eventsFor(VB);
    assert.ok(cons.items(VB).length < keys.length, `the dropped collection's remaining documents are not sent (${cons.items(VB).length})`);
    const drop = events.at(-2);
    assert.ok(drop?.type === 'system' && drop.data.type === 'EndCollection' && drop.data.collectionId === 8);
  });
});

describe('dcp > collections > stream-request value', () => {
  test('invalid values are Einval; unknown ids UnknownCollection / UnknownScope with the manifest uid', async (t) => {
    const bucket = await newBucket();
    await bucket.createScope('inventory');
    await bucket.createCollection('inventory', 'airport');
    const cons = await consumer(t, bucket);
    const cases: Array<[string, number]> = [
      ['not json', c.Status.Einval],
      ['[]', c.Status.Einval],
      ['{}', c.Status.Einval],
      ['{"collections":["8"],"scope":"8"}', c.Status.Einval],
      ['{"collections":[]}', c.Status.Einval],
      ['{"collections":["zz"]}', c.Status.Einval],
      ['{"scope":8}', c.Status.Einval],
      // kv's CollectionID / ScopeID constructors refuse reserved ids (dockey.h): EINVAL, except
      // collection 1 (the system collection), which is just not in the manifest.
      ['{"collections":["2"]}', c.Status.Einval],
      ['{"collections":["8","7"]}', c.Status.Einval],
      ['{"collections":["1"]}', c.Status.UnknownCollection],
      ['{"scope":"1"}', c.Status.Einval],
      ['{"collections":["99"]}', c.Status.UnknownCollection],
      ['{"collections":["8","99"]}', c.Status.UnknownCollection],
      ['{"scope":"99"}', c.Status.UnknownScope],
    ];
    for (const [value, status] of cases) {
      assert.deepEqual(await stream(cons, value), { kind: 'error', status }, value);
    }
    // kv Filter::Filter: setUnknownCollectionErrorContext, the body every KV command carries.
    const uid = bucket.manifest.uid.toString(16);
    const req = { vbucket: VB, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 };
    for (const value of ['{"collections":["99"]}', '{"scope":"99"}']) {
      const { packet } = await cons.streamRequest({ ...req, value });
      assert.equal((JSON.parse(packet.value.toString('utf8')) as { manifest_uid?: unknown }).manifest_uid, uid, value);
    }
    assert.equal((await stream(cons, '{"collections":["0","8"],"uid":"2"}')).kind, 'ok');
  });
});
