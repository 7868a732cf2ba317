import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, vbucketOf } from '../../src/engine/vbucket-hash.js';

// Key → vbucket pairs from Couchbase's own client tests (couchbase/gocbcorex vbucketmap_test.go).
const KEYS: Array<[Buffer, Record<number, number>]> = [
  [Buffer.from([0]), { 1024: 0x0202, 64: 0x0002, 48: 0x0012, 13: 0x000c }],
  [Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]), { 1024: 0x00aa, 64: 0x002a, 48: 0x000a, 13: 0x0008 }],
  [Buffer.from('hello'), { 1024: 0x0210, 64: 0x0010, 48: 0x0010, 13: 0x0008 }],
  [Buffer.from('hello world, I am a super long key lets see if it works'), { 1024: 0x03d4, 64: 0x0014, 48: 0x0004, 13: 0x0003 }],
];

for (const [key, expected] of KEYS) {
  for (const [n, vb] of Object.entries(expected)) {
    test(`vbucket of ${JSON.stringify(key.toString('latin1'))} with ${n} vbuckets is ${vb}`, () => {
      assert.equal(vbucketOf(key, Number(n)), vb);
    });
  }
}

test('crc32 matches the IEEE check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('string keys hash as their UTF-8 bytes', () => {
  assert.equal(vbucketOf('hello', 1024), vbucketOf(Buffer.from('hello'), 1024));
  assert.equal(vbucketOf('é', 64), vbucketOf(Buffer.from([0xc3, 0xa9]), 64));
});
