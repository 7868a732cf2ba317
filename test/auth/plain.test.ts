import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { authenticatePlain, encodePlain, parsePlain } from '../../src/auth/plain.js';
import { AuthError, isAuthError } from '../../src/auth/errors.js';

function expectCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthError, 'expected an AuthError');
    assert.equal(err.kind, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

describe('parsePlain', () => {
  test('parses the gomemcached form \\0user\\0password', () => {
    assert.deepEqual(parsePlain(Buffer.from('\0alice\0secret')), { authzid: '', user: 'alice', password: 'secret' });
  });

  test('keeps an authzid and UTF-8 fields', () => {
    assert.deepEqual(parsePlain('ops\0ops\0p\u00e4ss:w0rd'), { authzid: 'ops', user: 'ops', password: 'p\u00e4ss:w0rd' });
  });

  test('an empty password parses (it just never verifies)', () => {
    assert.deepEqual(parsePlain('\0bob\0'), { authzid: '', user: 'bob', password: '' });
  });

  test('malformed payloads are SASL_BAD_PARAM with a reason', () => {
    expectCode(() => parsePlain(Buffer.alloc(0)), 'SASL_BAD_PARAM', /empty/);
    expectCode(() => parsePlain('alice'), 'SASL_BAD_PARAM', /no NUL/);
    expectCode(() => parsePlain('\0alice'), 'SASL_BAD_PARAM', /only one NUL/);
    expectCode(() => parsePlain('\0alice\0pw\0'), 'SASL_BAD_PARAM', /more than two/);
    expectCode(() => parsePlain('\0\0pw'), 'SASL_BAD_PARAM', /user is empty/);
    expectCode(() => parsePlain(Buffer.from([0, 0x61, 0, 0xc3])), 'SASL_BAD_PARAM', /UTF-8/);
  });

  test('encodePlain is the inverse', () => {
    assert.deepEqual(encodePlain('alice', 'pw'), Buffer.from('\0alice\0pw'));
    assert.deepEqual(parsePlain(encodePlain('u', 'p', 'u')), { authzid: 'u', user: 'u', password: 'p' });
  });
});

describe('authenticatePlain', () => {
  const verifier = { verify: (user: string, password: string) => user === 'alice' && password === 'secret' };

  test('returns the user on success', () => {
    assert.equal(authenticatePlain('\0alice\0secret', verifier), 'alice');
    assert.equal(authenticatePlain('alice\0alice\0secret', verifier), 'alice');
  });

  test('wrong password and foreign authzid are SASL_AUTH_FAILED (status 0x20)', () => {
    expectCode(() => authenticatePlain('\0alice\0nope', verifier), 'SASL_AUTH_FAILED');
    expectCode(() => authenticatePlain('root\0alice\0secret', verifier), 'SASL_AUTH_FAILED', /authorization identity/);
    try {
      authenticatePlain('\0alice\0nope', verifier);
    } catch (err) {
      assert.ok(isAuthError(err, 'SASL_AUTH_FAILED'));
      assert.equal(err.status, 0x20);
    }
  });
});
