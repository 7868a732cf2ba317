/**
 * A vbucket's checkpoint queue (engine/checkpoints.ts) on its own: what a memory snapshot holds,
 * what trimming keeps, and that the queue stays right across compactions, which move its entries
 * down in place and reuse the freed slots rather than shrinking and regrowing its arrays.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointQueue } from '../../src/engine/checkpoints.js';
import type { Item } from '../../src/engine/types.js';

function item(seqno: number, key = `k${seqno}`): Item {
  return {
    key: Buffer.from(key), collection: 0, vbucket: 0, value: Buffer.from(`v${seqno}`), datatype: 0, flags: 0, expiry: 0,
    cas: BigInt(seqno), revSeqno: 1, seqno, bucketSeq: seqno, deleted: false, deleteTime: 0, expired: false, xattrs: null,
  };
}

const all = (): boolean => true;
const seqnos = (q: CheckpointQueue, cursor: number, persisted = Infinity): number[] =>
  q.read(cursor, Infinity, Infinity, persisted, all, false)?.items.map((i) => i.seqno) ?? [];

describe('checkpoint queue', () => {
  test('a snapshot holds each key once, at its newest version within the snapshot', () => {
    const q = new CheckpointQueue(0);
    q.push(item(1, 'a'), undefined, false);
    q.push(item(2, 'b'), undefined, false);
    q.push(item(3, 'a'), 1, false);
    const snap = q.read(0, Infinity, Infinity, Infinity, all, false)!;
    assert.deepEqual(snap.items.map((i) => i.seqno), [2, 3]);
    assert.deepEqual([snap.start, snap.end, snap.scanned], [1, 3, 3]);
    // From a cursor past the older version, the newer one is all there is to read.
    assert.deepEqual(seqnos(q, 1), [2, 3]);
  });

  test('a held entry ends the snapshot until it is persisted, and a lost one is never delivered', () => {
    const q = new CheckpointQueue(0);
    q.push(item(1), undefined, false);
    q.push(item(2), undefined, true);
    q.push(item(3), undefined, false);
    assert.deepEqual(seqnos(q, 0, 1), [1]);
    assert.deepEqual(seqnos(q, 0, 2), [1, 2, 3]);
    q.markLost(2);
    assert.deepEqual(seqnos(q, 0, 1), [1, 3]);
  });

  test('trimming evicts persisted entries every follower has read, then down to the retained bytes', () => {
    const q = new CheckpointQueue(0);
    for (let s = 1; s <= 10; s++) q.push(item(s), undefined, false);
    q.trim(Infinity, 6, 4);
    assert.equal(q.floor, 4);
    assert.equal(q.length, 6);
    assert.equal(q.covers(3), false);
    assert.equal(q.covers(4), true);
    // Nothing is retained beyond what the followers need: evicted up to the persisted seqno only.
    q.trim(0, 6, 4);
    assert.equal(q.floor, 6);
    assert.deepEqual(seqnos(q, 6), [7, 8, 9, 10]);
  });

  test('entries stay in order and deduplicated across many compactions and reused slots', () => {
    const q = new CheckpointQueue(0);
    const newest = new Map<string, number>();
    let seqno = 0;
    // 8 keys rewritten over 3,000 writes, trimmed as a follower keeps up: the queue compacts many
    // times, and every later push lands in a slot a compaction freed.
    for (let round = 0; round < 3_000; round++) {
      const key = `k${(round * 3) % 8}`;
      const s = ++seqno;
      q.push(item(s, key), newest.get(key), false);
      newest.set(key, s);
      if (round % 10 === 9 && s > 30) {
        const cursor = s - 25;
        const expected = [...newest.values()].filter((v) => v > cursor).sort((a, b) => a - b);
        assert.deepEqual(seqnos(q, cursor), expected, `after seqno ${s}`);
        q.trim(0, s - 20, s - 20);
        assert.equal(q.floor, s - 20);
        assert.equal(q.length, 20);
        // A follower at the floor reads the same after the trim (and any compaction it made).
        const live = [...newest.values()].filter((v) => v > s - 20).sort((x, y) => x - y);
        assert.deepEqual(seqnos(q, s - 20), live, `after the trim at seqno ${s}`);
      }
    }
    assert.equal(seqnos(q, seqno - 1).length, 1);
  });

  test('reset forgets every entry and starts over at the given seqno', () => {
    const q = new CheckpointQueue(0);
    for (let s = 1; s <= 100; s++) q.push(item(s), undefined, false);
    q.trim(0, 80, 80);
    q.reset(500);
    assert.equal(q.length, 0);
    assert.equal(q.bytes, 0);
    assert.equal(q.covers(499), false);
    q.push(item(501), undefined, false);
    assert.deepEqual(seqnos(q, 500), [501]);
  });
});
