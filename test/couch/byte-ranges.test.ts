import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { byteRangesBody, contentRange, parseByteRanges } from '../../src/couch/byte-ranges.js';

describe('byte ranges (chttpd:parse_ranges)', () => {
  test('single, open-ended, suffix and clamped ranges', () => {
    assert.deepEqual(parseByteRanges('bytes=1-3', 10), [[1, 3]]);
    assert.deepEqual(parseByteRanges('bytes=4-', 10), [[4, 9]]);
    assert.deepEqual(parseByteRanges('bytes=-3', 10), [[7, 9]]);
    assert.deepEqual(parseByteRanges('bytes=-30', 10), [[0, 9]]);
    assert.deepEqual(parseByteRanges('bytes=8-20', 10), [[8, 9]]);
    assert.deepEqual(parseByteRanges('bytes=0-0, 5-6', 10), [[0, 0], [5, 6]]);
    assert.equal(contentRange([1, 3], 10), 'bytes 1-3/10');
  });

  test('the whole body: no header, a malformed one, bytes=0- alone, ten ranges or more', () => {
    assert.equal(parseByteRanges(undefined, 10), null);
    assert.equal(parseByteRanges('items=1-2', 10), null);
    assert.equal(parseByteRanges('bytes=a-b', 10), null);
    assert.equal(parseByteRanges('bytes=-', 10), null);
    assert.equal(parseByteRanges('bytes=0-', 10), null);
    assert.equal(parseByteRanges('bytes=0-,0-,0-', 10), null);
    assert.equal(parseByteRanges('bytes=3-4,0-', 10), null);
    assert.equal(parseByteRanges('bytes=3-4,x', 10), null);
    assert.equal(parseByteRanges(`bytes=${Array.from({ length: 10 }, (_, i) => `${i}-${i}`).join(',')}`, 10), null);
    assert.equal(parseByteRanges(`bytes=${Array.from({ length: 9 }, (_, i) => `${i}-${i}`).join(',')}`, 10)!.length, 9);
  });

  test('416 for an end before its start or a start past the end', () => {
    assert.throws(() => parseByteRanges('bytes=5-2', 10), { status: 416, error: 'requested_range_not_satisfiable' });
    assert.throws(() => parseByteRanges('bytes=10-12', 10), { status: 416 });
    // In order: an unsatisfiable range before a `0-` is still 416.
    assert.throws(() => parseByteRanges('bytes=5-2,0-', 10), { status: 416 });
  });

  test('multipart/byteranges: one part per range with its Content-Range', () => {
    const { body, contentType } = byteRangesBody(Buffer.from('0123456789'), [[0, 1], [8, 9]], 'text/plain');
    const boundary = /boundary="(\w+)"$/.exec(contentType)![1]!;
    const text = body.toString();
    assert.equal(text.split(`--${boundary}`).length, 4);
    assert.match(text, /Content-Range: bytes 0-1\/10\r\n\r\n01\r\n/);
    assert.match(text, /Content-Range: bytes 8-9\/10\r\n\r\n89\r\n/);
    assert.ok(text.startsWith(`--${boundary}\r\n`));
    assert.ok(text.endsWith(`--${boundary}--`));
  });
});
