/**
 * Durability with the official `couchbase` SDK (4.x), unmodified (issue #16): `durabilityLevel`
 * on every kind of mutation, legacy observe-based `durabilityPersistTo` (the SDK polls
 * OBSERVE_SEQNO / OBSERVE), and a bucket whose `durabilityMinLevel`, set over REST, makes plain
 * writes persisted before their acknowledgement. The disk is slowed (group-commit.ts `slowDisk`)
 * so that a write acknowledged from memory would visibly not be on disk yet at the ack.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DurabilityLevel, MutateInSpec, type Collection, type MutationResult } from 'couchbase';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { Mgmt } from '../mgmt/rest-helpers.js';
import { SDK_TEST_TIMEOUT, tokenFields, withCollection } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };
const SLOW_DISK_MS = 150;

/** The write of `result` is on disk now: its vbucket's persisted seqno covers the token's seqno. */
function assertPersisted(t: TestServer, bucketName: string, result: MutationResult, what: string): void {
  const token = tokenFields(result.token);
  const persisted = t.server.engine.requireBucket(bucketName).vbucketInfo(token.vbucket).persistedSeqno;
  assert.ok(persisted >= token.seqno, `${what}: persisted seqno ${persisted} < token seqno ${token.seqno}`);
}

/** Every mutation kind with `durability` options; each result must be on disk when it returns. */
async function everyMutation(t: TestServer, coll: Collection, prefix: string, durability: Record<string, unknown>): Promise<void> {
  const key = `${prefix}-doc`;
  assertPersisted(t, 'default', await coll.upsert(key, { n: 1 }, durability), `${prefix} upsert`);
  assertPersisted(t, 'default', await coll.insert(`${prefix}-new`, { n: 0 }, durability), `${prefix} insert`);
  assertPersisted(t, 'default', await coll.replace(key, { n: 2 }, durability), `${prefix} replace`);
  assertPersisted(t, 'default', await coll.mutateIn(key, [MutateInSpec.upsert('sub', true)], durability), `${prefix} mutateIn`);
  assert.deepEqual((await coll.get(key)).content, { n: 2, sub: true });
  assertPersisted(t, 'default', await coll.remove(`${prefix}-new`, durability), `${prefix} remove`);
  await assert.rejects(coll.get(`${prefix}-new`));
}

describe('SDK durability', () => {
  test('durabilityLevel Majority, MajorityAndPersistOnMaster and PersistToMajority on upsert/insert/replace/mutateIn/remove', opts, async () => {
    const t = await startTestServer();
    try {
      t.server.engine.store.writer.slowDisk(SLOW_DISK_MS);
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        // The control: a plain write is acknowledged before its batch is on disk.
        const plain = tokenFields((await coll.upsert('plain', { p: 1 })).token);
        assert.ok(t.server.engine.requireBucket('default').vbucketInfo(plain.vbucket).persistedSeqno < plain.seqno, 'plain write acked from memory');
        // Majority is met in memory on one node (Couchbase with zero replicas), so it is checked
        // for success and content only; the two persisting levels wait for the disk.
        const m = await coll.upsert('majority', { m: 1 }, { durabilityLevel: DurabilityLevel.Majority });
        assert.ok(m.token);
        assert.deepEqual((await coll.get('majority')).content, { m: 1 });
        await everyMutation(t, coll, 'active', { durabilityLevel: DurabilityLevel.MajorityAndPersistOnMaster });
        await everyMutation(t, coll, 'majority', { durabilityLevel: DurabilityLevel.PersistToMajority });
      });
    } finally {
      t.server.engine.store.writer.slowDisk(0);
      await t.close();
    }
  });

  /*
   * SDK 4.x routes `durabilityPersistTo: 1` to the C++ core's persist_to::active, which polls the
   * active's OBSERVE_SEQNO; its observe_poll.cxx `meets_condition` also counts "persisted on 0
   * replicas" as met (persisted_ >= 0), so it returns after the first poll whatever the answer.
   * This test therefore checks that the SDK takes the legacy path to this server (OBSERVE_SEQNO
   * requests answered Success, counted by the server) and that the write reaches the disk; that
   * the server's OBSERVE_SEQNO / OBSERVE answers say "not yet" until then is observe.test.ts.
   */
  test('legacy durabilityPersistTo: 1 (observe-based) succeeds through OBSERVE_SEQNO, and the write reaches the disk', opts, async () => {
    const t = await startTestServer();
    try {
      const mgmt = new Mgmt(t.server.ports.mgmt);
      const polls = async (): Promise<number> => {
        const m = /freshet_kv_ops_total\{opcode="ObserveSeqno",status="Success"\} (\d+)/.exec((await mgmt.get('/metrics')).text);
        return m === null ? 0 : Number(m[1]);
      };
      const before = await polls();
      const results: MutationResult[] = [];
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        results.push(await coll.upsert('legacy', { l: 1 }, { durabilityPersistTo: 1 }));
        results.push(await coll.replace('legacy', { l: 2 }, { durabilityPersistTo: 1 }));
        results.push(await coll.insert('legacy2', { l: 3 }, { durabilityPersistTo: 1 }));
        results.push(await coll.remove('legacy2', { durabilityPersistTo: 1 }));
        assert.deepEqual((await coll.get('legacy')).content, { l: 2 });
      });
      assert.ok((await polls()) - before >= results.length, 'the SDK polled OBSERVE_SEQNO for each write');
      await t.server.engine.requireBucket('default').quiesce();
      for (const r of results) assertPersisted(t, 'default', r, 'legacy write');
    } finally {
      await t.close();
    }
  });

  test('a bucket created over REST with durabilityMinLevel=persistToMajority persists plain writes before the ack', opts, async () => {
    const t = await startTestServer();
    try {
      const mgmt = new Mgmt(t.server.ports.mgmt);
      const created = await mgmt.post('/pools/default/buckets', { name: 'safe', bucketType: 'couchbase', ramQuotaMB: '100', durabilityMinLevel: 'persistToMajority' });
      assert.equal(created.status, 202, created.text);
      assert.equal(t.server.engine.requireBucket('safe').durabilityMinLevel, 'persistToMajority');
      t.server.engine.store.writer.slowDisk(SLOW_DISK_MS);
      await withCollection(t.server.ports.kv, 'safe', async (coll) => {
        for (let i = 0; i < 5; i++) assertPersisted(t, 'safe', await coll.upsert(`plain${i}`, { i }), `plain upsert ${i}`);
        assertPersisted(t, 'safe', await coll.remove('plain0'), 'plain remove');
      });
      // Back to none over REST: plain writes are acknowledged from memory again.
      assert.equal((await mgmt.post('/pools/default/buckets/safe', { durabilityMinLevel: 'none' })).status, 200);
      await withCollection(t.server.ports.kv, 'safe', async (coll) => {
        const token = tokenFields((await coll.upsert('fast', { f: 1 })).token);
        assert.ok(t.server.engine.requireBucket('safe').vbucketInfo(token.vbucket).persistedSeqno < token.seqno, 'acked from memory');
      });
    } finally {
      t.server.engine.store.writer.slowDisk(0);
      await t.close();
    }
  });
});
