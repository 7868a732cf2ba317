/**
 * In-flight versions (engine/in-flight.ts): what reads see while a write waits for the flusher,
 * and what a lost write rolls back to. An on-disk version replaced by a plain write is kept as its
 * seqno only (the read then goes to the disk); one replaced by a SyncWrite is kept whole.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightVersions, type InFlightVersion } from '../../src/engine/in-flight.js';
import { KeySeqnos } from '../../src/engine/key-seqnos.js';
import type { Item } from '../../src/engine/types.js';

function item(seqno: number, value = `v${seqno}`): Item {
  return {
    key: Buffer.from('k'), collection: 0, vbucket: 0, value: Buffer.from(value), datatype: 0, flags: 0, expiry: 0,
    cas: BigInt(seqno), revSeqno: seqno, seqno, bucketSeq: seqno, deleted: false, deleteTime: 0, expired: false, xattrs: null,
  };
}

describe('engine > in-flight versions', () => {
  test('a plain write over an on-disk version: reads see the write; rolled back, the key returns to the on-disk seqno', () => {
    const f = new InFlightVersions(new KeySeqnos<InFlightVersion>(1));
    const onDisk = item(5);
    const w = f.add('k', item(9), onDisk);
    assert.equal(f.get(0, 'k'), w.item);
    assert.deepEqual(f.rollBack('k', w), { survivor: 5 });
    assert.equal(f.get(0, 'k'), undefined, 'nothing in flight: the directory leads to the disk');
  });

  test('a SyncWrite over an on-disk version: reads see that version itself until the SyncWrite settles', () => {
    const f = new InFlightVersions(new KeySeqnos<InFlightVersion>(1));
    const onDisk = item(5);
    const s = f.add('k', item(9), onDisk, true);
    assert.equal(f.get(0, 'k'), onDisk);
    assert.ok(f.syncInProgress(0, 'k'));
    f.settle('k', s);
    assert.equal(f.get(0, 'k'), undefined);
  });

  test('a SyncWrite over a lost plain write over an on-disk version: reads are sent to the on-disk seqno', () => {
    const f = new InFlightVersions(new KeySeqnos<InFlightVersion>(1));
    const plain = f.add('k', item(7), item(5));
    const sync = f.add('k', item(9), plain.item, true);
    assert.equal(f.rollBack('k', plain), null, 'a newer version is in flight: it stays the key');
    assert.equal(f.get(0, 'k'), 5);
    assert.deepEqual(f.rollBack('k', sync), { survivor: 5 });
  });

  test('a create rolled back leaves no survivor; a write over an in-flight one rolls back to it', () => {
    const f = new InFlightVersions(new KeySeqnos<InFlightVersion>(1));
    const first = f.add('k', item(1), undefined);
    const second = f.add('k', item(2), first.item);
    assert.deepEqual(f.rollBack('k', second), { survivor: 1 });
    assert.equal(f.get(0, 'k'), first.item, 'the earlier in-flight version is the key again');
    assert.deepEqual(f.rollBack('k', first), { survivor: undefined });
    assert.equal(f.get(0, 'k'), undefined);
  });
});
