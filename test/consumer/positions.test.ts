/** Received vs committed positions of the checkpointing receiver (positions.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PositionBook, consistent } from '../../src/consumer/positions.js';

const meta = (snapStart: number, snapEnd: number, flog: [number, number][] = [[7, 0]], seqStart = 0) => ({ seqStart, seqEnd: 0, snapStart, snapEnd, failOverLog: flog });

describe('consumer > positions', () => {
  test('a new snapshot range waits for its first item, so the position never resumes with Erange', () => {
    const b = new PositionBook();
    assert.deepEqual(b.setMeta(0, meta(0, 0)), { lastSeq: 0, meta: meta(0, 0) }); // stream start: failover log
    assert.equal(b.setMeta(0, meta(1, 4)), undefined); // before the first item of [1, 4]
    assert.deepEqual(b.received(0), { lastSeq: 0, meta: meta(0, 0) });
    assert.equal(consistent(b.received(0)!), true);
    const p = b.item(0, 2);
    assert.deepEqual(p, { lastSeq: 2, meta: meta(1, 4) });
    assert.equal(consistent(p), true);
  });

  test('from now: the start seqno counts as received', () => {
    const b = new PositionBook();
    const p = b.setMeta(5, meta(40, 40, [[9, 0]], 40));
    assert.equal(p?.lastSeq, 40);
  });

  test('rollback never moves forward and trims the metadata', () => {
    const b = new PositionBook();
    b.setMeta(1, meta(0, 0, [[2, 0]]));
    b.setMeta(1, meta(1, 10, [[3, 6], [2, 0]]));
    b.item(1, 9);
    assert.deepEqual(b.rollback(1, 5), { lastSeq: 5, meta: meta(5, 5, [[2, 0]]) });
    assert.deepEqual(b.rollback(1, 8), { lastSeq: 5, meta: meta(5, 5, [[2, 0]]) });
  });

  test('commit and snapshot: only what the application finished with', () => {
    const b = new PositionBook();
    b.load({ '4': { lastSeq: 3, meta: meta(1, 3) } });
    assert.deepEqual(b.committed(4), { lastSeq: 3, meta: meta(1, 3) });
    b.setMeta(4, meta(4, 8));
    const p = b.item(4, 6);
    assert.deepEqual(b.snapshot(), { '4': { lastSeq: 3, meta: meta(1, 3) } });
    b.commit(4, p);
    assert.deepEqual(b.snapshot(), { '4': p });
  });
});
