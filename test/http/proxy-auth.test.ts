/**
 * Proxy authentication (couch_httpd_auth proxy_authentication_handler; CouchDB's
 * proxyauth_test.exs): enabled by listing `{chttpd_auth, proxy_authentication_handler}` in
 * `[chttpd] authentication_handlers`; `X-Auth-CouchDB-UserName`/`-Roles` name the user, and with
 * `proxy_use_secret` `X-Auth-CouchDB-Token` must be the HMAC of the name with `[chttpd_auth]
 * secret`, SHA-256 or SHA-1 by default (`hash_algorithms`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ADMIN } from '../helpers/server.js';
import { createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const HANDLERS = '{chttpd_auth, cookie_authentication_handler}, {chttpd_auth, proxy_authentication_handler}, {chttpd_auth, default_authentication_handler}';
const NAME = 'couch@apache.org';

async function setConfig(f: CouchFixture, section: string, key: string, value: string): Promise<void> {
  const r = await f.req(`/_node/_local/_config/${section}/${key}`, { method: 'PUT', json: value });
  assert.equal(r.status, 200, r.text);
}

async function sessionOf(f: CouchFixture, headers: Record<string, string>): Promise<{ userCtx: unknown; info: Record<string, unknown> }> {
  const r = obj((await f.req('/_session', { auth: null, headers })).json);
  return { userCtx: r.userCtx, info: obj(r.info) };
}

const hmac = (algorithm: string, secret: string, name: string): string => createHmac(algorithm, secret).update(name).digest('hex');

describe('proxy authentication', () => {
  test('off unless listed; then the proxy names the user and roles, which a show function sees', () =>
    withCouch(async (f) => {
      const headers = { 'X-Auth-CouchDB-UserName': NAME, 'X-Auth-CouchDB-Roles': 'test,other' };
      assert.deepEqual((await sessionOf(f, headers)).userCtx, { name: null, roles: [] }, 'not a handler by default');
      await setConfig(f, 'chttpd', 'authentication_handlers', HANDLERS);
      const s = await sessionOf(f, headers);
      assert.deepEqual(s.userCtx, { name: NAME, roles: ['test', 'other'] });
      assert.equal(s.info.authenticated, 'proxy');
      assert.deepEqual(s.info.authentication_handlers, ['cookie', 'proxy', 'default']);
      await createDb(f);
      await f.req('/db/_security', { method: 'PUT', json: { members: { roles: ['test'] } } });
      await f.req('/db/_design/test', { method: 'PUT', json: { shows: { welcome: 'function(doc, req) { return "Welcome " + req.userCtx["name"]; }', role: "function(doc, req) { return req.userCtx['roles'][0]; }" } } });
      assert.equal((await f.req('/db/_design/test/_show/welcome', { auth: null, headers })).text, `Welcome ${NAME}`);
      assert.equal((await f.req('/db/_design/test/_show/role', { auth: null, headers })).text, 'test');
      // Not an admin unless the proxy says `_admin`; Basic credentials still work, and must be right.
      assert.equal((await f.req('/_node/_local/_config', { auth: null, headers })).status, 401);
      assert.equal((await f.req('/_node/_local/_config', { auth: null, headers: { ...headers, 'X-Auth-CouchDB-Roles': '_admin' } })).status, 200);
      assert.equal((await f.req('/_node/_local/_config')).status, 200);
      assert.equal((await f.req('/_session', { auth: { user: ADMIN.username, password: 'wrong' } })).status, 401);
      // Custom header names.
      await setConfig(f, 'chttpd_auth', 'x_auth_username', 'X-Remote-User');
      assert.deepEqual((await sessionOf(f, { 'X-Remote-User': 'ann' })).userCtx, { name: 'ann', roles: [] });
    }));

  test('with proxy_use_secret the token must be the HMAC of the name (SHA-256 or SHA-1 by default)', () =>
    withCouch(async (f) => {
      await setConfig(f, 'chttpd', 'authentication_handlers', HANDLERS);
      await setConfig(f, 'couch_httpd_auth', 'proxy_use_secret', 'true');
      const headers = (token?: string): Record<string, string> => ({ 'X-Auth-CouchDB-UserName': NAME, 'X-Auth-CouchDB-Roles': 'test', ...(token ? { 'X-Auth-CouchDB-Token': token } : {}) });
      const anonymous = { name: null, roles: [] };
      const named = { name: NAME, roles: ['test'] };
      assert.deepEqual((await sessionOf(f, headers(hmac('sha1', 'x', NAME)))).userCtx, anonymous, 'no secret configured: nobody is trusted');
      const secret = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      await setConfig(f, 'chttpd_auth', 'secret', secret);
      assert.deepEqual((await sessionOf(f, headers(hmac('sha1', secret, NAME)))).userCtx, named);
      assert.deepEqual((await sessionOf(f, headers(hmac('sha256', secret, NAME)))).userCtx, named);
      for (const bad of [undefined, hmac('sha1', 'other', NAME), hmac('sha1', secret, 'someone'), hmac('sha1', secret, NAME).toUpperCase(), hmac('md5', secret, NAME)]) {
        assert.deepEqual((await sessionOf(f, headers(bad))).userCtx, anonymous, String(bad));
      }
      await setConfig(f, 'chttpd_auth', 'hash_algorithms', 'sha512');
      assert.deepEqual((await sessionOf(f, headers(hmac('sha1', secret, NAME)))).userCtx, anonymous);
      assert.deepEqual((await sessionOf(f, headers(hmac('sha512', secret, NAME)))).userCtx, named);
    }));

  test('a handler list without cookie or Basic handling is refused (nobody could log in to undo it)', () =>
    withCouch(async (f) => {
      const r = await f.req('/_node/_local/_config/chttpd/authentication_handlers', { method: 'PUT', json: '{chttpd_auth, proxy_authentication_handler}' });
      assert.equal(r.status, 400);
      await setConfig(f, 'httpd', 'authentication_handlers', '{couch_httpd_auth, default_authentication_handler}');
      assert.deepEqual((await sessionOf(f, { 'X-Auth-CouchDB-UserName': NAME })).info.authentication_handlers, ['default']);
      assert.deepEqual(obj((await f.req('/_session')).json).userCtx, { name: ADMIN.username, roles: ['_admin'] });
    }));
});
