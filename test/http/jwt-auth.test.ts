/**
 * JWT authentication (CouchDB's jwt_authentication_handler; its jwtauth and jwt_roles_claim
 * tests): HS/RS/ES tokens against `[jwt_keys]`, required claims, the roles claim by name or path,
 * and jwtf's errors; tokens are signed here with node:crypto.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { obj, withCouch, type CouchFixture } from './helpers.js';

const HANDLERS = '{chttpd_auth, jwt_authentication_handler}, {chttpd_auth, cookie_authentication_handler}, {chttpd_auth, default_authentication_handler}';
const SECRET = 'zxczxc12zxczxc12';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function token(header: Record<string, unknown>, claims: Record<string, unknown>, key: string | KeyObject): string {
  const signed = `${b64({ typ: 'JWT', ...header })}.${b64(claims)}`;
  const alg = String(header.alg);
  // An alg the server must refuse ('none') is still signed with something.
  const digest = /^(HS|RS|ES)\d{3}$/.test(alg) ? `sha${alg.slice(2)}` : 'sha256';
  const signature = typeof key === 'string'
    ? createHmac(digest, key).update(signed).digest()
    : sign(digest, Buffer.from(signed), alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${signed}.${signature.toString('base64url')}`;
}

async function config(f: CouchFixture, section: string, key: string, value: string): Promise<void> {
  const r = await f.req(`/_node/_local/_config/${section}/${encodeURIComponent(key)}`, { method: 'PUT', json: value });
  assert.equal(r.status, 200, r.text);
}

async function session(f: CouchFixture, jwt: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await f.req('/_session', { auth: null, headers: { authorization: `Bearer ${jwt}` } });
  return { status: r.status, json: obj(r.json) };
}

const now = (): number => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ nbf: now() - 60, exp: now() + 60, sub: 'couch@apache.org', '_couchdb.roles': ['testing'], ...extra });

async function expectUser(f: CouchFixture, jwt: string, name: string, roles: string[]): Promise<void> {
  const s = await session(f, jwt);
  assert.equal(s.status, 200, JSON.stringify(s.json));
  assert.deepEqual(obj(s.json.userCtx), { name, roles });
  assert.equal(obj(s.json.info).authenticated, 'jwt');
}

describe('JWT authentication', () => {
  test('HMAC, RSA and EC keys, every algorithm; without a Bearer token the next handler runs', () =>
    withCouch(async (f) => {
      await config(f, 'chttpd', 'authentication_handlers', HANDLERS);
      await config(f, 'jwt_keys', 'hmac:_default', Buffer.from(SECRET).toString('base64'));
      for (const alg of ['HS256', 'HS384', 'HS512']) await expectUser(f, token({ alg }, claims(), SECRET), 'couch@apache.org', ['testing']);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await config(f, 'jwt_keys', 'rsa:_default', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString().replaceAll('\n', '\\n'));
      for (const alg of ['RS256', 'RS384', 'RS512']) await expectUser(f, token({ alg }, claims(), rsa.privateKey), 'couch@apache.org', ['testing']);
      const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      await config(f, 'jwt_keys', 'ec:_default', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString().replaceAll('\n', '\\n'));
      for (const alg of ['ES256', 'ES384', 'ES512']) await expectUser(f, token({ alg }, claims(), ec.privateKey), 'couch@apache.org', ['testing']);
      const basic = obj((await f.req('/_session')).json);
      assert.equal(obj(basic.info).authenticated, 'default');
      assert.deepEqual(obj(basic.info).authentication_handlers, ['jwt', 'cookie', 'default']);
      // A kid picks `<kty>:<kid>`, never `_default`.
      await config(f, 'jwt_keys', 'hmac:other', Buffer.from('another-secret').toString('base64'));
      await expectUser(f, token({ alg: 'HS256', kid: 'other' }, claims(), 'another-secret'), 'couch@apache.org', ['testing']);
      assert.deepEqual((await session(f, token({ alg: 'HS256', kid: 'nope' }, claims(), SECRET))).json, { error: 'bad_request', reason: 'Unknown kid' });
    }));

  test('errors: jwtf texts and statuses; a bad token ends the request', () =>
    withCouch(async (f) => {
      await config(f, 'chttpd', 'authentication_handlers', HANDLERS);
      await config(f, 'jwt_keys', 'hmac:_default', Buffer.from(SECRET).toString('base64'));
      const expect = async (jwt: string, status: number, error: string, reason: string): Promise<void> => {
        const s = await session(f, jwt);
        assert.equal(s.status, status, reason);
        assert.deepEqual(s.json, { error, reason });
      };
      await expect('abc', 400, 'bad_request', 'Malformed token');
      await expect('a.b.c', 400, 'bad_request', 'Malformed token');
      await expect(token({ alg: 'HS256' }, claims(), 'wrong-secret'), 400, 'bad_request', 'Bad HMAC');
      await expect(token({ alg: 'none' }, claims(), SECRET), 400, 'bad_request', 'Invalid alg header parameter');
      await expect(token({ alg: 'RS256' }, claims(), SECRET), 400, 'bad_request', 'Unknown kid');
      await expect(token({ alg: 'HS256' }, { '_couchdb.roles': [] }, SECRET), 401, 'unauthorized', 'Token missing sub claim.');
      await expect(token({ alg: 'HS256' }, claims({ '_couchdb.roles': [1] }), SECRET), 400, 'bad_request', 'Malformed token');
      // Unrequired claims are not checked (CouchDB 3.2+): an expired exp passes until required.
      await expectUser(f, token({ alg: 'HS256' }, claims({ exp: now() - 10 }), SECRET), 'couch@apache.org', ['testing']);
      await config(f, 'jwt_auth', 'required_claims', 'exp, nbf');
      await expect(token({ alg: 'HS256' }, claims({ exp: now() - 10 }), SECRET), 401, 'unauthorized', 'exp not in future');
      await expect(token({ alg: 'HS256' }, claims({ nbf: now() + 100 }), SECRET), 401, 'unauthorized', 'nbf not in past');
      await expect(token({ alg: 'HS256' }, { sub: 'x', nbf: now() - 1 }, SECRET), 400, 'bad_request', 'Missing exp claim');
      await config(f, 'jwt_auth', 'required_claims', '{iss, "hello"}');
      await expectUser(f, token({ alg: 'HS256' }, { iss: 'hello', sub: 'couch@apache.org', '_couchdb.roles': ['testing'] }, SECRET), 'couch@apache.org', ['testing']);
      await expect(token({ alg: 'HS256' }, { iss: 'goodbye', sub: 'couch@apache.org' }, SECRET), 400, 'bad_request', 'Invalid iss claim');
      await config(f, 'jwt_auth', 'required_claims', 'NOT VALID');
      await expect(token({ alg: 'HS256' }, claims(), SECRET), 500, 'misconfigured_server', 'JWT is not configured correctly');
    }));

  test('roles: roles_claim_name, roles_claim_path with escaped dots, comma-separated strings, bad paths', () =>
    withCouch(async (f) => {
      await config(f, 'chttpd', 'authentication_handlers', HANDLERS);
      await config(f, 'jwt_keys', 'hmac:myjwttestkey', Buffer.from(SECRET).toString('base64'));
      const body = {
        sub: '1234567890',
        '_couchdb.roles': ['_couchdb.roles_1', '_couchdb.roles_2'],
        'my._couchdb.roles': ['my._couchdb.roles_1', 'my._couchdb.roles_2'],
        foo: { 'bar.zonk': { 'baz.buu': { baa: { 'baa.bee': { roles: 'my_nested_role_1, my_nested_role_2' } } } } },
      };
      const jwt = token({ alg: 'HS256', kid: 'myjwttestkey' }, body, SECRET);
      await expectUser(f, jwt, '1234567890', ['_couchdb.roles_1', '_couchdb.roles_2']);
      await config(f, 'jwt_auth', 'roles_claim_name', 'my._couchdb.roles');
      await expectUser(f, jwt, '1234567890', ['my._couchdb.roles_1', 'my._couchdb.roles_2']);
      await config(f, 'jwt_auth', 'roles_claim_path', 'foo.bar\\.zonk.baz\\.buu.baa.baa\\.bee.roles');
      await expectUser(f, jwt, '1234567890', ['my_nested_role_1', 'my_nested_role_2']);
      await config(f, 'jwt_auth', 'roles_claim_path', '123456');
      assert.deepEqual((await session(f, jwt)).json, { error: 'not_found', reason: 'missing json key: 123456' });
    }));

  test('a token user is a user like any other: _admin role, database security', () =>
    withCouch(async (f) => {
      await config(f, 'chttpd', 'authentication_handlers', HANDLERS);
      await config(f, 'jwt_keys', 'hmac:_default', Buffer.from(SECRET).toString('base64'));
      assert.equal((await f.req('/secret', { method: 'PUT' })).status, 201);
      assert.equal((await f.req('/secret/_security', { method: 'PUT', json: { members: { roles: ['readers'] } } })).status, 200);
      const bearer = (roles: string[]): Record<string, string> => ({ authorization: `Bearer ${token({ alg: 'HS256' }, { sub: 'tok', '_couchdb.roles': roles }, SECRET)}` });
      assert.equal((await f.req('/secret/_all_docs', { auth: null, headers: bearer(['readers']) })).status, 200);
      assert.equal((await f.req('/secret/_all_docs', { auth: null, headers: bearer(['others']) })).status, 403);
      assert.equal((await f.req('/_node/_local/_config', { auth: null, headers: bearer(['others']) })).status, 401);
      assert.equal((await f.req('/_node/_local/_config', { auth: null, headers: bearer(['_admin']) })).status, 200);
      // Without the handler configured, a Bearer token is not looked at.
      await config(f, 'chttpd', 'authentication_handlers', '{chttpd_auth, cookie_authentication_handler}, {chttpd_auth, default_authentication_handler}');
      assert.equal((await f.req('/secret/_all_docs', { auth: null, headers: bearer(['readers']) })).status, 401);
    }));
});
