/**
 * A disk backfill builds its DCP_MUTATIONs straight from the stored records (engine RecordEvent,
 * dcp/messages.ts `storedMutation`, issue #16). Every message must carry exactly what the
 * engine's document holds, as the Item path sent it: key (with the collection's LEB128 prefix on a
 * collection-aware connection), the body only (a document's xattrs are not sent without
 * IncludeXattrs, and come as a blob with it), datatype, CAS, flags, expiry, rev and by-seqnos,
 * no value under NoValue, and the stream id on every message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import type { Collection } from '../../src/engine/collection.js';
import type { Item } from '../../src/engine/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer, type ConsumerOptions, type ItemEvent } from './helpers/consumer.js';

const VB = 3;
let server: TestServer;
let bucket: Bucket;
let named: Collection;
let cid: number;
/** The documents of vbucket VB, by the key a collection-aware consumer sees. */
const docs = new Map<string, Item>();

/** `count` fresh keys of vbucket VB. */
function keysIn(count: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (bucket.vbucketOf(`${prefix}-${i}`) === VB) out.push(`${prefix}-${i}`);
  return out;
}

before(async () => {
  // No checkpoint memory kept: every stream below reads the disk (a backfill).
  server = await startTestServer({ numVBuckets: 8, checkpointBytes: 0 });
  bucket = server.server.engine.bucket('default')!;
  await bucket.createScope('s');
  await bucket.createCollection('s', 'c');
  named = bucket.collectionByName('s', 'c');
  cid = named.id;
  const [json, raw, expiring, withXattrs, inC] = keysIn(5, 'rec') as [string, string, string, string, string];
  await bucket.set(json, '{"a":1}', { datatype: c.Datatype.Json, flags: 0xdeadbeef });
  await bucket.set(raw, Buffer.from([0, 1, 2, 0xff]), { flags: 7 });
  await bucket.set(raw, Buffer.from([3, 4]), { flags: 8 }); // rev seqno 2
  await bucket.set(expiring, '"soon"', { expiry: 3600 });
  await bucket.set(withXattrs, '{"b":2}', { xattrs: Buffer.from('{"_sys":{"x":1},"user":true}') });
  await named.set(inC, '{"in":"c"}');
  await bucket.quiesce();
  for (const k of [json, raw, expiring, withXattrs]) docs.set(c.joinCollectionKey(0, k).toString('latin1'), bucket.lookup(Buffer.from(k))!);
  docs.set(c.joinCollectionKey(cid, inC).toString('latin1'), named.lookup(Buffer.from(inC))!);
});
after(() => server.close());

/** The mutations of one backfill of VB, once `expected` of them have arrived. */
async function backfill(t: { after(fn: () => Promise<void>): void }, expected: number, opts: ConsumerOptions, request: Partial<c.StreamRequest> = {}): Promise<ItemEvent[]> {
  const consumer = await DcpTestConsumer.open(server, opts);
  t.after(() => consumer.close());
  await consumer.streamFromZero(VB, request);
  const mutations = (): ItemEvent[] => consumer.items(VB).filter((e) => e.type === 'mutation');
  await consumer.waitFor('the backfill', () => mutations().length >= expected);
  return mutations();
}

/** The document a DCP key names: prefixed when collection-aware, else a default-collection key. */
function docOf(key: Buffer, collections: boolean): Item {
  const doc = docs.get(collections ? key.toString('latin1') : c.joinCollectionKey(0, key).toString('latin1'));
  assert.ok(doc, `a document for key ${key.toString('hex')}`);
  return doc;
}

function expectSame(e: ItemEvent, doc: Item, value: Buffer, datatype: number): void {
  assert.equal(e.type, 'mutation');
  if (e.type !== 'mutation') return;
  const what = doc.key.toString();
  assert.deepEqual(e.value, value, `${what}: value`);
  assert.equal(e.datatype, datatype, `${what}: datatype`);
  assert.equal(e.cas, doc.cas, `${what}: CAS`);
  assert.equal(e.flags, doc.flags, `${what}: flags`);
  assert.equal(e.expiration, doc.expiry, `${what}: expiry`);
  assert.equal(e.seqno, doc.seqno, `${what}: seqno`);
  assert.equal(e.revSeqno, doc.revSeqno, `${what}: rev seqno`);
}

describe('dcp > backfill built from stored records', () => {
  test('a legacy connection gets the default collection, bodies without xattrs', async (t) => {
    const got = await backfill(t, 4, {});
    assert.equal(got.length, 4, 'the named collection is not streamed to a legacy client');
    for (const e of got) {
      const doc = docOf(e.key, false);
      assert.deepEqual(e.key, doc.key);
      expectSame(e, doc, doc.value, doc.datatype & c.Datatype.Json);
    }
    assert.ok(got.some((e) => docOf(e.key, false).xattrs !== null), 'a document with xattrs was among them');
  });

  test('a collection-aware connection gets LEB128-prefixed keys of every collection, with a stream id', async (t) => {
    const got = await backfill(t, 5, { features: [c.Feature.Xerror, c.Feature.Collections], controls: { enable_noop: 'true', enable_stream_id: 'true' } }, { value: '{"sid":7}' });
    assert.equal(got.length, 5);
    for (const e of got) {
      const doc = docOf(e.key, true);
      assert.deepEqual(e.key, c.joinCollectionKey(doc.collection, doc.key));
      assert.equal(e.streamId, 7);
      expectSame(e, doc, doc.value, doc.datatype & c.Datatype.Json);
    }
    assert.ok(got.some((e) => docOf(e.key, true).collection === cid));
  });

  test('NoValue sends no body; IncludeXattrs sends the xattr blob before the body', async (t) => {
    for (const e of await backfill(t, 4, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.NoValue })) {
      expectSame(e, docOf(e.key, false), Buffer.alloc(0), 0);
    }
    for (const e of await backfill(t, 4, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.IncludeXattrs, controls: { enable_noop: 'true' } })) {
      const doc = docOf(e.key, false);
      const blob = c.encodeXattrBlob(doc.xattrs);
      const json = doc.datatype & c.Datatype.Json;
      expectSame(e, doc, blob ? Buffer.concat([blob, doc.value]) : doc.value, blob ? json | c.Datatype.Xattr : json);
    }
    // NoValueWithUnderlyingDatatype: no body, the document's datatype (XATTR bit included).
    let withXattrs = 0;
    for (const e of await backfill(t, 4, { openFlags: c.DcpOpenFlag.Producer | c.DcpOpenFlag.NoValueWithUnderlyingDatatype })) {
      const doc = docOf(e.key, false);
      const json = doc.datatype & c.Datatype.Json;
      if (c.encodeXattrBlob(doc.xattrs)) withXattrs++;
      expectSame(e, doc, Buffer.alloc(0), c.encodeXattrBlob(doc.xattrs) ? json | c.Datatype.Xattr : json);
    }
    assert.ok(withXattrs > 0, 'some backfilled documents carry xattrs');
  });
});
