/**
 * The official SDK against Freshet's buckets, users and vbucket maps: 64 and 1024 vbuckets, two
 * buckets with their own users, a wrong password, and mutation tokens that are the engine's
 * seqnos (couchbase-sdk-bootstrap.md §1, §3.2, §3.6-§3.7).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationFailureError, CouchbaseError, DocumentNotFoundError } from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { connectSdk, SDK_TEST_TIMEOUT, tokenFields, withCollection } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };

for (const numVBuckets of [64, 1024]) {
  test(`${numVBuckets} vbuckets: keys land in the vbucket the SDK hashes them to`, opts, async () => {
    const t = await startTestServer({ numVBuckets });
    try {
      const bucket = t.server.engine.requireBucket('default');
      assert.equal(bucket.numVBuckets, numVBuckets);
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
        const results = await Promise.all(keys.map((k, i) => coll.upsert(k, { i })));
        const used = new Set<number>();
        for (const [i, key] of keys.entries()) {
          const token = tokenFields(results[i]!.token);
          // The SDK put its own hash in the header; the engine accepted it, so they agree.
          assert.equal(token.vbucket, bucket.vbucketOf(key), key);
          used.add(token.vbucket);
          assert.deepEqual(bucket.get(key).value, Buffer.from(JSON.stringify({ i })));
        }
        assert.ok(used.size > 50, `200 keys spread over ${used.size} vbuckets`);
        const back = await Promise.all(keys.map((k) => coll.get(k)));
        back.forEach((r, i) => assert.deepEqual(r.content, { i }));
      });
    } finally {
      await t.close();
    }
  });
}

describe('SDK mutation tokens', () => {
  test('carry the vbucket uuid and the seqno the engine gave the mutation', opts, async () => {
    const t = await startTestServer();
    try {
      const bucket = t.server.engine.requireBucket('default');
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        for (let round = 1; round <= 3; round++) {
          const r = await coll.upsert('tok', { round });
          const token = tokenFields(r.token);
          const info = bucket.vbucketInfo(bucket.vbucketOf('tok'));
          assert.equal(token.bucket, 'default');
          assert.equal(token.vbucket, info.id);
          assert.equal(token.vbUuid, String(info.uuid));
          assert.equal(token.seqno, info.highSeqno);
          assert.equal(token.seqno, bucket.get('tok').seqno);
        }
        const removed = tokenFields((await coll.remove('tok')).token);
        assert.equal(removed.seqno, bucket.getMeta('tok').seqno, 'the tombstone has the token seqno');
        const counter = tokenFields((await coll.binary().increment('c', 1, { initial: 1 })).token);
        assert.equal(counter.seqno, bucket.get('c').seqno);
      });
    } finally {
      await t.close();
    }
  });
});

describe('SDK authentication and buckets', () => {
  test('a wrong password is rejected with AuthenticationFailureError', opts, async () => {
    const t = await startTestServer();
    try {
      await assert.rejects(connectSdk(t.server.ports.kv, { password: 'not-the-password' }), AuthenticationFailureError);
      await assert.rejects(connectSdk(t.server.ports.kv, { username: 'nobody', password: 'x' }), AuthenticationFailureError);
      // The right password still works afterwards.
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        await coll.upsert('ok', 1);
      });
    } finally {
      await t.close();
    }
  });

  test('two buckets with their own users: each user reaches only its bucket', opts, async () => {
    const t = await startTestServer();
    try {
      const { engine, users } = t.server;
      await engine.createBucket('second', { numVBuckets: 16 });
      await users.setBucketUser('alice', 'alice-pw', ['default']);
      await users.setBucketUser('bob', 'bob-pw', ['second']);
      const alice = { username: 'alice', password: 'alice-pw' };
      const bob = { username: 'bob', password: 'bob-pw' };
      const port = t.server.ports.kv;

      await withCollection(port, 'default', (c) => c.upsert('shared-key', { owner: 'alice' }), alice);
      await withCollection(port, 'second', (c) => c.upsert('shared-key', { owner: 'bob' }), bob);
      assert.deepEqual(JSON.parse(engine.requireBucket('default').get('shared-key').value.toString()), { owner: 'alice' });
      assert.deepEqual(JSON.parse(engine.requireBucket('second').get('shared-key').value.toString()), { owner: 'bob' });
      await withCollection(port, 'second', async (c) => {
        assert.deepEqual((await c.get('shared-key')).content, { owner: 'bob' });
        await assert.rejects(c.get('only-in-default'), DocumentNotFoundError);
      }, bob);

      // The SDK reports SELECT_BUCKET's NO_ACCESS as "bucket not found" and then times its
      // operations out (§3.4); either way nothing reaches the other user's bucket.
      const denied = { ...alice, kvTimeout: 1000 };
      await withCollection(port, 'second', (c) => assert.rejects(c.upsert('intruder', 1), CouchbaseError), denied);
      await withCollection(port, 'default', (c) => assert.rejects(c.upsert('intruder', 1), CouchbaseError), { ...bob, kvTimeout: 1000 });
      assert.throws(() => engine.requireBucket('second').get('intruder'), /not found/);
      assert.throws(() => engine.requireBucket('default').get('intruder'), /not found/);

      // The administrator reaches both.
      await withCollection(port, 'second', async (c) => assert.deepEqual((await c.get('shared-key')).content, { owner: 'bob' }));
    } finally {
      await t.close();
    }
  });

  test('a vbucket made replica refuses the SDK, which works again once the vbucket is active', opts, async () => {
    const t = await startTestServer();
    try {
      const bucket = t.server.engine.requireBucket('default');
      const vb = bucket.vbucketOf('moving');
      await withCollection(t.server.ports.kv, 'default', async (coll) => {
        await coll.upsert('moving', { v: 1 });
        await t.server.engine.setVBucketState('default', vb, 'replica');
        // NOT_MY_VBUCKET carries a map with no owner for vb: the SDK retries until its timeout.
        await assert.rejects(coll.get('moving'), CouchbaseError);
        await t.server.engine.setVBucketState('default', vb, 'active');
        // The SDK picks the new map up (NOT_MY_VBUCKET bodies, or its 2.5 s config poll).
        assert.deepEqual((await coll.get('moving', { timeout: 10_000 })).content, { v: 1 });
      }, { kvTimeout: 1500 });
    } finally {
      await t.close();
    }
  });
});
