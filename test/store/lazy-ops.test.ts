/**
 * The group committer's lazy entries (store/group-commit.ts `LazyOps`, the write pipeline's entry
 * per version): their operations are made when the transaction is queued, with key buffers
 * reused from one operation to the next (lmdb-js copies a key as it is queued); a kept entry is
 * made again when its failed batch is retried; the transaction cap and the committed-ops counter
 * count their operations.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { seqKey, writeSeqKey } from '../../src/store/keys.js';
import type { BinaryDb } from '../../src/store/lmdb-store.js';
import type { GroupCommitter, LazyOps } from '../../src/store/group-commit.js';
import { openTestEngine } from '../helpers/engine.js';

/** Puts `count` keys of vbucket `vb` (seqnos from `first`) through one key buffer shared by every entry. */
const SHARED_KEY = Buffer.alloc(10);
class Entry implements LazyOps {
  applied = 0;
  kept?: boolean;
  constructor(private readonly db: BinaryDb, private readonly vb: number, private readonly first: number, readonly ops: number) {}
  apply(): Promise<unknown> {
    this.applied++;
    let last!: Promise<unknown>;
    for (let i = 0; i < this.ops; i++) last = this.db.put(writeSeqKey(SHARED_KEY, this.vb, this.first + i), Buffer.from(`v${this.vb}:${this.first + i}`));
    return last;
  }
}

/** A fresh engine's group committer and the default bucket's by-seq database, closed after the test. */
async function openWriter(t: TestContext): Promise<{ writer: GroupCommitter; db: BinaryDb }> {
  const e = await openTestEngine(64);
  t.after(() => e.close());
  return { writer: e.bucket.store.writer, db: e.bucket.store.bucketDbs('default').bySeq };
}

test('store > lazy entries are made when their transaction is queued, through one shared key buffer', async (t) => {
  const { writer, db } = await openWriter(t);
  const before = writer.committedOps;
  const entries = [new Entry(db, 3, 1, 4), new Entry(db, 4, 1, 3), new Entry(db, 3, 10, 2)];
  const written = entries.map((x) => writer.writeLazy(x));
  // Queued, not yet made: the transaction starts on a later turn.
  assert.deepEqual(entries.map((x) => x.applied), [0, 0, 0]);
  await Promise.all(written);
  assert.deepEqual(entries.map((x) => x.applied), [1, 1, 1]);
  assert.equal(writer.committedOps - before, 9, 'the committed-ops counter counts each entry\'s operations');
  // Every key is there with its own value: the shared buffer was copied as each put was queued.
  for (const [vb, seqnos] of [[3, [1, 2, 3, 4, 10, 11]], [4, [1, 2, 3]]] as const) {
    for (const s of seqnos) assert.equal(db.get(seqKey(vb, s))?.toString(), `v${vb}:${s}`, `vb ${vb} seqno ${s}`);
  }
});

test('store > a kept lazy entry is made again when its failed batch is retried; a plain one fails', async (t) => {
  const { writer, db } = await openWriter(t);
  writer.failNextCommits(1);
  const kept = new Entry(db, 5, 1, 2);
  const plain = new Entry(db, 6, 1, 2);
  const keptWritten = writer.writeLazy(kept, true);
  const plainWritten = writer.writeLazy(plain);
  await assert.rejects(plainWritten, { code: 'STORE_ENOSPC' });
  await keptWritten;
  // The failed transaction was aborted before lmdb-js saw it; the retry made the kept entry's operations.
  assert.equal(plain.applied, 0);
  assert.equal(kept.applied, 1);
  assert.ok(writer.retries >= 1);
  assert.equal(db.get(seqKey(5, 2))?.toString(), 'v5:2');
  assert.equal(db.get(seqKey(6, 1)), undefined);
});

test('store > the transaction cap counts a lazy entry\'s operations', async (t) => {
  const { writer, db } = await openWriter(t);
  const commits = writer.commits;
  // A batch past 40,000 operations (group-commit.ts MAX_OPS_PER_TXN) takes no more: of three
  // entries of 25,000, the third goes into a second transaction (counted as one each, all three
  // would share one).
  await Promise.all([7, 8, 9].map((vb) => writer.writeLazy(new Entry(db, vb, 1, 25_000))));
  assert.equal(writer.commits - commits, 2);
  assert.equal(db.get(seqKey(9, 25_000))?.toString(), 'v9:25000');
});
