import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slab } from '../../src/common/slab.js';

test('slab: pieces are cut in order without overlapping, a full slab is replaced, large pieces stand alone', () => {
  const slab = new Slab(64, 16);
  const a = slab.alloc(10);
  const b = slab.alloc(20);
  assert.equal(a.length, 10);
  assert.equal(b.length, 16 + 4);
  // b exceeds maxPiece: its own buffer
  assert.notEqual(b.buffer, a.buffer);
  const c = slab.alloc(16);
  assert.equal(c.buffer, a.buffer, 'cut from the same slab');
  assert.equal(c.byteOffset, a.byteOffset + 10);
  a.fill(1);
  c.fill(2);
  assert.ok(a.every((x) => x === 1), 'writing one piece leaves its neighbour alone');
  for (let i = 0; i < 2; i++) slab.alloc(16);
  const d = slab.alloc(16); // 10 + 16 + 16 + 16 = 58 used: 16 more do not fit
  assert.notEqual(d.buffer, a.buffer, 'a new slab once the first is full');
  assert.equal(d.byteOffset, 0);
});

test('slab: copy copies the first size bytes', () => {
  const slab = new Slab(1024, 256);
  const src = Uint8Array.from([1, 2, 3, 4, 5]);
  const out = slab.copy(src, 3);
  assert.deepEqual([...out], [1, 2, 3]);
  src[0] = 9;
  assert.equal(out[0], 1, 'a copy, not a view');
  assert.deepEqual([...slab.copy(src)], [9, 2, 3, 4, 5]);
});
