import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailoverLog, MAX_FAILOVER_ENTRIES, newVBucketUuid } from '../../src/engine/failover-log.js';

test('vbucket uuids are non-zero 48-bit integers', () => {
  for (let i = 0; i < 1000; i++) {
    const u = newVBucketUuid();
    assert.ok(Number.isSafeInteger(u) && u > 0 && u < 2 ** 48);
  }
});

test('createEntry drops diverged branches, pushes newest first and caps the log', () => {
  const log = new FailoverLog([{ uuid: 3, seqno: 200 }, { uuid: 2, seqno: 100 }, { uuid: 1, seqno: 0 }]);
  log.createEntry(150, 9);
  assert.deepEqual(log.toArray(), [{ uuid: 9, seqno: 150 }, { uuid: 2, seqno: 100 }, { uuid: 1, seqno: 0 }]);
  for (let i = 0; i < 40; i++) log.createEntry(150 + i);
  assert.equal(log.toArray().length, MAX_FAILOVER_ENTRIES);
});

// The cases of kv_engine failover-table.cc needsRollback (shared/specs/dcp.md §3.5).
const log = new FailoverLog([{ uuid: 0xbbb, seqno: 900 }, { uuid: 0xaaa, seqno: 0 }]);
const base = { highSeqno: 1200, purgeSeqno: 0 };

test('start 0 never rolls back', () => {
  assert.deepEqual(log.needsRollback({ ...base, start: 0, uuid: 0x123, snapStart: 0, snapEnd: 0 }), { rollback: false });
});

test('an unknown uuid rolls back to 0', () => {
  const d = log.needsRollback({ ...base, start: 10, uuid: 0x123, snapStart: 10, snapEnd: 10 });
  assert.equal(d.rollback && d.seqno, 0);
});

test('the newest uuid with a snapshot inside our history needs no rollback', () => {
  assert.deepEqual(log.needsRollback({ ...base, start: 1100, uuid: 0xbbb, snapStart: 1000, snapEnd: 1150 }), { rollback: false });
});

test('an old branch that went past the branch point rolls back to it (failure-scenarios.md)', () => {
  const d = log.needsRollback({ ...base, start: 1000, uuid: 0xaaa, snapStart: 1000, snapEnd: 1000 });
  assert.deepEqual(d.rollback && d.seqno, 900);
});

test('an old branch that stopped before the branch point needs no rollback', () => {
  assert.deepEqual(log.needsRollback({ ...base, start: 800, uuid: 0xaaa, snapStart: 700, snapEnd: 800 }), { rollback: false });
});

test('mid-snapshot on an old branch rolls back to the snapshot start', () => {
  const d = log.needsRollback({ ...base, start: 880, uuid: 0xaaa, snapStart: 850, snapEnd: 950 });
  assert.equal(d.rollback && d.seqno, 850);
});

test('a client ahead of our high seqno on the current branch rolls back', () => {
  const d = log.needsRollback({ ...base, highSeqno: 1000, start: 1100, uuid: 0xbbb, snapStart: 1100, snapEnd: 1100 });
  assert.equal(d.rollback && d.seqno, 1000);
});

test('start below the purge seqno rolls back to 0 unless purged tombstones are ignored', () => {
  const q = { ...base, purgeSeqno: 500, start: 100, uuid: 0xaaa, snapStart: 100, snapEnd: 100 };
  const d = log.needsRollback(q);
  assert.equal(d.rollback && d.seqno, 0);
  assert.deepEqual(log.needsRollback({ ...q, ignorePurged: true }), { rollback: false });
  assert.deepEqual(log.needsRollback({ ...q, clientPurgeSeqno: 500 }), { rollback: false });
});
