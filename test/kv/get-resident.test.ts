/**
 * GETs answered straight from a stored record in memory (engine Collection.residentRecord, the
 * KV face's GET without an Item, issue #16) carry exactly what the Item path answers: flags,
 * datatype, CAS, the value after any xattrs, GETK's key as sent, and KEY_ENOENT (silence for the
 * quiet forms) for a tombstone. Versions the fast path must not answer (a lock anywhere in the
 * bucket, an expiry, a version in flight) are still answered right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Datatype, Feature, Opcode, Status, decodeGetResponse, encodeDeleteRequest, encodeGetLockedRequest, encodeGetRequest,
  encodeNoopRequest, encodeStoreRequest, joinCollectionKey, type Packet,
} from '../../src/codec/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectStatus, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const LOCKED_CAS = 0xffffffffffffffffn;

/** Reads served from memory and from LMDB since the bucket opened. */
function reads(f: KvFixture): { memory: number; disk: number } {
  return { memory: f.bucket.stats.recordCacheHits, disk: f.bucket.stats.bgFetches };
}

async function get(kv: RawKv, f: KvFixture, key: string | Buffer, docKey: string, opcode: number = Opcode.Get): Promise<Packet> {
  return kv.request(encodeGetRequest({ key, vbucket: f.vb(docKey), opcode: opcode as typeof Opcode.Get }));
}

test('a GET from memory answers the flags, datatype, CAS and value the engine holds, GETK with the key as sent', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Xattr] });
    expectStatus(await kv.request(encodeStoreRequest({ key: 'json', value: '{"a":1}', flags: 0xdeadbeef, datatype: Datatype.Json, vbucket: f.vb('json') })), Status.Success);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'raw', value: Buffer.from([0, 1, 2, 255]), flags: 7, vbucket: f.vb('raw') })), Status.Success);
    // A value with user xattrs in front of its body (kv docs/Document.md): GET answers the body only.
    const xattrs = Buffer.from('{"meta":{"x":true}}');
    const body = Buffer.from('{"b":2}');
    const blob = Buffer.alloc(4 + 4 + 'meta'.length + 1 + '{"x":true}'.length + 1);
    blob.writeUInt32BE(blob.length - 4, 0);
    blob.writeUInt32BE(blob.length - 8, 4);
    blob.write('meta\0{"x":true}\0', 8, 'latin1');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'withx', value: Buffer.concat([blob, body]), datatype: Datatype.Xattr | Datatype.Json, flags: 3, vbucket: f.vb('withx') })), Status.Success);
    assert.deepEqual(f.bucket.get('withx').xattrs, xattrs, 'the xattrs were stored with the document');
    await f.bucket.quiesce();

    const before = reads(f);
    for (const key of ['json', 'raw', 'withx']) {
      const item = f.bucket.get(key);
      for (const opcode of [Opcode.Get, Opcode.GetK, Opcode.GetQ, Opcode.GetKQ]) {
        const res = expectStatus(await get(kv, f, key, key, opcode), Status.Success, `${key} 0x${opcode.toString(16)}`);
        const r = decodeGetResponse(res);
        assert.deepEqual(r.value, item.value, `${key}: value`);
        assert.equal(r.flags, item.flags, `${key}: flags`);
        assert.equal(r.cas, item.cas, `${key}: CAS`);
        assert.equal(res.datatype, item.datatype, `${key}: datatype`);
        assert.equal(res.opcode, opcode);
        assert.deepEqual(r.key, opcode === Opcode.GetK || opcode === Opcode.GetKQ ? Buffer.from(key) : Buffer.alloc(0), `${key}: key`);
      }
    }
    assert.deepEqual(decodeGetResponse(await get(kv, f, 'withx', 'withx')).value, body);
    const after = reads(f);
    assert.ok(after.memory - before.memory >= 12, 'the GETs were served from memory');
    assert.equal(after.disk, before.disk, 'no GET read LMDB');

    // A client that did not negotiate JSON sees datatype 0 (dcp.md §1.3).
    const plain = await f.open({ features: [Feature.Xerror, Feature.SelectBucket] });
    assert.equal(expectStatus(await get(plain, f, 'json', 'json'), Status.Success).datatype, 0);
  }));

test('a tombstone in memory is KEY_ENOENT, and GETQ/GETKQ stay silent for it', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    expectStatus(await kv.request(encodeStoreRequest({ key: 'gone', value: 'v', vbucket: f.vb('gone') })), Status.Success);
    expectStatus(await kv.request(encodeDeleteRequest({ key: 'gone', vbucket: f.vb('gone') })), Status.Success);
    await f.bucket.quiesce();
    const misses = f.bucket.stats.readMisses;
    expectStatus(await get(kv, f, 'gone', 'gone'), Status.KeyEnoent);
    expectStatus(await get(kv, f, 'never', 'never'), Status.KeyEnoent);
    assert.equal(f.bucket.stats.readMisses, misses + 2, 'both misses counted');
    // The quiet forms answer nothing on a miss: the NOOP's reply is the next one.
    kv.send(encodeGetRequest({ key: 'gone', vbucket: f.vb('gone'), opcode: Opcode.GetQ }, { opaque: 1 }));
    kv.send(encodeGetRequest({ key: 'gone', vbucket: f.vb('gone'), opcode: Opcode.GetKQ }, { opaque: 2 }));
    const noop = await kv.request(encodeNoopRequest({ opaque: 3 }));
    assert.equal(noop.opcode, Opcode.Noop);
    assert.equal(noop.opaque, 3);
  }));

test('a lock, an expiry, a version in flight and a collection key are still answered right', RAW_TEST, async () => {
  const clock = new ManualClock();
  await withServer(
    async (f) => {
      const kv = await f.open({ features: [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Collections] });
      const key = (k: string, cid = 0): Buffer => joinCollectionKey(cid, k);
      const set = (k: string, value: string, opts: { expiration?: number; cid?: number } = {}): Promise<Packet> =>
        kv.request(encodeStoreRequest({ key: key(k, opts.cid), value, vbucket: f.vb(k), ...(opts.expiration === undefined ? {} : { expiration: opts.expiration }) }));
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const cid = f.bucket.manifest.collectionByPath('s', 'c')!.id;
      expectStatus(await set('locked', 'l'), Status.Success);
      expectStatus(await set('other', 'o'), Status.Success);
      expectStatus(await set('brief', 'b', { expiration: 10 }), Status.Success);
      expectStatus(await set('k', 'in c', { cid }), Status.Success);
      await f.bucket.quiesce();

      // Another collection's key of the same name is another document.
      assert.equal(decodeGetResponse(expectStatus(await get(kv, f, key('k', cid), 'k'), Status.Success)).value.toString(), 'in c');
      expectStatus(await get(kv, f, key('k'), 'k'), Status.KeyEnoent);

      // An item past its expiry is gone on access, though its record is in memory.
      assert.equal(decodeGetResponse(expectStatus(await get(kv, f, key('brief'), 'brief'), Status.Success)).value.toString(), 'b');
      clock.advance(11_000);
      expectStatus(await get(kv, f, key('brief'), 'brief'), Status.KeyEnoent);

      // A write not yet on disk is read from memory as it was acknowledged.
      expectStatus(await set('other', 'newer'), Status.Success);
      assert.equal(decodeGetResponse(await get(kv, f, key('other'), 'other')).value.toString(), 'newer');
      await f.bucket.quiesce();

      // A locked document shows every other reader CAS -1; the others keep theirs.
      const lock = expectStatus(await kv.request(encodeGetLockedRequest({ key: key('locked'), lockTime: 15, vbucket: f.vb('locked') })), Status.Success);
      assert.equal(decodeGetResponse(await get(kv, f, key('locked'), 'locked')).cas, LOCKED_CAS);
      assert.notEqual(lock.cas, LOCKED_CAS);
      assert.equal(decodeGetResponse(await get(kv, f, key('other'), 'other')).cas, f.bucket.get('other').cas);
    },
    { clock },
  );
});
