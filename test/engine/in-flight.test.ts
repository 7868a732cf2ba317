/**
 * In-flight versions (engine/in-flight.ts): what reads see while a write waits for the flusher,
 * and what a lost write rolls back to. An on-disk version replaced by a plain write is kept as its
 * seqno only (the read then goes to the disk); one replaced by a SyncWrite is kept whole.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightVersions, readOf, type InFlightRead, type InFlightVersion } from '../../src/engine/in-flight.js';
import { KeySeqnos } from '../../src/engine/key-seqnos.js';
import type { Item } from '../../src/engine/types.js';

function item(seqno: number, value = `v${seqno}`): Item {
  return {
    key: Buffer.from('k'), collection: 0, vbucket: 0, value: Buffer.from(value), datatype: 0, flags: 0, expiry: 0,
    cas: BigInt(seqno), revSeqno: seqno, seqno, bucketSeq: seqno, deleted: false, deleteTime: 0, expired: false, xattrs: null,
  };
}

/** Versions in flight over a one-vbucket directory, and what a read of a key finds in memory. */
function inFlight(): { versions: InFlightVersions; read(k: string): InFlightRead } {
  const home = new KeySeqnos<InFlightVersion>(1);
  const versions = new InFlightVersions(home);
  return {
    versions,
    read: (k) => {
      const v = home.attached(0, k);
      return v === undefined ? undefined : readOf(v);
    },
  };
}

describe('engine > in-flight versions', () => {
  test('a plain write over an on-disk version: reads see the write; rolled back, the key returns to the on-disk seqno', () => {
    const f = inFlight();
    const onDisk = item(5);
    const w = f.versions.add('k', item(9), onDisk);
    assert.equal(f.read('k'), w.item);
    assert.deepEqual(f.versions.rollBack('k', w), { survivor: 5 });
    assert.equal(f.read('k'), undefined, 'nothing in flight: the directory leads to the disk');
  });

  test('a SyncWrite over an on-disk version: reads see that version itself until the SyncWrite settles', () => {
    const f = inFlight();
    const onDisk = item(5);
    const s = f.versions.add('k', item(9), onDisk, true);
    assert.equal(f.read('k'), onDisk);
    assert.ok(f.versions.syncInProgress(0, 'k'));
    f.versions.settle('k', s);
    assert.equal(f.read('k'), undefined);
  });

  test('a SyncWrite over a lost plain write over an on-disk version: reads are sent to the on-disk seqno', () => {
    const f = inFlight();
    const plain = f.versions.add('k', item(7), item(5));
    const sync = f.versions.add('k', item(9), plain.item, true);
    assert.equal(f.versions.rollBack('k', plain), null, 'a newer version is in flight: it stays the key');
    assert.equal(f.read('k'), 5);
    assert.deepEqual(f.versions.rollBack('k', sync), { survivor: 5 });
  });

  test('a create rolled back leaves no survivor; a write over an in-flight one rolls back to it', () => {
    const f = inFlight();
    const first = f.versions.add('k', item(1), undefined);
    const second = f.versions.add('k', item(2), first.item);
    assert.deepEqual(f.versions.rollBack('k', second), { survivor: 1 });
    assert.equal(f.read('k'), first.item, 'the earlier in-flight version is the key again');
    assert.deepEqual(f.versions.rollBack('k', first), { survivor: undefined });
    assert.equal(f.read('k'), undefined);
  });
});
