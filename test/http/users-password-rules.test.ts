/**
 * `[chttpd_auth] password_regexp` (couch_users_db validate_password/1) on `_users` password
 * writes, with the requirements, texts and order of CouchDB's users_db_test "users password
 * requirements"; `[couch_httpd_auth]` is read when `[chttpd_auth]` has no such key.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { obj, withCouch } from './helpers.js';

const RULES = '[{".{10,}"}, {"[A-Z]+", "Requirement 2."}, {"[a-z]+", ""}, {"\\\\d+", "Req 4."}, "[!\\\\.,\\\\(\\\\)]+"]';

describe('_users password requirements', () => {
  test('each requirement in order; the first one failed names its reason', () =>
    withCouch(async (f) => {
      await f.req('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' });
      assert.equal((await f.req('/_users', { method: 'PUT' })).status, 201);
      assert.equal((await f.req('/_node/_local/_config/couch_httpd_auth/password_regexp', { method: 'PUT', json: RULES })).status, 200);
      const save = (password: string): Promise<{ status: number; json: unknown }> =>
        f.req('/_users/org.couchdb.user:jchris@apache.org', { method: 'PUT', auth: null, json: { _id: 'org.couchdb.user:jchris@apache.org', type: 'user', name: 'jchris@apache.org', roles: [], password } });
      const cases: Array<[string, string]> = [
        ['funnybone', 'Password does not conform to requirements.'],
        ['funnnnnybone', 'Password does not conform to requirements. Requirement 2.'],
        ['FUNNNNNYBONE', 'Password does not conform to requirements.'],
        ['funnnnnyBONE', 'Password does not conform to requirements. Req 4.'],
        ['funnnnnyB0N3', 'Password does not conform to requirements.'],
      ];
      for (const [password, reason] of cases) {
        const r = await save(password);
        assert.deepEqual([r.status, r.json], [400, { error: 'bad_request', reason }], password);
      }
      const ok = await save('funnnnnyB0N3!');
      assert.equal(ok.status, 201);
      // A setting that is no list of requirements is the server's fault, as couch_users_db says.
      for (const broken of ['{"a"}', '[{1, "x"}]', '["unclosed]', '["("]']) {
        await f.req('/_node/_local/_config/chttpd_auth/password_regexp', { method: 'PUT', json: broken });
        const r = await f.req('/_users/org.couchdb.user:zed', { method: 'PUT', auth: null, json: { type: 'user', name: 'zed', roles: [], password: 'whatever' } });
        assert.deepEqual([r.status, r.json], [403, { error: 'forbidden', reason: 'Server cannot hash passwords at this time.' }], broken);
      }
      // [chttpd_auth] wins over [couch_httpd_auth]; an empty list requires nothing.
      await f.req('/_node/_local/_config/chttpd_auth/password_regexp', { method: 'PUT', json: '[]' });
      const zed = await f.req('/_users/org.couchdb.user:zed', { method: 'PUT', auth: null, json: { type: 'user', name: 'zed', roles: [], password: 'x' } });
      assert.equal(zed.status, 201);
      // A document without a password (a role change by an admin) is not checked.
      await f.req('/_node/_local/_config/chttpd_auth/password_regexp', { method: 'DELETE' });
      const doc = obj((await f.req('/_users/org.couchdb.user:zed')).json);
      assert.equal((await f.req('/_users/org.couchdb.user:zed', { method: 'PUT', json: { ...doc, roles: ['dev'] } })).status, 201);
    }));
});
