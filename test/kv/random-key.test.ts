/**
 * GET_RANDOM_KEY (0xb6) over raw frames: a live document of the default collection or of the
 * collection named in the extras (its key collection-prefixed with Collections negotiated),
 * KeyEnoent for an empty collection, tombstones never returned, Read on the collection required.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Feature, makeRequest, Opcode, splitCollectionKey, Status } from '../../src/codec/index.js';

const u32Buffer = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

const randomKey = (extras?: Buffer) => makeRequest(Opcode.GetRandomKey, extras === undefined ? {} : { extras });

describe('GET_RANDOM_KEY', () => {
  test('a live document of the default collection, with its flags, CAS and value; none is KeyEnoent', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(randomKey()), Status.KeyEnoent, 'empty bucket');
      await f.bucket.set('gone', '{"x":0}');
      await f.bucket.delete('gone');
      expectStatus(await kv.request(randomKey()), Status.KeyEnoent, 'only a tombstone');
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) await f.bucket.set(`doc-${i}`, JSON.stringify({ i }), { flags: 7 });
      for (let i = 0; i < 40; i++) {
        const r = expectStatus(await kv.request(randomKey()), Status.Success, 'random key');
        const key = r.key.toString();
        assert.match(key, /^doc-\d+$/);
        assert.equal(r.extras.readUInt32BE(0), 7);
        assert.deepEqual(JSON.parse(r.value.toString()), { i: Number(key.slice(4)) });
        assert.equal(r.cas, f.bucket.get(key).cas);
        seen.add(key);
      }
      assert.ok(seen.size > 1, 'more than one document comes back');
    }));

  test('a named collection by its id in the extras, the key collection-prefixed', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const cid = f.bucket.collectionByName('s', 'c').id;
      await f.bucket.collectionByName('s', 'c').set('only', '{"in":"c"}');
      await f.bucket.set('dflt', '{}');
      const kv = await f.open({ features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Collections] });
      const r = expectStatus(await kv.request(randomKey(u32Buffer(cid))), Status.Success, 'collection');
      const { collectionId, key } = splitCollectionKey(r.key);
      assert.equal(collectionId, cid);
      assert.equal(key.toString(), 'only');
      expectStatus(await kv.request(randomKey(u32Buffer(0x99))), Status.UnknownCollection, 'unknown collection');
      const plain = await f.open();
      expectStatus(await plain.request(randomKey(u32Buffer(cid))), Status.Einval, 'a collection id needs Collections');
      await f.server.server.users.setBucketUser('other', 'other-secret', [{ role: 'data_reader', bucket: 'default', scope: { name: 's', id: f.bucket.manifest.scopeByName('s')!.id }, collection: { name: 'c', id: cid } }]);
      const reader = await f.open({ user: 'other', password: 'other-secret', features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Collections] });
      expectStatus(await reader.request(randomKey(u32Buffer(cid))), Status.Success, 'its own collection');
      const refused = await reader.request(randomKey(u32Buffer(0)));
      assert.ok(refused.status === Status.Eaccess || refused.status === Status.UnknownCollection, `status 0x${refused.status.toString(16)}`);
    }));
});
