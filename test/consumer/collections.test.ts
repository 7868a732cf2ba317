/**
 * Collections on the consumer side, below the network: filter options, the manifest and the
 * stream-request JSON it resolves to, LEB128 key prefixes (ids over 0x7f take two bytes), system
 * events -> `collection` / `scope` events with names, tail lines, message tables.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { CollectionNames, collectionFilterOf, parseCollectionPath, parseManifest, resolveFilter } from '../../src/consumer/collections.js';
import { itemEvent, systemChangeEvent } from '../../src/consumer/change-events.js';
import { changeToJson } from '../../src/consumer/change-json.js';
import { messageKind, streamEndAction } from '../../src/consumer/dcp-messages.js';
import { ReceiverCalls } from '../../src/consumer/receiver-calls.js';
import { newStats } from '../../src/consumer/stats.js';
import { isConsumerError, resolveOptions, type Receiver } from '../../src/consumer/index.js';
import { MANIFEST, systemEventFrame } from './fixtures/collection-frames.js';

const mutation = (key: Buffer, seq = 3) => c.encodeDcpMutation({ opaque: 1, vbucket: 4, key, value: '{"a":1}', cas: 7n, datatype: 1, bySeqno: seq, revSeqno: 1, flags: 0, expiration: 0 });

const sysEvent = (seq: number, d: Parameters<typeof systemEventFrame>[3]): c.Packet => systemEventFrame(1, 4, seq, d);

/** A receiver that records what ReceiverCalls hands it. */
function recorder() {
  const items: { key: string; cid: number }[] = [];
  const events: c.SystemEventData[] = [];
  const receiver: Receiver = {
    onError: () => {},
    dataUpdate: (_vb, key, _seq, _p, cid) => void items.push({ key: key.toString(), cid }),
    dataDelete: () => {},
    snapshotStart: () => {},
    setMetaData: () => {},
    getMetaData: () => ({ value: null, lastSeq: 0 }),
    rollback: () => {},
    systemEvent: (_vb, _seq, e) => void events.push(e),
  };
  return { receiver, items, events };
}

describe('consumer > collections', () => {
  test('options: scope.collection paths, scope names, and the two filters are exclusive', () => {
    assert.deepEqual(parseCollectionPath('inventory.airport'), { scope: 'inventory', collection: 'airport' });
    for (const bad of ['airport', 'a.b.c', '.x', 'x.', '']) assert.throws(() => parseCollectionPath(bad), RangeError, bad);
    assert.equal(collectionFilterOf({}), undefined);
    assert.deepEqual(collectionFilterOf({ collections: ['s.a', 's.b', 's.a'] }), { kind: 'collections', paths: [{ scope: 's', collection: 'a' }, { scope: 's', collection: 'b' }] });
    assert.deepEqual(collectionFilterOf({ scope: 'inventory' }), { kind: 'scope', scope: 'inventory' });
    assert.throws(() => collectionFilterOf({ collections: ['s.a'], scope: 's' }), /not both/);
    assert.throws(() => collectionFilterOf({ collections: [] }), RangeError);
    assert.throws(() => collectionFilterOf({ scope: 'a.b' }), RangeError);
    // a legacy source has no filter: cbdatasource's behaviour
    assert.equal(resolveOptions().collectionFilter, undefined);
    assert.deepEqual(resolveOptions({ scope: 'x' }).collectionFilter, { kind: 'scope', scope: 'x' });
  });

  test('the manifest resolves names to the stream-request JSON with hex ids', () => {
    const m = parseManifest(JSON.stringify(MANIFEST));
    assert.equal(m.uid, 5);
    const cols = resolveFilter(m, collectionFilterOf({ collections: ['inventory.airport', 'inventory.hotel'] })!);
    assert.equal(cols.streamValue.toString(), '{"collections":["8","a2"]}');
    assert.deepEqual(cols.collectionIds, [8, 0xa2]);
    const scope = resolveFilter(m, { kind: 'scope', scope: 'inventory' });
    assert.equal(scope.streamValue.toString(), '{"scope":"8"}');
    assert.deepEqual(scope.collectionIds, [8, 0xa2]);
    // a scope without collections: "now" is the vbucket's own high seqno
    assert.deepEqual(resolveFilter(m, { kind: 'scope', scope: 'tenants' }).collectionIds, []);
    assert.equal(resolveFilter(m, collectionFilterOf({ collections: ['_default._default'] })!).streamValue.toString(), '{"collections":["0"]}');
  });

  test('unknown names are ConsumerErrors with stable codes and the manifest uid', () => {
    const m = parseManifest(JSON.stringify(MANIFEST));
    assert.throws(
      () => resolveFilter(m, collectionFilterOf({ collections: ['inventory.airport', 'inventory.route'] })!),
      (e: unknown) => isConsumerError(e, 'UNKNOWN_COLLECTION') && e.code === 'CONSUMER_UNKNOWN_COLLECTION' && e.context.manifestUid === 5 && /inventory\.route/.test(e.message),
    );
    assert.throws(() => resolveFilter(m, { kind: 'scope', scope: 'nope' }), (e: unknown) => isConsumerError(e, 'UNKNOWN_SCOPE') && e.code === 'CONSUMER_UNKNOWN_SCOPE');
    assert.throws(() => resolveFilter(m, collectionFilterOf({ collections: ['nope.airport'] })!), (e: unknown) => isConsumerError(e, 'UNKNOWN_SCOPE'));
    assert.throws(() => parseManifest('{"uid":"1"}'), (e: unknown) => isConsumerError(e, 'PROTOCOL'));
    assert.throws(() => parseManifest('{"uid":"1","scopes":[{"name":"s","uid":"zz","collections":[]}]}'), (e: unknown) => isConsumerError(e, 'PROTOCOL'));
    assert.throws(() => parseManifest('not json'), (e: unknown) => isConsumerError(e, 'PROTOCOL'));
  });

  test('a collection-aware source strips the LEB128 prefix (one and two bytes) and passes the id', () => {
    const names = new CollectionNames();
    names.learnManifest(parseManifest(JSON.stringify(MANIFEST)));
    const { receiver, items } = recorder();
    const calls = new ReceiverCalls(receiver, newStats(), names);
    calls.data(4, 3, mutation(c.joinCollectionKey(8, 'LAX')), true);
    calls.data(4, 4, mutation(c.joinCollectionKey(0xa2, 'Hilton')), true);
    assert.deepEqual(c.joinCollectionKey(0xa2, 'Hilton').subarray(0, 2), Buffer.from([0xa2, 0x01]));
    assert.deepEqual(items, [{ key: 'LAX', cid: 8 }, { key: 'Hilton', cid: 0xa2 }]);
    // a legacy source: the key as sent, collection 0
    const legacy = recorder();
    new ReceiverCalls(legacy.receiver, newStats()).data(4, 3, mutation(Buffer.from('\x08plain')), true);
    assert.deepEqual(legacy.items, [{ key: '\x08plain', cid: 0 }]);
    // a prefix that never ends is the connection's protocol error, not the receiver's
    assert.throws(() => calls.data(4, 5, mutation(Buffer.from([0x80, 0x80])), true), (e: unknown) => e instanceof c.ProtocolError);
  });

  test('item events carry names: _default for a legacy stream, learnt names otherwise', () => {
    const legacy = itemEvent(4, mutation(Buffer.from('k')));
    assert.deepEqual([legacy.scope, legacy.collection, legacy.collectionId, legacy.key.toString()], ['_default', '_default', 0, 'k']);
    const names = new CollectionNames();
    names.learnManifest(parseManifest(JSON.stringify(MANIFEST)));
    const p = mutation(c.joinCollectionKey(0xa2, 'Hilton'));
    const e = itemEvent(4, p, p.key.subarray(2), 0xa2, names.nameOf(0xa2));
    assert.deepEqual([e.scope, e.collection, e.collectionId, e.key.toString()], ['inventory', 'hotel', 0xa2, 'Hilton']);
  });

  test('system events become collection and scope events, names learnt before the receiver sees them', async () => {
    const names = new CollectionNames();
    names.learnManifest(parseManifest(JSON.stringify(MANIFEST)));
    const { receiver, events, items } = recorder();
    const calls = new ReceiverCalls(receiver, newStats(), names);
    await calls.systemEvent(4, 10, sysEvent(10, { type: 'CreateScope', name: 'crm', manifestUid: 6, scopeId: 0xb }));
    await calls.systemEvent(4, 11, sysEvent(11, { type: 'BeginCollection', name: 'leads', manifestUid: 7, scopeId: 0xb, collectionId: 0xc0, maxTtl: 100 }));
    calls.data(4, 12, mutation(c.joinCollectionKey(0xc0, 'l1'), 12), true);
    await calls.systemEvent(4, 13, sysEvent(13, { type: 'EndCollection', manifestUid: 8, scopeId: 0xb, collectionId: 0xc0 }));
    await calls.systemEvent(4, 14, sysEvent(14, { type: 'DropScope', manifestUid: 9, scopeId: 0xb }));
    await calls.systemEvent(4, 15, sysEvent(15, { type: 'EndCollection', manifestUid: 9, scopeId: 8, collectionId: 0x99 }));
    assert.deepEqual(items, [{ key: 'l1', cid: 0xc0 }]);
    assert.deepEqual(
      events.map((e, i) => systemChangeEvent(4, [10, 11, 13, 14, 15][i]!, e, names)),
      [
        { type: 'scope', action: 'create', vbucket: 4, seqno: 10, manifestUid: 6, scope: 'crm', scopeId: 0xb },
        { type: 'collection', action: 'create', vbucket: 4, seqno: 11, manifestUid: 7, scope: 'crm', scopeId: 0xb, collection: 'leads', collectionId: 0xc0, maxTTL: 100 },
        // a drop has no name on the wire: the registry keeps it
        { type: 'collection', action: 'drop', vbucket: 4, seqno: 13, manifestUid: 8, scope: 'crm', scopeId: 0xb, collection: 'leads', collectionId: 0xc0 },
        { type: 'scope', action: 'drop', vbucket: 4, seqno: 14, manifestUid: 9, scope: 'crm', scopeId: 0xb },
        // a drop of a collection never seen: empty name, the id still there
        { type: 'collection', action: 'drop', vbucket: 4, seqno: 15, manifestUid: 9, scope: 'inventory', scopeId: 8, collection: '', collectionId: 0x99 },
      ],
    );
    // ModifyCollection / FlatBuffers events only advance the stream
    assert.equal(systemChangeEvent(4, 16, { type: 'Opaque', event: 5, version: 2 }, names), undefined);
    // a malformed event fails the connection as a protocol error
    const bad = c.encodeSystemEvent({ opaque: 1, vbucket: 4, bySeqno: 17, event: 0, version: 0, key: Buffer.from('x'), value: Buffer.alloc(3) });
    assert.throws(() => calls.systemEvent(4, 17, bad), (e: unknown) => isConsumerError(e, 'PROTOCOL'));
  });

  test('tail lines: names only on a collection-aware run; collection events as their own lines', () => {
    const e = itemEvent(4, mutation(Buffer.from('k')));
    assert.equal('scope' in changeToJson(e), false); // the legacy line is unchanged
    const named = changeToJson(e, false, true);
    assert.deepEqual(Object.keys(named).slice(0, 4), ['type', 'key', 'scope', 'collection']);
    assert.deepEqual(
      changeToJson({ type: 'collection', action: 'create', vbucket: 1, seqno: 2, manifestUid: 3, scope: 's', scopeId: 8, collection: 'c', collectionId: 9 }),
      { type: 'collection', action: 'create', scope: 's', collection: 'c', collectionId: 9, scopeId: 8, manifestUid: 3, vbucket: 1, seqno: 2 },
    );
    assert.deepEqual(changeToJson({ type: 'scope', action: 'drop', vbucket: 1, seqno: 2, manifestUid: 3, scope: 's', scopeId: 8 }), {
      type: 'scope', action: 'drop', scope: 's', scopeId: 8, manifestUid: 3, vbucket: 1, seqno: 2,
    });
  });

  test('message tables: collection messages only on a collection-aware connection; FilterEmpty ends the vbucket', () => {
    assert.equal(messageKind(0x80, c.Opcode.DcpSystemEvent), 'unsupported');
    assert.equal(messageKind(0x80, c.Opcode.DcpSeqnoAdvanced), 'unsupported');
    assert.equal(messageKind(0x80, c.Opcode.DcpSystemEvent, true), 'system-event');
    assert.equal(messageKind(0x80, c.Opcode.DcpSeqnoAdvanced, true), 'seqno-advanced');
    assert.equal(messageKind(0x80, c.Opcode.DcpMutation, true), 'data');
    assert.equal(streamEndAction(c.StreamEndReason.FilterEmpty), 'filter-empty');
  });
});
