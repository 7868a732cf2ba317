/** Flow-control accounting (dcp.md §3.6, §4.7) and the rollback-mitigation gate (dcp.md §5.2). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowControl } from '../../src/consumer/flow-control.js';
import { PersistenceGate } from '../../src/consumer/persistence-gate.js';
import { makeRequest } from '../../src/codec/index.js';

describe('consumer > flow control', () => {
  test('acks the processed total once it reaches threshold x window, then starts over', () => {
    const fc = new FlowControl(2000, 0.2); // ack at 400 bytes, as the dcp.md §4.11 transcript
    assert.equal(fc.ackBytes, 400);
    assert.equal(fc.processed(150), 0);
    assert.equal(fc.processed(150), 0);
    assert.equal(fc.processed(110), 410);
    assert.equal(fc.unacked, 0);
    assert.equal(fc.processed(399), 0);
    assert.equal(fc.processed(35), 434);
  });

  test('a window of 0 disables acks', () => {
    const fc = new FlowControl(0, 0.2);
    assert.equal(fc.enabled, false);
    assert.equal(fc.processed(1e9), 0);
  });
});

describe('consumer > persistence gate', () => {
  const p = makeRequest(0x57);
  test('releases a vbucket in order, data only once persisted, markers with what precedes them', () => {
    const g = new PersistenceGate();
    g.hold(3, { packet: p, size: 10, seqno: undefined }); // marker
    g.hold(3, { packet: p, size: 20, seqno: 5 });
    g.hold(3, { packet: p, size: 20, seqno: 6 });
    g.hold(3, { packet: p, size: 10, seqno: undefined }); // next marker
    g.hold(3, { packet: p, size: 20, seqno: 9 });
    assert.equal(g.heldBytes, 80);
    assert.deepEqual(g.release(3, 4).map((m) => m.seqno), [undefined]);
    assert.deepEqual(g.release(3, 6).map((m) => m.seqno), [5, 6, undefined]);
    assert.equal(g.isHolding(3), true);
    assert.deepEqual(g.release(3, 100).map((m) => m.seqno), [9]);
    assert.equal(g.isHolding(3), false);
    assert.equal(g.heldBytes, 0);
    assert.deepEqual(g.vbuckets(), []);
  });

  test('clear forgets everything and reports the bytes', () => {
    const g = new PersistenceGate();
    g.hold(1, { packet: p, size: 7, seqno: 1 });
    g.hold(2, { packet: p, size: 8, seqno: 1 });
    assert.deepEqual(g.vbuckets().sort(), [1, 2]);
    assert.equal(g.clear(), 15);
    assert.equal(g.heldBytes, 0);
  });
});
