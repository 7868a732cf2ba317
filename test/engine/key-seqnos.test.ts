import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeySeqnos } from '../../src/engine/key-seqnos.js';

test('key seqnos: one map per vbucket, with the size counted over all of them', () => {
  const keys = new KeySeqnos(4);
  assert.equal(keys.set(0, 'a', 1), true, 'new key');
  assert.equal(keys.set(3, 'b', 2), true);
  assert.equal(keys.set(0, 'a', 5), false, 'a new seqno for a known key');
  assert.equal(keys.size, 2);
  assert.equal(keys.get(0, 'a'), 5);
  assert.equal(keys.get(1, 'a'), undefined, 'a key lives in its own vbucket only');
  assert.deepEqual([...keys.keys()].sort(), ['a', 'b']);
  assert.equal(keys.delete(1, 'b'), false);
  assert.equal(keys.delete(3, 'b'), true);
  assert.equal(keys.size, 1);
});
