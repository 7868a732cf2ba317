/**
 * The `_users` password scheme against a published PBKDF2 vector (documents written by CouchDB
 * before 3.4 carry no `pbkdf2_prf` and use HMAC-SHA1), the login roles of a user document, and
 * couch_db's membership rules over security objects.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hashUserPassword, userDocRoles, verifyUserPassword } from '../../src/couchdb/users-db.js';
import { ADMIN_ONLY_SECURITY, isDbAdmin, isMember, parseSecurityObject } from '../../src/couchdb/security.js';

describe('_users passwords', () => {
  test('a CouchDB 3.3 document (sha1, no pbkdf2_prf) verifies: RFC 6070 vector', async () => {
    const doc = { password_scheme: 'pbkdf2', salt: 'salt', iterations: 1, derived_key: '0c60c80f961f0e71f3a9b524af6012062fe037a6' };
    assert.equal(await verifyUserPassword(doc, 'password'), true);
    assert.equal(await verifyUserPassword(doc, 'Password'), false);
    assert.equal(await verifyUserPassword({ ...doc, iterations: 2 }, 'password'), false);
    assert.equal(await verifyUserPassword({ ...doc, password_scheme: 'simple' }, 'password'), false);
  });

  test('hashing replaces the password and round-trips; a non-string password is refused', async () => {
    const body: Record<string, unknown> = { name: 'x', password: 'pw' };
    await hashUserPassword(body, { iterations: 5, prf: 'sha512' });
    assert.equal(body.password, undefined);
    assert.equal(String(body.derived_key).length, 128);
    assert.equal(await verifyUserPassword(body, 'pw'), true);
    await assert.rejects(hashUserPassword({ password: 5 }, { iterations: 5, prf: 'sha256' }), /forbidden/);
  });

  test('system roles never come from a user document', () => {
    assert.deepEqual(userDocRoles({ roles: ['_admin', 'a', 3, '_metrics', 'b'] }), ['a', 'b']);
  });
});

describe('security objects', () => {
  const bob = { name: 'bob', roles: ['r'] };
  test('admin-only default, empty members is public, names and roles', () => {
    assert.equal(isMember(bob, ADMIN_ONLY_SECURITY), false);
    assert.equal(isMember({ name: null, roles: ['_admin'] }, ADMIN_ONLY_SECURITY), true);
    assert.equal(isMember({ name: null, roles: [] }, {}), true);
    assert.equal(isMember(bob, { members: { roles: ['r'] } }), true);
    assert.equal(isMember(bob, { members: { names: ['carol'] } }), false);
    assert.equal(isDbAdmin(bob, { admins: { names: ['bob'] } }), true);
    assert.equal(isDbAdmin(bob, {}), false);
    assert.throws(() => parseSecurityObject({ admins: { roles: [1] } }), /roles must be a JSON list of strings/);
    assert.throws(() => parseSecurityObject([]), /Security object must be a JSON object/);
  });
});
