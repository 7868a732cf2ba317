/**
 * CouchDB 3.4's password cache (couch_passwords_cache.erl) and its `_stats` counters
 * `couchdb.password_hashing_fast` / `password_hashing_slow`, ported from CouchDB's
 * password_cache_test.exs: logins as its Couch.login makes them (a `POST /_session` that also
 * carries the admin's Basic credentials), the counters read by admin Basic requests, whose own
 * fast hashes (three between the two readings) are taken off as the Elixir test does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN_AUTH = basic(ADMIN.username, ADMIN.password);

async function call(path: string, opts: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; json?: unknown; authorization?: string | null; cookie?: string } = {}): Promise<{ status: number; json: Record<string, unknown>; cookie?: string }> {
  const headers: Record<string, string> = {};
  const authorization = opts.authorization === undefined ? ADMIN_AUTH : opts.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`http://127.0.0.1:${t.server.ports.http}${path}`, { method: opts.method ?? 'GET', headers, ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}) });
  const text = await res.body.text();
  const cookie = /AuthSession=[^;]+/.exec(String(res.headers['set-cookie'] ?? ''))?.[0];
  return { status: res.statusCode, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), ...(cookie ? { cookie } : {}) };
}

/** request_stats(["couchdb", name], true)["value"], over admin Basic auth. */
async function stat(name: 'password_hashing_fast' | 'password_hashing_slow'): Promise<number> {
  return (await call(`/_node/_local/_stats/couchdb/${name}?flush=true`)).json.value as number;
}

/** assert_cache/4: a login's effect on the counters, as the Elixir test measures it. */
async function login(user: string, password: string, ok: boolean): Promise<{ fast: number; slow: number }> {
  const slowBefore = await stat('password_hashing_slow');
  const fastBefore = await stat('password_hashing_fast');
  const r = await call('/_session', { method: 'POST', json: { username: user, password } });
  assert.equal(r.status, ok ? 200 : 401, `${user} login`);
  assert.equal(r.cookie !== undefined && ok, ok);
  const slowAfter = await stat('password_hashing_slow');
  const fastAfter = (await stat('password_hashing_fast')) - 3; // the three admin requests' own fast hashes
  return { fast: fastAfter - fastBefore, slow: slowAfter - slowBefore };
}

const SLOW_FAIL = { fast: 0, slow: 1 };
const SLOW_OK = { fast: 1, slow: 1 };
const FAST = { fast: 1, slow: 0 };

before(async () => {
  t = await startTestServer({ numVBuckets: 8, authThrottle: false });
});
after(() => t.close());

describe('password hash cache', () => {
  test('the counters have CouchDB\'s shape; the first admin request is one slow and one fast hash', async () => {
    const res = await request(`http://127.0.0.1:${t.server.ports.http}/_node/_local/_stats/couchdb`, { headers: { authorization: ADMIN_AUTH } });
    const group = (await res.body.json()) as Record<string, { value: number; type: string; desc: string }>;
    assert.deepEqual(group.password_hashing_slow, { value: 1, type: 'counter', desc: 'number of slow password hashing operations' });
    assert.deepEqual(group.password_hashing_fast, { value: 1, type: 'counter', desc: 'number of fast password hashing operations' });
    // Cached from now on: one fast hash per admin request, no slow one.
    assert.equal(await stat('password_hashing_slow'), 1);
    assert.equal(await stat('password_hashing_fast'), 3);
    assert.equal((await call('/_node/_local/_stats/couchdb/password_hashing_fast', { authorization: null })).status, 401);
  });

  test('password_cache_test.exs: slow until a login succeeds, fast while cached, slow again after a password change', async () => {
    await call('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' });
    assert.equal((await call('/_users', { method: 'PUT' })).status, 201);
    const slowBefore = await stat('password_hashing_slow');
    const created = await call('/_users/org.couchdb.user:user1', { method: 'PUT', json: { _id: 'org.couchdb.user:user1', name: 'user1', password: 'user1', roles: [], type: 'user' } });
    assert.equal(created.status, 201);
    // Hashing the saved password is a slow hash too (couch_users_db save_doc → couch_passwords:pbkdf2).
    assert.equal(await stat('password_hashing_slow'), slowBefore + 1);

    assert.deepEqual(await login('user1', 'wrong_password', false), SLOW_FAIL);
    assert.deepEqual(await login('user1', 'wrong_password', false), SLOW_FAIL);
    assert.deepEqual(await login('user1', 'user1', true), SLOW_OK);
    assert.deepEqual(await login('user1', 'user1', true), FAST);
    assert.deepEqual(await login('user1', 'user1', true), FAST);
    // A cached user's wrong password is answered from the cache: one fast hash, no slow one.
    assert.deepEqual(await login('user1', 'wrong_password', false), FAST);

    const doc = (await call('/_users/org.couchdb.user:user1')).json;
    assert.equal((await call('/_users/org.couchdb.user:user1', { method: 'PUT', json: { ...doc, password: 'new_password' } })).status, 201);
    assert.deepEqual(await login('user1', 'wrong_password', false), SLOW_FAIL);
    assert.deepEqual(await login('user1', 'new_password', true), SLOW_OK);
    assert.deepEqual(await login('user1', 'user1', false), FAST);
  });

  test('Basic credentials use the same cache; a cookie hashes nothing; a name nobody has hashes nothing', async () => {
    await call('/_users/org.couchdb.user:basic1', { method: 'PUT', json: { name: 'basic1', password: 'pw', roles: [], type: 'user' } });
    const before = { fast: await stat('password_hashing_fast'), slow: await stat('password_hashing_slow') };
    assert.equal((await call('/_session', { authorization: basic('basic1', 'pw') })).status, 200);
    assert.equal((await call('/_session', { authorization: basic('basic1', 'pw') })).status, 200);
    const cookie = (await call('/_session', { method: 'POST', json: { name: 'basic1', password: 'pw' }, authorization: null })).cookie!;
    assert.equal((await call('/_session', { cookie, authorization: null })).json.ok, true);
    assert.equal((await call('/_session', { method: 'POST', json: { name: 'nobody', password: 'x' }, authorization: null })).status, 401);
    assert.equal((await call('/_all_dbs', { authorization: basic('nobody', 'x') })).status, 401);
    // The admin readings' own fast hashes between the two fast readings: the slow reading before, this one.
    const fast = (await stat('password_hashing_fast')) - 2;
    const slow = await stat('password_hashing_slow');
    // basic1: a slow hash and the insert, then two cache hits (the second Basic request, the login).
    assert.deepEqual({ fast: fast - before.fast, slow: slow - before.slow }, { fast: 3, slow: 1 });
  });

  test('[couch_passwords_cache] enable = false: every check is slow', async () => {
    await call('/_node/_local/_config/couch_passwords_cache/enable', { method: 'PUT', json: 'false' });
    try {
      const before = await stat('password_hashing_slow');
      for (let i = 0; i < 3; i++) assert.equal((await call('/_session', { method: 'POST', json: { name: 'user1', password: 'new_password' }, authorization: null })).status, 200);
      // Three logins and the admin request reading the counter, each a slow hash.
      assert.equal(await stat('password_hashing_slow'), before + 4);
    } finally {
      await call('/_node/_local/_config/couch_passwords_cache/enable', { method: 'DELETE' });
    }
  });
});
