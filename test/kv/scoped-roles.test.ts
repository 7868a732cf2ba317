/**
 * Scoped roles on the KV port, raw frames: each document command is checked on its key's
 * collection (src/kv/access.ts). Held privilege: Success; some privilege on the collection but not
 * this one: NoAccess (0x24); none at all there: UnknownCollection (0x88), as kv_engine answers.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Feature,
  Opcode,
  Status,
  encodeArithRequest,
  encodeGetMetaRequest,
  encodeGetRequest,
  encodeStoreRequest,
  joinCollectionKey,
  makeRequest,
} from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const FEATURES = [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Collections];

async function setup(f: KvFixture): Promise<void> {
  const b = f.bucket;
  await b.createScope('inventory');
  await b.createCollection('inventory', 'airport');
  await b.set('doc', Buffer.from('{"a":1}'));
  await b.set('n', Buffer.from('1'));
  const users = f.server.server.users;
  const airport = b.manifest.collectionByPath('inventory', 'airport')!;
  const inventory = b.manifest.scopeByName('inventory')!;
  await users.setBucketUser('reader', 'reader-pw', [
    { role: 'data_reader', bucket: 'default', scope: { name: '_default', id: 0 }, collection: { name: '_default', id: 0 } },
  ]);
  await users.setBucketUser('writer', 'writer-pw', [{ role: 'data_writer', bucket: 'default' }]);
  await users.setBucketUser('airport', 'airport-pw', [
    { role: 'data_reader', bucket: 'default', scope: { name: 'inventory', id: inventory.id }, collection: { name: 'airport', id: airport.id } },
  ]);
}

const key = (cid: number, k: string): Buffer => joinCollectionKey(cid, k);

describe('scoped roles on the KV port', () => {
  test('a default-collection reader reads and is refused writes with NoAccess', RAW_TEST, () =>
    withServer(async (f) => {
      await setup(f);
      const kv = await f.open({ user: 'reader', password: 'reader-pw', features: FEATURES });
      expectStatus(await kv.request(encodeGetRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.Success);
      expectStatus(await kv.request(encodeGetMetaRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.Success);
      expectStatus(await kv.request(encodeStoreRequest({ key: key(0, 'doc'), value: 'x', vbucket: f.vb('doc') })), Status.Eaccess);
      expectStatus(await kv.request(encodeArithRequest({ opcode: Opcode.Increment, key: key(0, 'n'), delta: 1n, vbucket: f.vb('n') })), Status.Eaccess);
      // Bucket-level commands need the privilege on the whole bucket.
      expectStatus(await kv.request(makeRequest(Opcode.GetAllVbSeqnos, {})), Status.Eaccess);
      // A collection it has nothing on is invisible.
      const airport = f.bucket.manifest.collectionByPath('inventory', 'airport')!.id;
      expectStatus(await kv.request(encodeGetRequest({ key: key(airport, 'doc'), vbucket: f.vb('doc') })), Status.UnknownCollection);
      assert.equal(f.bucket.get('doc').value.toString(), '{"a":1}');

      // Without HELLO Collections, keys are in the default collection.
      const legacy = await f.open({ user: 'reader', password: 'reader-pw' });
      expectStatus(await legacy.request(encodeGetRequest({ key: Buffer.from('doc'), vbucket: f.vb('doc') })), Status.Success);
      expectStatus(await legacy.request(encodeStoreRequest({ key: Buffer.from('doc'), value: 'x', vbucket: f.vb('doc') })), Status.Eaccess);
    }));

  test('a bucket-wide writer writes everywhere and cannot read', RAW_TEST, () =>
    withServer(async (f) => {
      await setup(f);
      const kv = await f.open({ user: 'writer', password: 'writer-pw', features: FEATURES });
      expectStatus(await kv.request(encodeStoreRequest({ key: key(0, 'w'), value: 'v', vbucket: f.vb('w') })), Status.Success);
      expectStatus(await kv.request(encodeStoreRequest({ opcode: Opcode.Add, key: key(0, 'w2'), value: 'v', vbucket: f.vb('w2') })), Status.Success);
      expectStatus(await kv.request(encodeGetRequest({ key: key(0, 'w'), vbucket: f.vb('w') })), Status.Eaccess);
      expectStatus(await kv.request(makeRequest(Opcode.Delete, { key: key(0, 'w'), vbucket: f.vb('w') })), Status.Success);
      assert.equal(f.bucket.get('w2').value.toString(), 'v');
    }));

  test('a user scoped to inventory.airport gets UnknownCollection for the default collection; revocation applies at once', RAW_TEST, () =>
    withServer(async (f) => {
      await setup(f);
      const kv = await f.open({ user: 'airport', password: 'airport-pw', features: FEATURES });
      expectStatus(await kv.request(encodeGetRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.UnknownCollection);
      expectStatus(await kv.request(encodeStoreRequest({ key: key(0, 'doc'), value: 'x', vbucket: f.vb('doc') })), Status.UnknownCollection);
      expectStatus(await kv.request(encodeGetRequest({ key: key(999, 'doc'), vbucket: f.vb('doc') })), Status.UnknownCollection);
      // The lookups show only what the user holds privileges on (kv filters them the same way).
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetId, { value: Buffer.from('inventory.airport') })), Status.Success);
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetId, { value: Buffer.from('_default._default') })), Status.UnknownCollection);
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetScopeId, { value: Buffer.from('_default') })), Status.UnknownScope);
      const manifest = JSON.parse((await kv.request(makeRequest(Opcode.CollectionsGetManifest, {}))).value.toString()) as { scopes: Array<{ name: string; collections: Array<{ name: string }> }> };
      assert.deepEqual(manifest.scopes.map((s) => [s.name, s.collections.map((c) => c.name)]), [['inventory', ['airport']]]);

      // A role on another bucket only: this bucket cannot be selected.
      await f.engine.createBucket('other', { numVBuckets: 2 });
      await f.server.server.users.setBucketUser('stranger', 'stranger-pw', [{ role: 'data_reader', bucket: 'other' }]);
      await assert.rejects(f.open({ user: 'stranger', password: 'stranger-pw' }), /SELECT_BUCKET/);

      // Granting the default collection to the open connection's user takes effect on its next command.
      const reader = await f.open({ user: 'reader', password: 'reader-pw', features: FEATURES });
      expectStatus(await reader.request(encodeGetRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.Success);
      await f.server.server.users.setBuckets('reader', [{ role: 'data_writer', bucket: 'default' }]);
      expectStatus(await reader.request(encodeGetRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.Eaccess);
      await f.server.server.users.removeUser('reader');
      expectStatus(await reader.request(encodeGetRequest({ key: key(0, 'doc'), vbucket: f.vb('doc') })), Status.Eaccess);
    }));
});
