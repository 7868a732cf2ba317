import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CouchError } from '../../src/couch/errors.js';
import {
  compareRevHashes,
  formatRev,
  newRevId,
  parseRev,
  parseRevHash,
  parseRevs,
} from '../../src/couch/rev.js';
import { ejson, termToBinary, int, list, atom, bin } from '../../src/couch/erlang-term.js';

function couchCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CouchError, `expected CouchError, got ${String(e)}`);
    return `${e.status} ${e.error} ${e.reason}`;
  }
  assert.fail('expected a CouchError');
}

describe('parseRev', () => {
  test('parses N-hash and lowercases 32-hex hashes', () => {
    assert.deepEqual(parseRev('1-967a00dff5e02add41819138abb3284d'), {
      pos: 1,
      hash: '967a00dff5e02add41819138abb3284d',
    });
    assert.deepEqual(parseRev('12-967A00DFF5E02ADD41819138ABB3284D'), {
      pos: 12,
      hash: '967a00dff5e02add41819138abb3284d',
    });
    assert.deepEqual(parseRev('0-1'), { pos: 0, hash: '1' });
    assert.deepEqual(parseRev('3-a-b'), { pos: 3, hash: 'a-b' });
  });

  test('rejects malformed revs with CouchDB\'s "Invalid rev format"', () => {
    for (const bad of ['', 'abc', '-1-abc', 'x-abc', '1-', '1', 12, null, '1-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz']) {
      assert.equal(couchCode(() => parseRev(bad)), '400 bad_request Invalid rev format', String(bad));
    }
  });

  test('parseRevs needs an array', () => {
    assert.equal(couchCode(() => parseRevs('1-a')), '400 bad_request Invalid list of revisions');
    assert.deepEqual(parseRevs(['1-a', '2-b']), [
      { pos: 1, hash: 'a' },
      { pos: 2, hash: 'b' },
    ]);
  });

  test('_revisions ids are validated like couch_doc:transfer_fields', () => {
    assert.equal(couchCode(() => parseRevHash(5)), "400 doc_validation RevId isn't a string");
    assert.equal(
      couchCode(() => parseRevHash('g'.repeat(32))),
      "400 doc_validation RevId isn't a valid hexadecimal",
    );
    assert.equal(parseRevHash('ABCDEF0123456789ABCDEF0123456789'), 'abcdef0123456789abcdef0123456789');
    assert.equal(formatRev(3, 'abc'), '3-abc');
  });
});

describe('compareRevHashes', () => {
  test('orders like Erlang binaries', () => {
    assert.ok(compareRevHashes('e125' + '0'.repeat(28), 'c3b1' + '0'.repeat(28)) > 0);
    assert.ok(compareRevHashes('a', 'b') < 0);
    assert.ok(compareRevHashes('a', 'ab') < 0);
    assert.equal(compareRevHashes('x', 'x'), 0);
    // A 32-hex hash is compared as 16 raw bytes: 0x00... sorts before "0" (0x30).
    assert.ok(compareRevHashes('0'.repeat(32), '0') < 0);
  });
});

describe('erlang term_to_binary', () => {
  test('encodes the term CouchDB hashes for an empty new document', () => {
    const bytes = termToBinary(list([atom('false'), int(0), int(0), ejson({}), list([])]));
    assert.deepEqual(
      [...bytes],
      [131, 108, 0, 0, 0, 5, 100, 0, 5, ...Buffer.from('false'), 97, 0, 97, 0, 104, 1, 106, 106, 106],
    );
  });

  test('integers, floats, strings and byte lists use OTP tags', () => {
    assert.deepEqual([...termToBinary(int(255))], [131, 97, 255]);
    assert.deepEqual([...termToBinary(int(256))], [131, 98, 0, 0, 1, 0]);
    assert.deepEqual([...termToBinary(int(-1))], [131, 98, 255, 255, 255, 255]);
    assert.deepEqual([...termToBinary(int(2n ** 32n))], [131, 110, 5, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([...termToBinary(int(-(2n ** 31n) - 1n))], [131, 110, 4, 1, 1, 0, 0, 128]);
    assert.deepEqual([...termToBinary(ejson(1.5))], [131, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...termToBinary(ejson([1, 2, 3]))], [131, 107, 0, 3, 1, 2, 3]);
    assert.deepEqual([...termToBinary(ejson([1, 'a']))], [131, 108, 0, 0, 0, 2, 97, 1, 109, 0, 0, 0, 1, 97, 106]);
    assert.deepEqual([...termToBinary(bin('é'))], [131, 109, 0, 0, 0, 2, 0xc3, 0xa9]);
    assert.deepEqual([...termToBinary(ejson(null))], [131, 100, 0, 4, ...Buffer.from('null')]);
  });
});

describe('newRevId (byte-compatible with CouchDB new_revid/1)', () => {
  test('empty document: 1-967a00dff5e02add41819138abb3284d', () => {
    assert.equal(newRevId({ deleted: false, body: {} }), '967a00dff5e02add41819138abb3284d');
  });

  test('deleting it: 2-eec205a9d413992850a6e32678485900', () => {
    assert.equal(
      newRevId({ parentRev: '1-967a00dff5e02add41819138abb3284d', deleted: true, body: {} }),
      'eec205a9d413992850a6e32678485900',
    );
  });

  test('{"old":"one"}: 1-a4ed57fb1018f3d423d0adec26f14dfc (CouchDB 1.6 capture)', () => {
    assert.equal(newRevId({ deleted: false, body: { old: 'one' } }), 'a4ed57fb1018f3d423d0adec26f14dfc');
  });

  test('deterministic, sensitive to body, parent, deletion and attachments', () => {
    const base = { parentRev: '1-abc', deleted: false, body: { a: 1 } };
    const id = newRevId(base);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(newRevId({ ...base, body: { a: 1 } }), id);
    assert.notEqual(newRevId({ ...base, body: { a: 2 } }), id);
    assert.notEqual(newRevId({ ...base, parentRev: '1-abd' }), id);
    assert.notEqual(newRevId({ ...base, deleted: true }), id);
    const digest = 'md5-' + createHash('md5').update('hello').digest('base64');
    const withAtt = newRevId({ ...base, attachmentsDigests: [{ name: 'a.txt', contentType: 'text/plain', digest }] });
    assert.notEqual(withAtt, id);
    assert.notEqual(
      newRevId({ ...base, attachmentsDigests: [{ name: 'a.txt', contentType: 'text/html', digest }] }),
      withAtt,
    );
  });
});
