/**
 * `freshet xdcr push` as a library (src/xdcr/push.ts): Freshet → Freshet with both servers in
 * process on real sockets. Creates, updates, deletes and expiry replicate with their metadata;
 * a document edited on both sides converges to the same winner on both after pushing both ways;
 * a second push with the checkpoint sends nothing again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { runExpiryPager } from '../../src/engine/maintenance.js';
import { runPush } from '../../src/xdcr/push.js';
import type { Bucket } from '../../src/engine/bucket.js';

function url(s: TestServer): string {
  return `couchbase://127.0.0.1:${s.server.ports.kv}/default`;
}

function push(from: TestServer, to: TestServer, checkpoint?: string): ReturnType<typeof runPush> {
  return runPush({
    source: url(from),
    sourceCredentials: ADMIN,
    target: url(to),
    targetCredentials: ADMIN,
    ...(checkpoint === undefined ? {} : { checkpoint }),
  });
}

function metaOf(b: Bucket, key: string): { cas: bigint; revSeqno: number; flags: number; expiry: number; deleted: boolean } {
  const m = b.getMeta(key);
  return { cas: m.cas, revSeqno: m.revSeqno, flags: m.flags, expiry: m.deleted ? 0 : m.expiry, deleted: m.deleted };
}

test('push replicates creates, updates, deletes and expiry with their metadata; a checkpointed rerun sends nothing', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const src = a.server.engine.bucket('default')!;
    const dst = b.server.engine.bucket('default')!;
    for (let i = 0; i < 50; i++) await src.set(`doc${i}`, JSON.stringify({ i }), { flags: i });
    await src.set('doc1', '{"updated":true}');
    await src.set('raw', Buffer.from([0, 1, 2, 255]));
    const expiry = Math.floor(Date.now() / 1000) + 1000;
    await src.set('ttl', '{"short":"lived"}', { expiry });
    await src.set('gone', '{}');
    await src.delete('gone');

    const checkpoint = join(tempDir(), 'push.json');
    const first = await push(a, b, checkpoint);
    assert.equal(first.mutations, 52);
    assert.equal(first.deletions, 1);
    assert.equal(first.written, 53);
    assert.equal(first.rejected, 0);
    for (const key of ['doc0', 'doc1', 'doc49', 'raw', 'ttl']) assert.deepEqual(metaOf(dst, key), metaOf(src, key), key);
    assert.deepEqual(dst.get('doc1').value.toString(), '{"updated":true}');
    assert.deepEqual(dst.get('raw').value, Buffer.from([0, 1, 2, 255]));
    assert.equal(dst.get('ttl').expiry, expiry);
    assert.equal(dst.getMeta('gone').deleted, true);
    assert.equal(dst.getMeta('gone').cas, src.getMeta('gone').cas);

    // Nothing new: the checkpoint makes the rerun send nothing.
    const again = await push(a, b, checkpoint);
    assert.equal(again.written + again.rejected, 0);

    // A delete, an update and an expiry on the source, then the next push carries exactly those.
    await src.delete('doc2');
    await src.set('doc3', '{"v":2}');
    assert.equal(await runExpiryPager(src, expiry + 1), 1);
    const third = await push(a, b, checkpoint);
    assert.deepEqual({ m: third.mutations, d: third.deletions, e: third.expirations }, { m: 1, d: 1, e: 1 });
    assert.equal(dst.getMeta('doc2').deleted, true);
    assert.equal(dst.get('doc3').value.toString(), '{"v":2}');
    assert.equal(dst.getMeta('ttl').deleted, true);
    assert.equal(dst.getMeta('ttl').cas, src.getMeta('ttl').cas);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a document edited on both sides converges to the same winner on both after pushing both ways', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const ba = a.server.engine.bucket('default')!;
    const bb = b.server.engine.bucket('default')!;
    await ba.set('shared', '{"v":0}');
    await push(a, b);
    assert.deepEqual(metaOf(bb, 'shared'), metaOf(ba, 'shared'));
    // A edits twice (rev seqno 3), B once (rev seqno 2) but later: revid resolution picks A's.
    await ba.set('shared', '{"v":"a1"}');
    await ba.set('shared', '{"v":"a2"}');
    await bb.set('shared', '{"v":"b1"}');
    // B edits 'other' more often: B's wins there.
    await ba.set('other', '{"v":"a"}');
    await push(a, b);
    await bb.set('other', '{"v":"b1"}');
    await bb.set('other', '{"v":"b2"}');
    await ba.set('other', '{"v":"a-late"}');

    const ab = await push(a, b);
    const ba2 = await push(b, a);
    assert.ok(ab.rejected >= 1, 'B kept its own winner of "other"');
    assert.ok(ba2.rejected >= 1, 'A kept its own winner of "shared"');
    for (const key of ['shared', 'other']) {
      assert.deepEqual(metaOf(ba, key), metaOf(bb, key), key);
      assert.equal(ba.get(key).value.toString(), bb.get(key).value.toString());
    }
    assert.equal(ba.get('shared').value.toString(), '{"v":"a2"}');
    assert.equal(bb.get('other').value.toString(), '{"v":"b2"}');
  } finally {
    await a.close();
    await b.close();
  }
});

test('a target that does not exist or refuses the credentials fails the push with the cause', async () => {
  const a = await startTestServer();
  try {
    await assert.rejects(
      runPush({ source: url(a), sourceCredentials: ADMIN, target: `couchbase://127.0.0.1:${a.server.ports.kv}/nope`, targetCredentials: ADMIN }),
      /SELECT_BUCKET nope/,
    );
    await assert.rejects(
      runPush({ source: url(a), sourceCredentials: ADMIN, target: url(a), targetCredentials: { username: ADMIN.username, password: 'wrong' } }),
      (err: Error) => err.name === 'AuthFailError' || /auth/i.test(err.message),
    );
  } finally {
    await a.close();
  }
});

test('a last-write-wins target gets FORCE_ACCEPT and resolves by CAS', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const src = a.server.engine.bucket('default')!;
    const lww = await b.server.engine.createBucket('lww', { numVBuckets: 64, conflictResolution: 'lww' });
    // Edited many times on the target (high rev seqno) but earlier: by CAS the source's later write wins.
    for (let i = 0; i < 5; i++) await lww.set('k', `{"target":${i}}`);
    // Later by the clock: writes are acknowledged from memory, so all six can fall in one tick of
    // the hybrid logical clock (2^16 ns) of two different nodes.
    await new Promise((r) => setTimeout(r, 2));
    await src.set('k', '{"source":true}');
    const res = await runPush({ source: url(a), sourceCredentials: ADMIN, target: `couchbase://127.0.0.1:${b.server.ports.kv}/lww`, targetCredentials: ADMIN });
    assert.equal(res.written, 1);
    assert.equal(lww.get('k').value.toString(), '{"source":true}');
    assert.equal(lww.get('k').cas, src.get('k').cas);
  } finally {
    await a.close();
    await b.close();
  }
});
