/**
 * `GET /_node/{node}/_stats/{group}/{name}` (couch_stats_httpd extract_path: that part, `null`
 * when missing) and the `couchdb.auth_cache_hits`/`auth_cache_misses` counters of `_users`
 * credentials lookups, as CouchDB's auth_cache_test.exs reads them: the first login of a user is a
 * miss, the next ones hits, a changed or deleted document a miss again, the cache bounded by
 * `[chttpd_auth] auth_cache_size`. Over the full server's CouchDB port, which has the metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN_AUTH = basicAuth(ADMIN.username, ADMIN.password);

async function call(path: string, opts: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; json?: unknown; authorization?: string | null; cookie?: string } = {}): Promise<{ status: number; json: unknown; cookie?: string }> {
  const headers: Record<string, string> = {};
  const authorization = opts.authorization === undefined ? ADMIN_AUTH : opts.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`http://127.0.0.1:${t.server.ports.http}${path}`, {
    method: opts.method ?? 'GET',
    headers,
    ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
  });
  const text = await res.body.text();
  const cookie = /AuthSession=[^;]+/.exec(String(res.headers['set-cookie'] ?? ''))?.[0];
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text), ...(cookie ? { cookie } : {}) };
}

async function counters(): Promise<{ hits: number; misses: number }> {
  const hits = (await call('/_node/_local/_stats/couchdb/auth_cache_hits?flush=true')).json as { value: number };
  const misses = (await call('/_node/_local/_stats/couchdb/auth_cache_misses?flush=true')).json as { value: number };
  return { hits: hits.value, misses: misses.value };
}

/** A `_session` login's effect on the counters. */
async function login(name: string, password: string, ok = true): Promise<{ hits: number; misses: number }> {
  const before = await counters();
  const r = await call('/_session', { method: 'POST', json: { name, password }, authorization: null });
  assert.equal(r.status, ok ? 200 : 401, `${name} login`);
  const after = await counters();
  return { hits: after.hits - before.hits, misses: after.misses - before.misses };
}

const HIT = { hits: 1, misses: 0 };
const MISS = { hits: 0, misses: 1 };

before(async () => {
  t = await startTestServer({ numVBuckets: 8, authThrottle: false });
  await call('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' });
  assert.equal((await call('/_users', { method: 'PUT' })).status, 201);
});
after(() => t.close());

describe('_stats paths and the auth cache counters', () => {
  test('a path below _stats answers that part of it, null when there is none', async () => {
    const hits = (await call('/_node/_local/_stats/couchdb/auth_cache_hits')).json;
    assert.deepEqual(hits, { value: 0, type: 'counter', desc: 'number of authentication cache hits' });
    const group = (await call('/_node/_local/_stats/couchdb')).json as Record<string, unknown>;
    assert.ok('auth_cache_misses' in group && 'httpd_request_methods' in group);
    assert.equal((await call('/_node/_local/_stats/couchdb/httpd_request_methods/GET/type')).json, 'counter');
    for (const missing of ['/nope', '/couchdb/nope', '/couchdb/auth_cache_hits/value/deeper']) {
      const r = await call(`/_node/_local/_stats${missing}`);
      assert.deepEqual([r.status, r.json], [200, null], missing);
    }
    assert.equal((await call('/_node/_local/_stats/couchdb/auth_cache_hits', { authorization: null })).status, 401);
  });

  test('logins miss first, then hit; a changed or deleted user misses; the cache is bounded', async () => {
    await call('/_node/_local/_config/chttpd_auth/auth_cache_size', { method: 'PUT', json: '3' });
    const users: Array<[string, string]> = [['fdmanana', 'qwerty'], ['chris', 'the_god_father'], ['joe', 'functional'], ['johndoe', '123456']];
    for (const [name, password] of users) {
      assert.equal((await call(`/_users/org.couchdb.user:${name}`, { method: 'PUT', json: { name, password, roles: [], type: 'user' } })).status, 201);
    }
    assert.deepEqual(await login('fdmanana', 'qwerty'), MISS);
    assert.deepEqual(await login('fdmanana', 'qwerty'), HIT);
    assert.deepEqual(await login('chris', 'the_god_father'), MISS);
    assert.deepEqual(await login('joe', 'functional'), MISS);
    assert.deepEqual(await login('johndoe', '123456'), MISS);
    // Three entries: fdmanana, the least recently used, was evicted for johndoe.
    assert.deepEqual(await login('fdmanana', 'qwerty'), MISS);
    assert.deepEqual(await login('johndoe', '123456'), HIT);
    // A cookie is a lookup too, and a hit.
    const session = await call('/_session', { method: 'POST', json: { name: 'johndoe', password: '123456' }, authorization: null });
    const before = await counters();
    assert.equal((await call('/_session', { cookie: session.cookie!, authorization: null })).status, 200);
    const afterCookie = await counters();
    assert.deepEqual({ hits: afterCookie.hits - before.hits, misses: afterCookie.misses - before.misses }, HIT);
    // A changed document is looked up again; a deleted one, or nobody, is a miss every time.
    const doc = (await call('/_users/org.couchdb.user:fdmanana')).json as Record<string, unknown>;
    const changed = await call('/_users/org.couchdb.user:fdmanana', { method: 'PUT', json: { ...doc, password: 'javascript' } });
    assert.equal(changed.status, 201);
    assert.deepEqual(await login('fdmanana', 'javascript'), MISS);
    assert.deepEqual(await login('fdmanana', 'javascript'), HIT);
    assert.equal((await call(`/_users/org.couchdb.user:fdmanana?rev=${String((changed.json as { rev: string }).rev)}`, { method: 'DELETE' })).status, 200);
    assert.deepEqual(await login('fdmanana', 'javascript', false), MISS);
    assert.deepEqual(await login('nobody', 'x', false), MISS);
  });
});
