/**
 * Sequence-number commands and STAT groups over raw frames, checked against the engine
 * (dcp.md §2.3: GET_ALL_VB_SEQNOS, OBSERVE_SEQNO, GET_FAILOVER_LOG, STAT vbucket-seqno/details).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Opcode,
  Status,
  VbucketStateFilter,
  decodeAllVbSeqnosResponse,
  decodeFailoverLogResponse,
  decodeObserveSeqnoResponse,
  encodeAllVbSeqnosRequest,
  encodeFailoverLogRequest,
  encodeStatRequest,
  encodeObserveSeqnoRequest,
  encodeStoreRequest,
  makeRequest,
} from '../../src/codec/index.js';
import { expectStatus, statGroup as stats, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

async function write(f: KvFixture, kv: RawKv, keys: string[]): Promise<void> {
  for (const key of keys) expectStatus(await kv.request(encodeStoreRequest({ key, value: key, vbucket: f.vb(key) })), Status.Success);
}


const KEYS = Array.from({ length: 40 }, (_, i) => `s${i}`);

describe('GET_ALL_VB_SEQNOS', () => {
  test('reports every vbucket with the engine high seqno, and filters by state', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      await write(f, kv, [...KEYS, ...KEYS.slice(0, 10)]);
      const all = decodeAllVbSeqnosResponse(expectStatus(await kv.request(encodeAllVbSeqnosRequest()), Status.Success));
      assert.equal(all.length, f.bucket.numVBuckets);
      for (const { vbucket, seqno } of all) assert.equal(seqno, f.bucket.vbucketInfo(vbucket).highSeqno, `vb ${vbucket}`);
      assert.ok(all.some((e) => e.seqno >= 2));

      const replicaVb = f.vb('s0');
      await f.engine.setVBucketState('default', replicaVb, 'replica');
      const active = decodeAllVbSeqnosResponse(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Active })));
      assert.equal(active.length, f.bucket.numVBuckets - 1);
      assert.ok(!active.some((e) => e.vbucket === replicaVb));
      const replicas = decodeAllVbSeqnosResponse(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Replica })));
      assert.deepEqual(replicas, [{ vbucket: replicaVb, seqno: f.bucket.vbucketInfo(replicaVb).highSeqno }]);
      const alive = decodeAllVbSeqnosResponse(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Alive })));
      assert.equal(alive.length, f.bucket.numVBuckets);
      // The collection form needs HELLO Collections (per-collection seqnos: collections.test.ts).
      expectStatus(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Alive, collectionId: 0 })), Status.Einval);
      // kv's validator takes the states Alive (0) to Dead (4) only.
      const dead = decodeAllVbSeqnosResponse(expectStatus(await kv.request(encodeAllVbSeqnosRequest({ state: VbucketStateFilter.Dead })), Status.Success));
      assert.deepEqual(dead, []);
      for (const state of [5, 0xffffffff]) {
        const refused = expectStatus(await kv.request(encodeAllVbSeqnosRequest({ state })), Status.Einval, `state ${state}`);
        assert.match(refused.value.toString(), /Request vbucket state invalid/);
      }
    }));
});

describe('FLUSH and FLUSHQ', () => {
  test('both are NotSupported, as kv_engine keeps both opcodes unsupported, and nothing is deleted', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      await write(f, kv, ['kept']);
      for (const opcode of [Opcode.Flush, Opcode.FlushQ]) {
        expectStatus(await kv.request(makeRequest(opcode)), Status.NotSupported, `opcode 0x${opcode.toString(16)}`);
      }
      assert.equal(f.bucket.get('kept').value.toString(), 'kept');
    }));
});

describe('OBSERVE_SEQNO and GET_FAILOVER_LOG', () => {
  test('report the current uuid and seqnos, and the old branch after a failover', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      await write(f, kv, KEYS);
      await f.bucket.quiesce(); // the persisted seqno compared below must not move meanwhile
      const vb = f.vb('s1');
      const info = f.bucket.vbucketInfo(vb);
      const now = decodeObserveSeqnoResponse(
        expectStatus(await kv.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid: info.uuid })), Status.Success),
      );
      assert.deepEqual(now, { vbucket: vb, vbUuid: info.uuid, lastPersistedSeqno: info.persistedSeqno, currentSeqno: info.highSeqno });
      assert.ok(now.currentSeqno > 0);
      expectStatus(await kv.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid: info.uuid + 1 })), Status.KeyEnoent);

      const log = decodeFailoverLogResponse(expectStatus(await kv.request(encodeFailoverLogRequest(vb)), Status.Success));
      assert.deepEqual(log, info.failoverLog.map((e) => ({ vbUuid: e.uuid, seqno: e.seqno })));

      const after = await f.engine.failover('default', vb);
      assert.notEqual(after.uuid, info.uuid);
      const old = decodeObserveSeqnoResponse(await kv.request(encodeObserveSeqnoRequest({ vbucket: vb, vbUuid: info.uuid })));
      assert.deepEqual(old.failover, { oldVbUuid: info.uuid, lastSeqnoForOldUuid: info.highSeqno });
      assert.equal(old.vbUuid, after.uuid);
      const newLog = decodeFailoverLogResponse(await kv.request(encodeFailoverLogRequest(vb)));
      assert.equal(newLog.length, log.length + 1);
      assert.deepEqual(newLog[0], { vbUuid: after.uuid, seqno: info.highSeqno });

      expectStatus(await kv.request(encodeFailoverLogRequest(f.bucket.numVBuckets)), Status.NotMyVbucket, 'vbucket out of range');
    }));
});

describe('STAT', () => {
  test('vbucket-seqno and vbucket-details, for all vbuckets and for one', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      await write(f, kv, KEYS);
      await f.bucket.quiesce(); // the persisted seqnos compared below must not move meanwhile
      const vb = f.vb('s2');
      const info = f.bucket.vbucketInfo(vb);

      const seqno = await stats(kv, 'vbucket-seqno');
      for (let v = 0; v < f.bucket.numVBuckets; v++) {
        assert.equal(seqno.get(`vb_${v}:high_seqno`), String(f.bucket.vbucketInfo(v).highSeqno));
      }
      assert.equal(seqno.get(`vb_${vb}:uuid`), String(info.uuid));
      assert.equal(seqno.get(`vb_${vb}:last_persisted_seqno`), String(info.persistedSeqno));

      const one = await stats(kv, `vbucket-seqno ${vb}`);
      assert.ok([...one.keys()].every((k) => k.startsWith(`vb_${vb}:`)), 'only the vbucket asked for');
      assert.equal(one.get(`vb_${vb}:high_seqno`), String(info.highSeqno));

      await f.engine.setVBucketState('default', vb, 'replica');
      const details = await stats(kv, `vbucket-details ${vb}`);
      assert.equal(details.get(`vb_${vb}`), 'replica');
      assert.equal(details.get(`vb_${vb}:high_seqno`), String(info.highSeqno));
      assert.equal(details.get(`vb_${vb}:num_failover_entries`), String(f.bucket.vbucketInfo(vb).failoverLog.length));
      const allDetails = await stats(kv, 'vbucket-details');
      assert.equal([...allDetails.keys()].filter((k) => /^vb_\d+$/.test(k)).length, f.bucket.numVBuckets);
    }));

  test('the general group, and errors for unknown groups and vbuckets', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const general = await stats(kv, '');
      assert.ok(general.has('uptime') && general.has('version') && general.has('curr_connections'));
      assert.equal(general.get('ep_num_vbuckets'), String(f.bucket.numVBuckets));
      expectStatus(await kv.request(encodeStatRequest({ group: 'no-such-group' })), Status.KeyEnoent);
      expectStatus(await kv.request(encodeStatRequest({ group: 'vbucket-seqno nine' })), Status.Einval);

      // Without a bucket, bucket groups answer NoBucket.
      const bare = await f.open({ bucket: null });
      expectStatus(await bare.request(encodeStatRequest({ group: 'vbucket-seqno' })), Status.NoBucket);
      assert.equal((await kv.request(encodeStatRequest({ group: 'vbucket' }))).opcode, Opcode.Stat);
    }));
});
