/**
 * OBSERVE (0x92) and OBSERVE_SEQNO (0x91) against the persisted state, over raw frames: the key
 * states kv_engine reports (found persisted / not persisted, logically deleted, not found) before
 * and after the flusher catches up, collection prefixes, per-key access, and the exact persisted
 * seqno. The flusher is held back with the store's slow-disk seam (group-commit.ts `slowDisk`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Feature,
  ObserveKeyState,
  Status,
  decodeMutationResponse,
  decodeObserveResponse,
  decodeObserveSeqnoResponse,
  encodeDeleteRequest,
  encodeObserveRequest,
  encodeObserveSeqnoRequest,
  encodeStoreRequest,
  joinCollectionKey,
  makeRequest,
  Opcode,
  type ObserveEntry,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

async function observe(kv: RawKv, keys: Array<{ vbucket: number; key: Buffer | string }>): Promise<ObserveEntry[]> {
  const reply = expectStatus(await kv.request(encodeObserveRequest(keys)), Status.Success, 'OBSERVE');
  const res = decodeObserveResponse(reply);
  assert.equal(res.persistTimeMs, 0);
  return [...res.entries];
}

async function observeOne(f: KvFixture, kv: RawKv, key: string): Promise<{ state: number; cas: bigint }> {
  const [e] = await observe(kv, [{ vbucket: f.vb(key), key }]);
  assert.ok(e !== undefined);
  assert.equal(e.key.toString(), key);
  assert.equal(e.vbucket, f.vb(key));
  return { state: e.state, cas: e.cas };
}

function casOf(reply: Packet): bigint {
  return decodeMutationResponse(reply).cas;
}

describe('OBSERVE', () => {
  test('key states before and after persistence, deletions, unknown keys', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      assert.deepEqual(await observeOne(f, kv, 'nobody'), { state: ObserveKeyState.NotFound, cas: 0n });

      const writer = f.engine.store.writer;
      writer.slowDisk(400);
      let cas: bigint;
      try {
        cas = casOf(expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: f.vb('k') })), Status.Success));
        assert.deepEqual(await observeOne(f, kv, 'k'), { state: ObserveKeyState.FoundNotPersisted, cas });
      } finally {
        writer.slowDisk(0);
      }
      await f.bucket.quiesce();
      assert.deepEqual(await observeOne(f, kv, 'k'), { state: ObserveKeyState.FoundPersisted, cas });

      writer.slowDisk(400);
      try {
        const delCas = casOf(expectStatus(await kv.request(encodeDeleteRequest({ key: 'k', vbucket: f.vb('k') })), Status.Success));
        assert.notEqual(delCas, cas);
        assert.deepEqual(await observeOne(f, kv, 'k'), { state: ObserveKeyState.LogicallyDeleted, cas: delCas });
      } finally {
        writer.slowDisk(0);
      }
      await f.bucket.quiesce();
      // Once the deletion is on disk, kv_engine no longer holds the key: not found, CAS 0.
      assert.deepEqual(await observeOne(f, kv, 'k'), { state: ObserveKeyState.NotFound, cas: 0n });
    }));

  test('several keys in one request, in order; a key named in the wrong vbucket is not found there', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      await f.bucket.set('a', 'x');
      await f.bucket.set('b', 'y');
      await f.bucket.quiesce();
      const wrongVb = (f.vb('a') + 1) % f.bucket.numVBuckets;
      const entries = await observe(kv, [
        { vbucket: f.vb('a'), key: 'a' },
        { vbucket: f.vb('zz'), key: 'zz' },
        { vbucket: f.vb('b'), key: 'b' },
        { vbucket: wrongVb, key: 'a' },
      ]);
      assert.deepEqual(
        entries.map((e) => [e.key.toString(), e.vbucket, e.state]),
        [
          ['a', f.vb('a'), ObserveKeyState.FoundPersisted],
          ['zz', f.vb('zz'), ObserveKeyState.NotFound],
          ['b', f.vb('b'), ObserveKeyState.FoundPersisted],
          ['a', wrongVb, ObserveKeyState.NotFound],
        ],
      );
      assert.equal(entries[0]!.cas, f.bucket.get('a').cas);
    }));

  test('a SyncWrite in progress is not observed: the committed version is', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const before = await f.bucket.set('s', 'v1');
      await f.bucket.quiesce();
      f.engine.store.writer.slowDisk(400);
      try {
        const sync = f.bucket.set('s', 'v2', { durability: 'persistToMajority' });
        assert.deepEqual(await observeOne(f, kv, 's'), { state: ObserveKeyState.FoundPersisted, cas: before.cas });
        const after = await sync;
        assert.deepEqual(await observeOne(f, kv, 's'), { state: ObserveKeyState.FoundPersisted, cas: after.cas });
      } finally {
        f.engine.store.writer.slowDisk(0);
      }
    }));

  test('malformed requests are EINVAL; a vbucket that is not here is NOT_MY_VBUCKET', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(makeRequest(Opcode.Observe, { value: Buffer.alloc(0) })), Status.Einval, 'no keys');
      expectStatus(await kv.request(makeRequest(Opcode.Observe, { value: Buffer.from([0, 1, 0, 9, 0x61]) })), Status.Einval, 'key length past the value');
      expectStatus(await kv.request(makeRequest(Opcode.Observe, { value: Buffer.from([0, 1, 0]) })), Status.Einval, 'truncated entry');
      expectStatus(await kv.request(encodeObserveRequest([{ vbucket: f.bucket.numVBuckets, key: 'a' }])), Status.NotMyVbucket);
      await f.engine.setVBucketState('default', f.vb('a'), 'dead');
      expectStatus(await kv.request(encodeObserveRequest([{ vbucket: f.vb('a'), key: 'a' }])), Status.NotMyVbucket);
    }));

  test('with HELLO Collections the keys carry their collection id; Read is checked per key', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const cid = f.bucket.manifest.collectionByPath('s', 'c')!.id;
      await f.bucket.collection(cid).set('k', 'in c');
      await f.bucket.quiesce();
      const features = [Feature.Collections, Feature.Xerror, Feature.SelectBucket, Feature.MutationSeqno];
      const kv = await f.open({ features });
      const key = joinCollectionKey(cid, 'k');
      const [inC, inDefault] = await observe(kv, [
        { vbucket: f.vb('k'), key },
        { vbucket: f.vb('k'), key: joinCollectionKey(0, 'k') },
      ]);
      assert.deepEqual([inC!.key, inC!.state, inC!.cas], [key, ObserveKeyState.FoundPersisted, f.bucket.collection(cid).get('k').cas]);
      assert.equal(inDefault!.state, ObserveKeyState.NotFound);
      expectStatus(await kv.request(encodeObserveRequest([{ vbucket: 0, key: joinCollectionKey(0x77, 'k') }])), Status.UnknownCollection);

      // A user who may read only the default collection observes it, not collection c.
      await f.server.server.users.setBucketUser('reader', 'reader-pw', [
        { role: 'data_reader', bucket: 'default', scope: { name: '_default', id: 0 }, collection: { name: '_default', id: 0 } },
      ]);
      const reader = await f.open({ user: 'reader', password: 'reader-pw', features });
      await observe(reader, [{ vbucket: f.vb('k'), key: joinCollectionKey(0, 'k') }]);
      expectStatus(await reader.request(encodeObserveRequest([{ vbucket: f.vb('k'), key }])), Status.UnknownCollection);
    }));
});

describe('OBSERVE_SEQNO', () => {
  test('reports the exact persisted seqno while the flusher is behind, and after it catches up', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const vb = f.vb('q');
      await f.bucket.set('q', 'first');
      await f.bucket.quiesce();
      const persistedBefore = f.bucket.vbucketInfo(vb).persistedSeqno;
      const uuid = f.bucket.vbucketInfo(vb).uuid;
      f.engine.store.writer.slowDisk(400);
      let seqno = 0;
      try {
        const reply = expectStatus(await kv.request(encodeStoreRequest({ key: 'q', value: 'second', vbucket: vb })), Status.Success);
        seqno = decodeMutationResponse(reply).token!.seqno;
        const during = decodeObserveSeqnoResponse(expectStatus(await kv.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid: uuid })), Status.Success));
        assert.equal(during.currentSeqno, seqno);
        assert.equal(during.lastPersistedSeqno, persistedBefore);
        assert.ok(during.lastPersistedSeqno < seqno);
      } finally {
        f.engine.store.writer.slowDisk(0);
      }
      await f.bucket.quiesce();
      const after = decodeObserveSeqnoResponse(expectStatus(await kv.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid: uuid })), Status.Success));
      assert.equal(after.lastPersistedSeqno, seqno);
      assert.equal(after.currentSeqno, seqno);
    }));
});
