import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatBasicAuth, parseBasicAuth } from '../../src/auth/basic.js';
import { AuthError } from '../../src/auth/errors.js';

function expectMalformed(header: string, pattern: RegExp): void {
  assert.throws(
    () => parseBasicAuth(header),
    (err: unknown) => err instanceof AuthError && err.code === 'AUTH_BASIC_MALFORMED' && err.http === 400 && pattern.test(err.message),
  );
}

describe('parseBasicAuth', () => {
  test('decodes the header go-couchbase sends (dcp.md §4.11: alice/secret)', () => {
    assert.deepEqual(parseBasicAuth('Basic YWxpY2U6c2VjcmV0'), { user: 'alice', password: 'secret' });
  });

  test('scheme is case-insensitive; the password keeps its colons', () => {
    assert.deepEqual(parseBasicAuth(`bAsIc   ${Buffer.from('u:a:b:').toString('base64')}`), { user: 'u', password: 'a:b:' });
  });

  test('UTF-8 credentials and missing padding are accepted', () => {
    const token = Buffer.from('j\u00fcrgen:pw').toString('base64').replace(/=+$/, '');
    assert.deepEqual(parseBasicAuth(`Basic ${token}`), { user: 'j\u00fcrgen', password: 'pw' });
  });

  test('no header or another scheme gives undefined', () => {
    assert.equal(parseBasicAuth(undefined), undefined);
    assert.equal(parseBasicAuth(null), undefined);
    assert.equal(parseBasicAuth('   '), undefined);
    assert.equal(parseBasicAuth('Bearer abc.def'), undefined);
    assert.equal(parseBasicAuth('SCRAM-SHA-512 data=biws'), undefined);
  });

  test('bad base64 is BASIC_MALFORMED', () => {
    expectMalformed('Basic', /missing/);
    expectMalformed('Basic !!!!', /not base64/);
    expectMalformed('Basic YWxpY2U6c2VjcmV0=', /not base64/);
    expectMalformed('Basic Y', /not base64/);
    expectMalformed('Basic YW xp', /not base64/);
  });

  test('missing colon or invalid UTF-8 is BASIC_MALFORMED', () => {
    expectMalformed(`Basic ${Buffer.from('alice').toString('base64')}`, /no colon/);
    expectMalformed(`Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`, /UTF-8/);
  });

  test('formatBasicAuth round-trips', () => {
    assert.equal(formatBasicAuth('alice', 'secret'), 'Basic YWxpY2U6c2VjcmV0');
    assert.deepEqual(parseBasicAuth(formatBasicAuth('a', 'p:q')), { user: 'a', password: 'p:q' });
  });
});
