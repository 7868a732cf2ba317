/**
 * Collections over raw KV frames (issue #14 part 2): LEB128 key prefixes (including ids over
 * 0x7f), GET_COLLECTION_ID / GET_SCOPE_ID / GET_COLLECTIONS_MANIFEST, the manifest uid body of
 * UNKNOWN_COLLECTION and UNKNOWN_SCOPE, per-collection GET_ALL_VB_SEQNOS, the collection STAT
 * groups and the manifest uid in the CCCP config. Checked against the engine's own view.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Feature,
  Opcode,
  Status,
  decodeAllVbSeqnosResponse,
  decodeCollectionIdResponse,
  decodeGetClusterConfigResponse,
  decodeGetResponse,
  encodeAllVbSeqnosRequest,
  encodeCollectionIdRequest,
  encodeGetClusterConfigRequest,
  encodeGetCollectionsManifestRequest,
  encodeGetRequest,
  encodeStatRequest,
  encodeStoreRequest,
  joinCollectionKey,
  makeRequest,
  VbucketStateFilter,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus, statGroup, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const COLLECTION_FEATURES = [Feature.Collections, Feature.Xerror, Feature.Json, Feature.SelectBucket];

function bodyOf(p: Packet): Record<string, unknown> {
  return JSON.parse(p.value.toString('utf8')) as Record<string, unknown>;
}

function set(f: KvFixture, key: Buffer, docKey: string, value: string): Packet {
  return encodeStoreRequest({ key, value, vbucket: f.vb(docKey) });
}

function get(f: KvFixture, key: Buffer, docKey: string, opcode?: typeof Opcode.GetK): Packet {
  return encodeGetRequest({ key, vbucket: f.vb(docKey), ...(opcode === undefined ? {} : { opcode }) });
}

async function getValue(f: KvFixture, kv: RawKv, cid: number, docKey: string): Promise<string> {
  const res = expectStatus(await kv.request(get(f, joinCollectionKey(cid, docKey), docKey)), Status.Success);
  return decodeGetResponse(res).value.toString();
}

async function collectionId(kv: RawKv, path: string, inKey = false): Promise<Packet> {
  return kv.request(encodeCollectionIdRequest(Opcode.CollectionsGetId, path, { inKey }));
}

describe('collection-id key prefixes', () => {
  test('ids over 0x7f take two LEB128 bytes; one key holds a value per collection', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      // Ids start at 8, so the 121st collection is 0x80, the first id with a two-byte prefix.
      for (let i = 0; i < 121; i++) await f.bucket.createCollection('s', `c${i}`);
      const high = f.bucket.manifest.collectionByPath('s', 'c120')!.id;
      assert.equal(high, 0x80);
      assert.deepEqual([...joinCollectionKey(high, 'k').subarray(0, 2)], [0x80, 0x01]);
      const kv = await f.open({ features: COLLECTION_FEATURES });

      expectStatus(await kv.request(set(f, joinCollectionKey(0, 'k'), 'k', 'default')), Status.Success);
      expectStatus(await kv.request(set(f, joinCollectionKey(8, 'k'), 'k', 'eight')), Status.Success);
      expectStatus(await kv.request(set(f, joinCollectionKey(high, 'k'), 'k', 'high')), Status.Success);
      assert.equal(await getValue(f, kv, 0, 'k'), 'default');
      assert.equal(await getValue(f, kv, 8, 'k'), 'eight');
      assert.equal(await getValue(f, kv, high, 'k'), 'high');
      assert.equal(f.bucket.collection(high).get('k').value.toString(), 'high');
      assert.equal(f.bucket.collection(8).get('k').value.toString(), 'eight');
      assert.equal(f.bucket.get('k').value.toString(), 'default');
      expectStatus(await kv.request(get(f, joinCollectionKey(9, 'k'), 'k')), Status.KeyEnoent, 'an empty collection');

      // GETK echoes the key as sent, prefix included (kv: the key of a collection-aware client).
      const withKey = expectStatus(await kv.request(get(f, joinCollectionKey(high, 'k'), 'k', Opcode.GetK)), Status.Success);
      assert.deepEqual(withKey.key, joinCollectionKey(high, 'k'));
    }));

  test('malformed prefixes are EINVAL; an unknown id is UNKNOWN_COLLECTION with the manifest uid', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const kv = await f.open({ features: COLLECTION_FEATURES });
      expectStatus(await kv.request(set(f, joinCollectionKey(8, 'k'), 'k', 'v')), Status.Success);
      const bad: Array<[string, Buffer]> = [
        ['id 8 in a non-shortest form', Buffer.concat([Buffer.from([0x88, 0x00]), Buffer.from('k')])],
        ['id 0 in a non-shortest form', Buffer.concat([Buffer.from([0x80, 0x80, 0x00]), Buffer.from('k')])],
        ['a prefix longer than 5 bytes', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x6b])],
        ['a 5-byte prefix beyond u32', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f, 0x6b])],
        ['a truncated prefix', Buffer.from([0x88])],
        ['a prefix and no key', Buffer.from([0x08])],
      ];
      for (const [what, key] of bad) expectStatus(await kv.request(encodeGetRequest({ key, vbucket: 0 })), Status.Einval, what);
      expectStatus(await kv.request(encodeStoreRequest({ key: Buffer.from([0x88, 0x00, 0x6b]), value: 'x', vbucket: f.vb('k') })), Status.Einval);
      assert.equal(f.bucket.collection(8).get('k').value.toString(), 'v', 'a refused write changed nothing');

      const uid = f.bucket.manifest.uid.toString(16);
      for (const cid of [9, 0x12345]) {
        const res = expectStatus(await kv.request(get(f, joinCollectionKey(cid, 'k'), 'k')), Status.UnknownCollection, `cid ${cid}`);
        assert.equal(bodyOf(res).manifest_uid, uid);
      }
      // After a drop, the old id answers UNKNOWN_COLLECTION with the new uid.
      await f.bucket.dropCollection('s', 'c');
      const after = expectStatus(await kv.request(get(f, joinCollectionKey(8, 'k'), 'k')), Status.UnknownCollection);
      assert.equal(bodyOf(after).manifest_uid, f.bucket.manifest.uid.toString(16));
      assert.notEqual(f.bucket.manifest.uid.toString(16), uid);
      assert.equal(typeof (bodyOf(after).error as Record<string, unknown>).context, 'string', 'XERROR adds the context');
      const write = expectStatus(await kv.request(set(f, joinCollectionKey(8, 'k'), 'k', 'again')), Status.UnknownCollection);
      assert.equal(bodyOf(write).manifest_uid, f.bucket.manifest.uid.toString(16));
    }));

  test('reserved ids 1-7 and logical keys over 246 bytes in a named collection are EINVAL (kv is_document_key_valid)', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const kv = await f.open({ features: COLLECTION_FEATURES });
      for (let cid = 1; cid <= 7; cid++) {
        const res = expectStatus(await kv.request(get(f, joinCollectionKey(cid, 'k'), 'k')), Status.Einval, `cid ${cid}`);
        assert.deepEqual(bodyOf(res), { error: { context: `Invalid collection-id:${cid}` } });
      }
      const k246 = 'a'.repeat(246);
      const k247 = 'b'.repeat(247);
      expectStatus(await kv.request(set(f, joinCollectionKey(8, k246), k246, 'v')), Status.Success, '246 bytes in collection 8');
      const long = expectStatus(await kv.request(set(f, joinCollectionKey(8, k247), k247, 'v')), Status.Einval, '247 bytes in collection 8');
      assert.deepEqual(bodyOf(long), { error: { context: 'Logical key exceeds 246' } });
      expectStatus(await kv.request(get(f, joinCollectionKey(8, k247), k247)), Status.Einval, 'a read too');
      // Unknown collections are checked after the key: a long key is EINVAL there as well.
      expectStatus(await kv.request(get(f, joinCollectionKey(99, k247), k247)), Status.Einval, 'unknown collection, long key');
      // The _default collection keeps the pre-collections 250.
      const k250 = 'c'.repeat(250);
      expectStatus(await kv.request(set(f, joinCollectionKey(0, k250), k250, 'v')), Status.Success, '250 bytes in _default');
      assert.equal(f.bucket.collection(8).get(k246).value.toString(), 'v');
    }));

  test('without HELLO Collections only the default collection is reachable', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      await f.bucket.collection(8).set('k', 'in-c');
      await f.bucket.set('k', 'in-default');
      const kv = await f.open();
      const res = expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: f.vb('k') })), Status.Success);
      assert.equal(decodeGetResponse(res).value.toString(), 'in-default');
      // 0x08 is then just the first byte of another key.
      expectStatus(await kv.request(get(f, joinCollectionKey(8, 'k'), '\u0008k')), Status.KeyEnoent);
    }));
});

describe('unknown collections and clients without XERROR', () => {
  test('a client with neither XERROR nor Collections gets EINVAL, as kv remapErrorCode answers it', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.set('k', 'v');
      await f.bucket.dropCollection('_default', '_default');
      const bare = await f.open({ features: [Feature.SelectBucket] });
      const legacy = expectStatus(await bare.request(encodeGetRequest({ key: 'k', vbucket: f.vb('k') })), Status.Einval, 'legacy client');
      assert.equal(legacy.value.length, 0, 'no XERROR, no body');
      const aware = await f.open({ features: [Feature.SelectBucket, Feature.Collections] });
      const res = expectStatus(await aware.request(get(f, joinCollectionKey(0, 'k'), 'k')), Status.UnknownCollection, 'Collections without XERROR');
      assert.equal(bodyOf(res).manifest_uid, f.bucket.manifest.uid.toString(16));
      const xerror = await f.open({ features: [Feature.SelectBucket, Feature.Xerror] });
      expectStatus(await xerror.request(encodeGetRequest({ key: 'k', vbucket: f.vb('k') })), Status.UnknownCollection, 'XERROR without Collections');
    }));
});

describe('collection lookups', () => {
  test('GET_COLLECTION_ID and GET_SCOPE_ID: ids, the manifest uid, defaults and errors', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('inventory');
      await f.bucket.createCollection('inventory', 'airport');
      await f.bucket.createCollection('inventory', 'hotel');
      const m = f.bucket.manifest;
      const kv = await f.open({ features: COLLECTION_FEATURES });

      const airport = decodeCollectionIdResponse(expectStatus(await collectionId(kv, 'inventory.airport'), Status.Success));
      assert.deepEqual(airport, { manifestUid: m.uid, id: m.collectionByPath('inventory', 'airport')!.id });
      const hotel = decodeCollectionIdResponse(expectStatus(await collectionId(kv, 'inventory.hotel', true), Status.Success));
      assert.equal(hotel.id, m.collectionByPath('inventory', 'hotel')!.id, 'the path in the key');
      for (const path of ['_default._default', '._default', '_default.', '.']) {
        assert.equal(decodeCollectionIdResponse(expectStatus(await collectionId(kv, path), Status.Success)).id, 0, path);
      }

      const missing = expectStatus(await collectionId(kv, 'inventory.museum'), Status.UnknownCollection);
      assert.equal(bodyOf(missing).manifest_uid, m.uid.toString(16));
      const noScope = expectStatus(await collectionId(kv, 'tenants.museum'), Status.UnknownScope);
      assert.equal(bodyOf(noScope).manifest_uid, m.uid.toString(16));
      for (const path of ['inventory', 'a.b.c', 'inventory.bad name', 'in!valid.airport', '', `x.${'y'.repeat(252)}`]) {
        expectStatus(await collectionId(kv, path), Status.Einval, JSON.stringify(path));
      }

      const scopeId = async (path: string): Promise<Packet> => kv.request(encodeCollectionIdRequest(Opcode.CollectionsGetScopeId, path));
      const inventory = decodeCollectionIdResponse(expectStatus(await scopeId('inventory'), Status.Success));
      assert.deepEqual(inventory, { manifestUid: m.uid, id: m.scopeByName('inventory')!.id });
      assert.equal(decodeCollectionIdResponse(expectStatus(await scopeId('inventory.airport'), Status.Success)).id, inventory.id);
      assert.equal(decodeCollectionIdResponse(expectStatus(await scopeId(''), Status.Success)).id, 0);
      assert.equal(decodeCollectionIdResponse(expectStatus(await scopeId('_default'), Status.Success)).id, 0);
      const unknownScope = expectStatus(await scopeId('tenants'), Status.UnknownScope);
      assert.equal(bodyOf(unknownScope).manifest_uid, m.uid.toString(16));
      expectStatus(await scopeId('a.b.c'), Status.Einval);
    }));

  test('GET_COLLECTIONS_MANIFEST returns the manifest JSON', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('inventory');
      await f.bucket.createCollection('inventory', 'airport', { maxTTL: 60 });
      const kv = await f.open({ features: COLLECTION_FEATURES });
      const res = expectStatus(await kv.request(encodeGetCollectionsManifestRequest()), Status.Success);
      const json = bodyOf(res);
      assert.deepEqual(json, JSON.parse(JSON.stringify(f.bucket.manifest.toJSON())));
      assert.equal(json.uid, f.bucket.manifest.uid.toString(16));
      const scopes = json.scopes as Array<{ name: string; collections: Array<{ name: string; maxTTL?: number }> }>;
      assert.deepEqual(scopes.find((s) => s.name === 'inventory')!.collections, [{ name: 'airport', uid: '8', maxTTL: 60 }]);
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetManifest, { key: Buffer.from('x') })), Status.Einval);
    }));
});

describe('per-collection seqnos, stats and the cluster map', () => {
  test('GET_ALL_VB_SEQNOS with a collection id gives that collection\'s high seqnos', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const kv = await f.open({ features: COLLECTION_FEATURES });
      for (const key of ['a', 'b', 'c', 'd']) expectStatus(await kv.request(set(f, joinCollectionKey(8, key), key, key)), Status.Success);
      for (const key of ['e', 'f']) expectStatus(await kv.request(set(f, joinCollectionKey(0, key), key, key)), Status.Success);

      const perCollection = decodeAllVbSeqnosResponse(
        expectStatus(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Active, collectionId: 8 })), Status.Success),
      );
      assert.equal(perCollection.length, f.bucket.numVBuckets);
      for (const { vbucket, seqno } of perCollection) assert.equal(seqno, f.bucket.collectionHighSeqno(vbucket, 8), `vb ${vbucket}`);
      // A collection's seqno is its last write in that vbucket, not the vbucket's last write.
      const seqOf = (vb: number): number => perCollection.find((e) => e.vbucket === vb)!.seqno;
      for (const key of ['a', 'b', 'c', 'd']) assert.ok(seqOf(f.vb(key)) >= f.bucket.collection(8).get(key).seqno, key);
      const eVb = f.vb('e');
      if (!['a', 'b', 'c', 'd'].some((k) => f.vb(k) === eVb)) {
        assert.ok(seqOf(eVb) < f.bucket.get('e').seqno, 'a default-collection write does not move collection 8');
      }
      const bucketWide = decodeAllVbSeqnosResponse(expectStatus(await kv.request(encodeAllVbSeqnosRequest()), Status.Success));
      for (const { vbucket, seqno } of bucketWide) assert.equal(seqno, f.bucket.vbucketInfo(vbucket).highSeqno);

      const unknown = expectStatus(await kv.request(encodeAllVbSeqnosRequest({ state: 0, collectionId: 99 })), Status.UnknownCollection);
      assert.equal(bodyOf(unknown).manifest_uid, f.bucket.manifest.uid.toString(16));
      const legacy = await f.open();
      expectStatus(await legacy.request(encodeAllVbSeqnosRequest({ state: 0, collectionId: 8 })), Status.Einval, 'needs HELLO Collections');
    }));

  test('stats collections, scopes and their details carry kv_engine\'s keys', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('inventory');
      await f.bucket.createCollection('inventory', 'airport', { maxTTL: 120 });
      await f.bucket.createCollection('inventory', 'hotel');
      const kv = await f.open({ features: COLLECTION_FEATURES });
      for (const key of ['a', 'b', 'c']) expectStatus(await kv.request(set(f, joinCollectionKey(8, key), key, key)), Status.Success);
      expectStatus(await kv.request(set(f, joinCollectionKey(0, 'z'), 'z', 'z')), Status.Success);
      await f.bucket.quiesce();

      const uid = String(f.bucket.manifest.uid);
      const all = await statGroup(kv, 'collections');
      assert.equal(all.get('manifest_uid'), uid);
      assert.equal(all.get('0x8:0x8:name'), 'airport');
      assert.equal(all.get('0x8:0x8:scope_name'), 'inventory');
      assert.equal(all.get('0x8:0x8:items'), '3');
      assert.equal(all.get('0x8:0x8:maxTTL'), '120');
      assert.equal(all.get('0x8:0x9:items'), '0');
      assert.equal(all.has('0x8:0x9:maxTTL'), false, 'no maxTTL, no key');
      assert.equal(all.get('0x0:0x0:name'), '_default');
      assert.equal(all.get('0x0:0x0:items'), '1');

      const one = await statGroup(kv, 'collections inventory.hotel');
      assert.deepEqual([...one.keys()].sort(), ['0x8:0x9:items', '0x8:0x9:name', '0x8:0x9:scope_name', 'manifest_uid']);
      assert.equal((await statGroup(kv, 'collections-byid 0x8')).get('0x8:0x8:name'), 'airport');

      const scopes = await statGroup(kv, 'scopes');
      assert.equal(scopes.get('manifest_uid'), uid);
      assert.equal(scopes.get('0x8:name'), 'inventory');
      assert.equal(scopes.get('0x8:collections'), '2');
      assert.equal(scopes.get('0x8:0x9:name'), 'hotel');
      assert.equal(scopes.get('0x0:name'), '_default');
      assert.equal((await statGroup(kv, 'scopes-byid 8')).get('0x8:collections'), '2');

      const vb = f.vb('a');
      const details = await statGroup(kv, `collections-details ${vb}`);
      assert.equal(details.get(`vb_${vb}:0x8:high_seqno`), String(f.bucket.collectionHighSeqno(vb, 8)));
      assert.equal(details.get(`vb_${vb}:0x8:name`), 'airport');
      assert.equal(details.get(`vb_${vb}:manifest:entries`), '3');
      assert.equal((await statGroup(kv, `scopes-details ${vb}`)).get(`vb_${vb}:manifest:scopes`), '2');

      for (const [group, status] of [
        ['collections inventory.museum', Status.UnknownCollection],
        ['scopes tenants', Status.UnknownScope],
        ['collections-byid 0x63', Status.UnknownCollection],
        ['collections-byid zz', Status.Einval],
      ] as const) {
        const res = await kv.request(encodeStatRequest({ group }));
        expectStatus(res, status, group);
      }
    }));

  test('the CCCP config advertises collections and the current manifest uid', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: COLLECTION_FEATURES });
      const config = async (): Promise<{ rev: number; bucketCapabilities: string[]; collectionsManifestUid: string }> =>
        JSON.parse(decodeGetClusterConfigResponse(expectStatus(await kv.request(encodeGetClusterConfigRequest()), Status.Success)).config) as {
          rev: number;
          bucketCapabilities: string[];
          collectionsManifestUid: string;
        };
      const before = await config();
      assert.ok(before.bucketCapabilities.includes('collections'), 'gocbcore HasCollectionsSupport reads this');
      assert.equal(before.collectionsManifestUid, '0');
      await f.bucket.createScope('s');
      for (let i = 0; i < 16; i++) await f.bucket.createCollection('s', `c${i}`);
      const after = await config();
      assert.equal(after.collectionsManifestUid, f.bucket.manifest.uid.toString(16));
      assert.equal(after.collectionsManifestUid, '11');
      assert.ok(after.rev > before.rev, 'a manifest change is a new config revision');
    }));
});
