/**
 * The xattr section (src/codec/xattr.ts, kv docs/Document.md "Extended attributes"): golden bytes,
 * the system-only filter, what yields no section, exact round trips, malformed sections, and a
 * value cut at every offset.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XattrBlobError, encodeXattrBlob, splitXattrValue } from '../../src/codec/index.js';
import { hex } from './fixtures/hex.js';

const XATTRS = '{"_sync":{"rev":"3-c"},"meta":{"x":[1,"two"]}}';

describe('codec > xattr', () => {
  test('one pair per member: total length, then pair length, key NUL value NUL', () => {
    assert.deepEqual(
      encodeXattrBlob(Buffer.from('{"_sync":{"rev":"1-a"}}')),
      hex`
        00000018               // total 24
        00000014               // pair 20
        "_sync" 00 ${Buffer.from('{"rev":"1-a"}')} 00
      `,
    );
  });

  test('system-only keeps the `_` members; no object, no members: no section', () => {
    const all = Buffer.from('{"_sync":{"rev":"1-a"},"user":1}');
    assert.deepEqual(encodeXattrBlob(all, true), encodeXattrBlob(Buffer.from('{"_sync":{"rev":"1-a"}}')));
    assert.ok(encodeXattrBlob(all)!.includes(Buffer.from('user\x001\x00')));
    assert.equal(encodeXattrBlob(Buffer.from('{"user":1}'), true), null);
    for (const none of ['[1,2]', 'not json', '{}', '"s"', 'null', '']) assert.equal(encodeXattrBlob(Buffer.from(none)), null, none);
    assert.equal(encodeXattrBlob(null), null);
  });

  test('a section splits back into the same members, in order, and the body', () => {
    const blob = encodeXattrBlob(Buffer.from(XATTRS))!;
    const split = splitXattrValue(Buffer.concat([blob, Buffer.from('body')]));
    assert.equal(split.xattrs?.toString(), XATTRS);
    assert.equal(split.body.toString(), 'body');
    // An empty section (total 0) is legal: no xattrs.
    assert.deepEqual(splitXattrValue(hex`00000000 "b"`), { xattrs: null, body: Buffer.from('b') });
  });

  test('malformed sections are refused', () => {
    const blob = encodeXattrBlob(Buffer.from(XATTRS))!;
    const bad: Buffer[] = [
      Buffer.from([0, 0]),
      Buffer.from([0, 0, 0, 9, 0]),
      (() => {
        const b = Buffer.from(blob);
        b.writeUInt32BE(3, 4); // a pair shorter than its key
        return b;
      })(),
      (() => {
        const b = Buffer.from(blob);
        b[b.length - 1] = 0x41; // last pair not NUL-terminated
        return b;
      })(),
      hex`00000007 00000003 "ab" 00`, // a pair whose only NUL is its last byte: no key terminator
    ];
    for (const v of bad) assert.throws(() => splitXattrValue(v), XattrBlobError, v.toString('hex'));
  });

  test('a value cut at every offset: refused until the section is whole, then the body prefix', () => {
    const blob = encodeXattrBlob(Buffer.from(XATTRS))!;
    const value = Buffer.concat([blob, Buffer.from('body')]);
    for (let cut = 0; cut <= value.length; cut++) {
      const part = value.subarray(0, cut);
      if (cut < blob.length) {
        assert.throws(() => splitXattrValue(part), XattrBlobError, `cut at ${cut}`);
      } else {
        const split = splitXattrValue(part);
        assert.deepEqual([split.xattrs?.toString(), split.body.toString()], [XATTRS, 'body'.slice(0, cut - blob.length)], `cut at ${cut}`);
      }
    }
  });
});
