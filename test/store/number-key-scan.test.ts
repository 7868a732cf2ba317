/**
 * Scans that read each key as the number it holds (store/lmdb-store.ts NumberKeyScan): the by-seq
 * index's seqnos and the change order's bucket sequences, written through the bucket's own
 * databases and read back over ranges bounded on one side, both, or neither, in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seqKey, u64Key } from '../../src/store/keys.js';
import { openTestEngine } from '../helpers/engine.js';

test('store > number-key scans: seqnos and bucket sequences read as numbers, every range shape', async (t) => {
  const e = await openTestEngine(64);
  t.after(() => e.close());
  const store = e.bucket.store;
  const dbs = store.bucketDbs('default');
  // Seqnos past 2^32 and 2^40 (the high word matters), in vbuckets 0 and 9.
  const seqnos = [1, 2, 0xffff_ffff, 2 ** 32 + 5, 2 ** 40 + 1];
  const value = (n: number): Buffer => Buffer.from(`v${n}`);
  await store.writer.write([
    ...seqnos.map((s) => ({ db: dbs.bySeq, key: seqKey(9, s), value: value(s) })),
    { db: dbs.bySeq, key: seqKey(0, 7), value: value(7) },
    { db: dbs.bySeq, key: seqKey(10, 1), value: value(1) },
    ...seqnos.map((s) => ({ db: dbs.changes, key: u64Key(s), value: value(s) })),
  ]);

  const bySeq = store.bySeqReader('default', (bytes, size) => bytes.toString('latin1', 0, size));
  const vb9 = (range: object): Array<[number, string]> =>
    [...bySeq.getRange({ start: seqKey(9, 0), end: seqKey(9, Number.MAX_SAFE_INTEGER), inclusiveEnd: true, ...range })].map((x) => [x.key, x.value]);
  assert.deepEqual(vb9({}), seqnos.map((s) => [s, `v${s}`]));
  assert.deepEqual(vb9({ start: seqKey(9, 3), end: seqKey(9, 2 ** 32 + 5) }), [[0xffff_ffff, `v${0xffff_ffff}`], [2 ** 32 + 5, `v${2 ** 32 + 5}`]]);
  assert.deepEqual(vb9({ start: seqKey(9, Number.MAX_SAFE_INTEGER), end: seqKey(9, 1), reverse: true, inclusiveEnd: false }).map(([k]) => k), [...seqnos].reverse().slice(0, -1));
  // Open at the low end: the keys of vbucket 0 (first byte 0) are not left out.
  assert.deepEqual([...bySeq.getRange({ end: seqKey(9, 0) })].map((x) => x.key), [7]);
  assert.deepEqual([...bySeq.getRange({ start: seqKey(0, 8), reverse: true })].map((x) => x.key), [7]);

  const changes = store.changesReader('default');
  const all = [...changes.getRange({})];
  assert.deepEqual(all.map((c) => c.key), seqnos);
  assert.deepEqual(all.map((c) => c.value.toString()), seqnos.map((s) => `v${s}`));
  assert.deepEqual([...changes.getRange({ start: u64Key(Number.MAX_SAFE_INTEGER), reverse: true, limit: 2 })].map((c) => c.key), [2 ** 40 + 1, 2 ** 32 + 5]);
  assert.deepEqual([...changes.getRange({ start: u64Key(2), reverse: true, exclusiveStart: true })].map((c) => c.key), [1]);
  assert.deepEqual([...changes.getRange({ start: u64Key(3) })].map((c) => c.key), seqnos.slice(2));
});
