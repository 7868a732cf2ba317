import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch } from './helpers.js';

const alice = { user: 'alice', password: 'alice-secret' };

describe('authentication and access', () => {
  test('wrong credentials are 401 everywhere, even on GET /', () =>
    withCouch(async (f) => {
      for (const path of ['/', '/_all_dbs', '/default', '/nosuchdb/doc']) {
        const r = await f.req(path, { auth: { user: 'Administrator', password: 'nope' } });
        assert.equal(r.status, 401, path);
        assert.deepEqual(r.json, { error: 'unauthorized', reason: 'Name or password is incorrect.' });
      }
      const garbled = await f.req('/', { auth: null, headers: { authorization: 'Basic !!!' } });
      assert.equal(garbled.status, 401);
    }));

  test('anonymous requests get 401 for databases, bucket users 403 for databases they lack', () =>
    withCouch(async (f) => {
      await createDb(f, 'mine');
      await createDb(f, 'theirs');
      await f.server.server.users.setBucketUser(alice.user, alice.password, ['mine']);
      const anon = await f.req('/mine', { auth: null });
      assert.equal(anon.status, 401);
      assert.equal(obj(anon.json).error, 'unauthorized');
      assert.equal((await f.req('/mine', { auth: alice })).status, 200);
      assert.equal((await f.req('/mine/a', { method: 'PUT', json: { x: 1 }, auth: alice })).status, 201);
      const denied = await f.req('/theirs', { auth: alice });
      assert.equal(denied.status, 403);
      assert.deepEqual(denied.json, { error: 'forbidden', reason: 'You are not allowed to access this db.' });
      // Creating databases is for the server admin (couch_httpd:verify_is_server_admin).
      const create = await f.req('/newdb', { method: 'PUT', auth: alice });
      assert.equal(create.status, 401);
      assert.deepEqual(create.json, { error: 'unauthorized', reason: 'You are not a server admin.' });
      assert.deepEqual((await f.req('/_all_dbs', { auth: alice })).json, ['mine']);
    }));

  test('cookie sessions: login, use, refresh-free reuse, logout, forged cookies are anonymous', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bad = await f.req('/_session', { method: 'POST', auth: null, json: { name: 'Administrator', password: 'x' } });
      assert.equal(bad.status, 401);
      const login = await f.req('/_session', { method: 'POST', auth: null, json: { name: 'Administrator', password: 'password' } });
      assert.equal(login.status, 200);
      assert.deepEqual(login.json, { ok: true, name: 'Administrator', roles: ['_admin'] });
      const setCookie = String(login.headers['set-cookie']);
      const cookie = /AuthSession=[^;]+/.exec(setCookie)?.[0];
      assert.ok(cookie, setCookie);
      const session = await f.req('/_session', { auth: null, headers: { cookie } });
      assert.deepEqual(obj(session.json).userCtx, { name: 'Administrator', roles: ['_admin'] });
      assert.equal(obj(obj(session.json).info).authenticated, 'cookie');
      assert.equal((await f.req('/db', { auth: null, headers: { cookie } })).status, 200);
      const forged = cookie.slice(0, -4) + 'AAAA';
      assert.equal((await f.req('/db', { auth: null, headers: { cookie: forged } })).status, 401);
      const anonSession = await f.req('/_session', { auth: null });
      assert.deepEqual(obj(anonSession.json).userCtx, { name: null, roles: [] });
      const logout = await f.req('/_session', { method: 'DELETE', auth: null, headers: { cookie } });
      assert.match(String(logout.headers['set-cookie']), /AuthSession=;/);
    }));

  test('the session cookie is persistent, as couch_httpd_auth writes it: Expires and Max-Age of the timeout, no SameSite', () =>
    withCouch(async (f) => {
      const before = Date.now();
      const login = await f.req('/_session', { method: 'POST', auth: null, json: { name: 'Administrator', password: 'password' } });
      const setCookie = String(login.headers['set-cookie']);
      const m = /^AuthSession=[^;]+; Version=1; Expires=(\w{3}, \d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2} GMT); Max-Age=600; Path=\/; HttpOnly$/.exec(setCookie);
      assert.ok(m, setCookie);
      const expires = Date.parse(m[1]!.replace(/-/g, ' '));
      assert.ok(Math.abs(expires - (before + 600_000)) < 5_000, m[1]);
      const logout = await f.req('/_session', { method: 'DELETE', auth: null });
      assert.equal(String(logout.headers['set-cookie']), 'AuthSession=; Version=1; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly');
    }));

  test('form-encoded login works too', () =>
    withCouch(async (f) => {
      const r = await f.req('/_session', {
        method: 'POST',
        auth: null,
        body: 'name=Administrator&password=password',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 200);
    }));

  test('a valid session cookie wins over Basic credentials (handlers: cookie, then default); a void one falls back to Basic', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/_users', { method: 'PUT' })).status, 201);
      const r = await f.req('/_users/org.couchdb.user:joe', { method: 'PUT', json: { name: 'joe', password: 'joe-secret', roles: [], type: 'user' } });
      assert.equal(r.status, 201, r.text);
      const login = await f.req('/_session', { method: 'POST', auth: null, json: { name: 'joe', password: 'joe-secret' } });
      const cookie = /AuthSession=[^;]+/.exec(String(login.headers['set-cookie']))![0];
      const both = await f.req('/_session', { headers: { cookie } });
      assert.equal(obj(obj(both.json).userCtx).name, 'joe');
      const forged = await f.req('/_session', { headers: { cookie: cookie.slice(0, -4) + 'AAAA' } });
      assert.equal(obj(obj(forged.json).userCtx).name, 'Administrator');
    }));

  test('Basic _:_ is anonymous, CouchDB\'s special logout pair', () =>
    withCouch(async (f) => {
      const r = await f.req('/_session', { auth: { user: '_', password: '_' } });
      assert.equal(r.status, 200);
      assert.deepEqual(obj(r.json).userCtx, { name: null, roles: [] });
      assert.equal((await f.req('/_session', { auth: { user: '_', password: 'x' } })).status, 401);
    }));

  test('username as well as name (extract_username); ?next= and ?fail= redirect', () =>
    withCouch(async (f) => {
      const login = (json: Record<string, unknown>, qs = ''): ReturnType<typeof f.req> => f.req(`/_session${qs}`, { method: 'POST', auth: null, json });
      assert.equal((await login({ username: 'Administrator', password: 'password' })).status, 200);
      const both = await login({ name: 'Administrator', username: 'other', password: 'password' });
      assert.deepEqual([both.status, obj(both.json).reason], [400, 'request body contains different usernames']);
      const none = await login({ password: 'password' });
      assert.deepEqual([none.status, obj(none.json).reason], [400, 'request body must contain a username']);
      const next = await login({ name: 'Administrator', password: 'password' }, '?next=/_up');
      assert.equal(next.status, 302);
      assert.match(String(next.headers.location), /^http:\/\/127\.0\.0\.1:\d+\/_up$/);
      assert.match(String(next.headers['set-cookie']), /AuthSession=[^;]+/);
      const fail = await login({ name: 'Administrator', password: 'wrong' }, '?fail=/_up');
      assert.equal(fail.status, 302);
      assert.match(String(fail.headers.location), /\/_up$/);
      assert.equal(obj(fail.json).error, 'unauthorized');
      assert.equal((await login({ name: 'Administrator', password: 'wrong' })).status, 401);
    }));
});

describe('CORS', () => {
  test('off by default; enabled through _config; preflight and actual requests', () =>
    withCouch(async (f) => {
      const origin = 'http://app.example';
      const off = await f.req('/', { headers: { origin } });
      assert.equal(off.headers['access-control-allow-origin'], undefined);
      assert.equal((await f.req('/_node/_local/_config/chttpd/enable_cors', { method: 'PUT', body: '"true"' })).json, 'false');
      assert.equal((await f.req('/_node/_local/_config/cors/origins', { method: 'PUT', body: `"${origin}"` })).status, 200);
      assert.equal((await f.req('/_node/_local/_config/cors/credentials', { method: 'PUT', body: '"true"' })).status, 200);
      const on = await f.req('/', { headers: { origin } });
      assert.equal(on.headers['access-control-allow-origin'], origin);
      assert.equal(on.headers['access-control-allow-credentials'], 'true');
      const pre = await f.req('/db/_changes', {
        method: 'OPTIONS',
        auth: null,
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.match(String(pre.headers['access-control-allow-methods']), /GET/);
      const other = await f.req('/', { headers: { origin: 'http://evil.example' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const cfg = obj((await f.req('/_node/_local/_config/cors')).json);
      assert.equal(cfg.origins, origin);
      // Non-admins cannot change it.
      assert.equal((await f.req('/_node/_local/_config/cors/origins', { method: 'PUT', body: '"*"', auth: null })).status, 401);
    }, { cors: {} }));
});
