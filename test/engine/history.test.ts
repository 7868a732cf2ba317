import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';
import { SNAPSHOT_DISK, SNAPSHOT_MEMORY, type FollowEvent, type Item, type RecordEvent } from '../../src/engine/types.js';
import { recordItem } from '../../src/engine/record-view.js';
import { SYSTEM_COLLECTION_ID } from '../../src/engine/manifest.js';
import type { VbFollower } from '../../src/engine/follower.js';
import { bucketCore } from '../../src/engine/bucket.js';

/** Keys that all hash to one vbucket, so a single follower sees them all. */
function keysInVbucket(t: TestEngine, vb: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (t.bucket.vbucketOf(`k${i}`) === vb) out.push(`k${i}`);
  return out;
}

async function take(f: VbFollower, n: number): Promise<FollowEvent[]> {
  const out: FollowEvent[] = [];
  while (out.length < n) {
    const e = await f.next();
    if (!e) break;
    out.push(e);
  }
  return out;
}

function itemOf(e: FollowEvent): Item {
  assert.ok(e.type === 'mutation' || e.type === 'deletion' || e.type === 'expiration', `expected an item, got ${e.type}`);
  return e.item;
}

describe('history', () => {
  let t: TestEngine;
  afterEach(() => t.close());

  for (const source of ['disk', 'memory'] as const) {
    test(`a ${source} snapshot is deduplicated by key: writes 1:A 2:B 3:A stream as marker {0..3}, 2:B, 3:A`, async () => {
      // With no checkpoint memory kept, a stream that is not caught up reads the disk.
      t = await openTestEngine(64, source === 'disk' ? { checkpointBytes: 0 } : {});
      const [a, b] = keysInVbucket(t, 5, 2) as [string, string];
      await t.bucket.set(a, 'A1');
      await t.bucket.set(b, 'B1');
      await t.bucket.set(a, 'A2');
      if (source === 'disk') await t.bucket.quiesce();
      const f = t.bucket.follow(5, { start: 0 });
      const [marker, first, second] = await take(f, 3);
      assert.deepEqual(marker, { type: 'snapshot', start: 0, end: 3, flags: (source === 'disk' ? SNAPSHOT_DISK : SNAPSHOT_MEMORY) | 0x04 });
      assert.deepEqual([itemOf(first!).seqno, itemOf(first!).key.toString()], [2, b]);
      assert.deepEqual([itemOf(second!).seqno, itemOf(second!).value.toString()], [3, 'A2']);
      f.close();
    });
  }

  test('a follower backfills, then delivers live writes as memory snapshots, then ends at its end seqno', async () => {
    t = await openTestEngine(64);
    const keys = keysInVbucket(t, 9, 4);
    await t.bucket.set(keys[0]!, 'x');
    const f = t.bucket.follow(9, { start: 0, end: 3 });
    assert.equal((await take(f, 2)).length, 2);
    const next = f.next();
    await t.bucket.set(keys[1]!, 'y');
    await t.bucket.set(keys[2]!, 'z');
    const marker = await next;
    assert.equal(marker?.type, 'snapshot');
    assert.ok(marker?.type === 'snapshot' && (marker.flags & SNAPSHOT_MEMORY) !== 0);
    const rest: FollowEvent[] = [];
    for (let e = await f.next(); e; e = await f.next()) rest.push(e);
    const seqnos = rest.filter((e) => e.type === 'mutation').map((e) => itemOf(e).seqno);
    assert.deepEqual(seqnos.slice(-1), [3]);
    assert.deepEqual(rest[rest.length - 1], { type: 'end', reason: 'ok' });
  });

  test('a disk snapshot is a consistent cut while writes continue', async () => {
    t = await openTestEngine(4, { checkpointBytes: 0 });
    const keys = keysInVbucket(t, 0, 200);
    await Promise.all(keys.map((k) => t.bucket.set(k, 'v0')));
    await t.bucket.quiesce();
    const f = t.bucket.follow(0, { start: 0, batchSize: 16 });
    const marker = await f.next();
    assert.ok(marker?.type === 'snapshot');
    // Rewrite every key while the backfill is being read batch by batch.
    const rewrites = Promise.all(keys.map((k) => t.bucket.set(k, 'v1')));
    const seen = new Map<string, string>();
    for (let i = 0; i < keys.length; i++) {
      const it = itemOf((await f.next())!);
      assert.ok(it.seqno <= marker.end);
      seen.set(it.key.toString(), it.value.toString());
    }
    await rewrites;
    assert.equal(seen.size, keys.length, 'every key present exactly once in the snapshot');
    assert.ok([...seen.values()].every((v) => v === 'v0'));
    f.close();
  });

  test('the follower pulls: an unread follower holds at most one batch while thousands of writes land', async () => {
    t = await openTestEngine(1);
    const f = t.bucket.follow(0, { start: 0, batchSize: 32 });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => t.bucket.set(`bp${i}`, 'x')));
    const first = await take(f, 10);
    assert.equal(first[0]?.type, 'snapshot');
    assert.ok(f.position <= 32, `read ahead to ${f.position}`);
    let count = 0;
    for (let e = await f.next(); e && e.type !== 'end'; e = await f.next()) {
      if (e.type === 'mutation') count++;
      if (count + 9 === 3000) break;
    }
    assert.equal(count + 9, 3000);
    f.close();
  });

  test('a persisted version leaves the checkpoint queue once every follower has read it, and stays while one has not', async () => {
    t = await openTestEngine(64);
    const [a, b, c] = keysInVbucket(t, 7, 3) as [string, string, string];
    const vb = bucketCore(t.bucket).vbucket(7);
    const reader = t.bucket.follow(7, { start: 0 });
    const lagging = t.bucket.follow(7, { start: 0 });
    await t.bucket.set(a, 'A');
    await t.bucket.set(b, 'B');
    await t.bucket.quiesce();
    assert.equal(vb.persistedSeqno, 2);
    // Both followers are at 0: the persisted versions stay for them (within checkpointBytes).
    assert.equal(vb.checkpoints.length, 2);
    assert.equal((await take(reader, 3)).filter((e) => e.type === 'mutation').length, 2);
    assert.equal(vb.checkpoints.length, 2, 'the lagging follower has not read them');
    assert.equal((await take(lagging, 3)).filter((e) => e.type === 'mutation').length, 2);
    assert.equal(vb.checkpoints.length, 0, 'read by every follower and persisted: gone');
    // Read before it is persisted: it goes when the flusher persists it.
    await t.bucket.set(c, 'C');
    assert.equal(vb.checkpoints.length, 1);
    for (const f of [reader, lagging]) assert.equal(itemOf((await take(f, 2))[1]!).key.toString(), c);
    await t.bucket.quiesce();
    assert.equal(vb.checkpoints.length, 0);
    reader.close();
    lagging.close();
    // No follower: nothing is kept once persisted.
    await t.bucket.set(a, 'A2');
    await t.bucket.quiesce();
    assert.equal(vb.checkpoints.length, 0);
  });

  test('poll answers at once (null while nothing is new) and whenChanged calls back once, at the next write or the end', async () => {
    t = await openTestEngine(64);
    const [a, b] = keysInVbucket(t, 3, 2) as [string, string];
    const f = t.bucket.follow(3, { start: 0 });
    assert.equal(f.poll(), null);
    let calls = 0;
    f.whenChanged(() => calls++);
    await t.bucket.set(a, 'A');
    await t.bucket.set(b, 'B');
    assert.equal(calls, 1, 'once, not per write');
    const batch = f.pollBatch();
    assert.ok(batch);
    assert.deepEqual(batch.map((e) => e.type), ['snapshot', 'mutation', 'mutation']);
    assert.equal(f.pollBatch(), null);
    f.whenChanged(() => calls++);
    f.close();
    assert.equal(calls, 2, 'the end wakes a waiting consumer');
    assert.deepEqual(f.poll(), { type: 'end', reason: 'closed' });
    assert.equal(f.poll(), undefined);
  });

  test('a simulated failover with discard ends followers with rollback and rewinds the high seqno', async () => {
    t = await openTestEngine(64);
    const keys = keysInVbucket(t, 3, 5);
    for (const k of keys) await t.bucket.set(k, 'x');
    const f = t.bucket.follow(3, { start: 0 });
    await take(f, 6);
    const waiting = f.next();
    const before = t.bucket.vbucketInfo(3);
    const info = await t.engine.failover('default', 3, { discardAbove: 2 });
    assert.deepEqual(await waiting, { type: 'end', reason: 'rollback' });
    assert.equal(info.highSeqno, 2);
    assert.equal(info.failoverLog.length, before.failoverLog.length + 1);
    assert.deepEqual(info.failoverLog[0]!.seqno, 2);
    assert.throws(() => t.bucket.get(keys[4]!));
    assert.equal(t.bucket.get(keys[0]!).value.toString(), 'x');
    const w = await t.bucket.set(keys[4]!, 'again');
    assert.equal(w.token.seqno, 3);
    assert.equal(w.token.vbuuid, info.uuid);
  });

  test('a state change ends followers with state_changed', async () => {
    t = await openTestEngine(8);
    const f = t.bucket.follow(2, { start: 0 });
    const waiting = f.next();
    await t.engine.setVBucketState('default', 2, 'replica');
    assert.deepEqual(await waiting, { type: 'end', reason: 'state_changed' });
  });

  test('compaction purges old tombstones and raises the purge seqno', async () => {
    t = await openTestEngine(64);
    const keys = keysInVbucket(t, 7, 3);
    for (const k of keys) await t.bucket.set(k, 'x');
    await t.bucket.delete(keys[0]!);
    await t.bucket.delete(keys[1]!);
    const deletedAt = t.bucket.getMeta(keys[1]!).seqno;
    assert.equal((await t.engine.compact('default', 3600)).purged, 0, 'young tombstones stay');
    const result = await t.engine.compact('default', -10);
    assert.equal(result.purged, 2);
    assert.equal(t.bucket.vbucketInfo(7).purgeSeqno, deletedAt);
    assert.throws(() => t.bucket.getMeta(keys[0]!));
    const events = await take(t.bucket.follow(7, { start: 0 }), 2);
    assert.equal(itemOf(events[1]!).key.toString(), keys[2]);
  });

  test('the bucket-wide change order resumes from one since value and keeps each key once', async () => {
    t = await openTestEngine(64);
    await t.bucket.set('a', '1');
    await t.bucket.set('b', '1');
    await t.bucket.set('a', '2');
    await t.bucket.quiesce(); // the change order lists persisted writes only
    const all = t.bucket.readChanges({ since: 0 });
    assert.deepEqual(all.map((c) => [c.bucketSeq, c.item.key.toString()]), [[2, 'b'], [3, 'a']]);
    assert.deepEqual(t.bucket.readChanges({ since: 2 }).map((c) => c.item.key.toString()), ['a']);
    assert.deepEqual(t.bucket.readChanges({ since: 0, descending: true, limit: 1 }).map((c) => c.bucketSeq), [3]);
    const follower = t.bucket.followChanges({ since: 3 });
    const next = follower.next();
    await t.bucket.delete('b');
    const change = await next;
    assert.equal(change?.item.deleted, true);
    assert.equal(change?.bucketSeq, 4);
    follower.close();
    assert.equal(await follower.next(), undefined);
  });

  test('followRecords: a disk snapshot delivers live documents as their records, deletions and system events as Items; memory as Items', async () => {
    t = await openTestEngine(64, { checkpointBytes: 0 });
    const [a, b, gone] = keysInVbucket(t, 7, 3) as [string, string, string];
    await t.bucket.createScope('s');
    await t.bucket.createCollection('s', 'c');
    const c = t.bucket.collectionByName('s', 'c');
    await t.bucket.set(a, '{"a":1}', { flags: 9, xattrs: Buffer.from('{"_sys":{"x":1}}') });
    await c.set(b, 'in c');
    await t.bucket.set(gone, 'x');
    await t.bucket.delete(gone);
    await t.bucket.quiesce();
    const high = t.bucket.vbucketInfo(7).highSeqno;
    const all = (): boolean => true;
    const events: Array<FollowEvent | RecordEvent> = [];
    const f = t.bucket.followRecords(7, { start: 0, end: high, collections: all });
    for await (const e of f) {
      if (e.type === 'end') break;
      events.push(e);
    }
    const records = events.filter((e): e is RecordEvent => e.type === 'record');
    // Each record reads back as the document the engine holds (record-view.ts).
    assert.deepEqual(records.map((r) => recordItem(r.raw, 7, r.seqno)), [t.bucket.lookup(Buffer.from(a)), c.lookup(Buffer.from(b))]);
    const items = events.flatMap((e) => (e.type === 'mutation' || e.type === 'deletion' ? [e.item] : []));
    assert.deepEqual(items.map((i) => [i.collection, i.deleted]), [[SYSTEM_COLLECTION_ID, false], [SYSTEM_COLLECTION_ID, false], [0, true]], 'two system events and the deletion');
    assert.deepEqual(items[2]!.key.toString(), gone);
    // `follow` never delivers records, and a live write comes from memory as an Item.
    const plain = t.bucket.follow(7, { start: 0, collections: all });
    const seen = await take(plain, events.length);
    assert.equal(seen.length, events.length);
    assert.ok(seen.every((e) => (e.type as string) !== 'record'));
    const live = t.bucket.followRecords(7, { start: high });
    const next = live.next();
    await t.bucket.set(a, 'live');
    assert.equal((await next)?.type, 'snapshot');
    const item = await live.next();
    assert.equal(item?.type, 'mutation');
    plain.close();
    live.close();
  });
});
