/**
 * Erased documents (types.ts Item.erased): the tombstone a CouchDB `_purge` leaves is an ordinary
 * deletion for KV reads and DCP streams, but no deleted document for the counts; the mark is kept
 * on disk, survives a restart, and goes with the tombstone when compaction purges it.
 */
import { test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { isEngineError } from '../../src/engine/errors.js';
import { openTestEngine } from '../helpers/engine.js';
import type { FollowEvent } from '../../src/engine/types.js';

test('an erased tombstone is a deletion on KV and DCP, counted neither live nor deleted, and kept across a restart', async () => {
  const t = await openTestEngine(16);
  let reopened = false;
  try {
    const b = t.bucket;
    const kept = await b.set('kept', '{"a":1}');
    const erased = await b.set('erased', '{"a":2}');
    await b.set('deleted', '{"a":3}');
    await b.delete('deleted');
    const w = await b.writeVersion('erased', erased.cas, { value: Buffer.alloc(0), deleted: true, erased: true, xattrs: null });
    assert.equal(w.item.erased, true);
    assert.equal(w.item.deleted, true);
    assert.equal(w.item.revSeqno, erased.item.revSeqno + 1);
    assert.throws(() => b.get('erased'), (e: unknown) => isEngineError(e, 'KEY_ENOENT'));
    await b.quiesce();
    assert.deepEqual([b.docCounts().docCount, b.docCounts().delCount], [1, 1]);

    // A DCP stream of its vbucket sees a deletion.
    const vb = b.vbucketOf('erased');
    const f = b.follow(vb, { start: 0, end: b.vbucketInfo(vb).highSeqno });
    const events: FollowEvent[] = [];
    for (let e = await f.next(); e && e.type !== 'end'; e = await f.next()) events.push(e);
    const last = events.filter((e) => e.type !== 'snapshot').at(-1);
    assert.ok(last && last.type === 'deletion' && last.item.key.toString() === 'erased');

    // The change order keeps it (view indexes read their removals there), marked.
    const change = b.readChanges({ since: 0 }).find((c) => c.item.key.toString() === 'erased');
    assert.equal(change?.item.erased, true);
    // An ordinary deletion is not erased.
    assert.equal(b.readChanges({ since: 0 }).find((c) => c.item.key.toString() === 'deleted')?.item.erased, false);
    assert.equal(kept.item.erased, false);

    // Reopened: the mark was on disk.
    await t.engine.close();
    reopened = true;
    const engine = await Engine.open({ dataDir: t.dataDir, expiryPagerMs: 0 });
    try {
      const again = engine.bucket('default')!;
      assert.equal(again.lookup(Buffer.from('erased'))?.erased, true);
      assert.deepEqual([again.docCounts().docCount, again.docCounts().delCount], [1, 1]);
      // A new write of the key is a live document again; its rev seqno goes on.
      const reborn = await again.set('erased', '{"b":1}');
      assert.equal(reborn.item.erased, false);
      assert.equal(reborn.item.revSeqno, w.item.revSeqno + 1);
      await again.quiesce();
      assert.deepEqual([again.docCounts().docCount, again.docCounts().delCount], [2, 1]);
      // Compaction purges old tombstones, erased or not.
      await again.delete('erased');
      const cas = again.lookup(Buffer.from('kept'))!.cas;
      await again.writeVersion('kept', cas, { value: Buffer.alloc(0), deleted: true, erased: true, xattrs: null });
      await again.quiesce();
      const result = await engine.compact('default', -10);
      assert.equal(result.purged, 3);
      assert.deepEqual([again.docCounts().docCount, again.docCounts().delCount], [0, 0]);
    } finally {
      await engine.close();
    }
  } finally {
    // The test closes the first engine itself: remove its directory here.
    if (!reopened) await t.engine.close();
    rmSync(t.dataDir, { recursive: true, force: true });
  }
});

test('only a deletion can be erased', async () => {
  const t = await openTestEngine(16);
  try {
    const w = await t.bucket.writeVersion('live', null, { value: Buffer.from('{}'), deleted: false, erased: true, xattrs: null });
    assert.equal(w.item.erased, false);
    assert.equal(t.bucket.get('live').value.toString(), '{}');
  } finally {
    await t.close();
  }
});
