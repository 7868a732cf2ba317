/**
 * `[chttpd_auth_lockout]` (couch_auth_lockout.erl, couch_httpd_auth:authenticate/5), ported from
 * CouchDB's auth_lockout_test.exs: with `mode = enforce`, five failed Basic checks of one user from
 * one address are 401s and the sixth is 403 "Account is temporarily locked due to multiple
 * authentication failures", the right password included; `warn` only logs; `off`, Freshet's
 * default, counts nothing. Changes through `_config` apply to the next request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN_AUTH = basic(ADMIN.username, ADMIN.password);
const LOCKED = { error: 'forbidden', reason: 'Account is temporarily locked due to multiple authentication failures' };

async function call(path: string, opts: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; json?: unknown; authorization?: string | null; headers?: Record<string, string> } = {}): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { ...opts.headers };
  const authorization = opts.authorization === undefined ? ADMIN_AUTH : opts.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`http://127.0.0.1:${t.server.ports.http}${path}`, { method: opts.method ?? 'GET', headers, ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

const setConfig = async (key: string, value: string): Promise<void> => {
  assert.equal((await call(`/_node/_local/_config/chttpd_auth_lockout/${key}`, { method: 'PUT', json: value })).status, 200);
};
const statuses = async (n: number, user: string, password: string, headers: Record<string, string> = {}): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call('/_all_dbs', { authorization: basic(user, password), headers })).status);
  return out;
};
const addUser = async (name: string, password: string): Promise<void> => {
  assert.equal((await call(`/_users/org.couchdb.user:${name}`, { method: 'PUT', json: { name, password, roles: [], type: 'user' } })).status, 201);
};

before(async () => {
  t = await startTestServer({ numVBuckets: 8, authThrottle: false });
  await call('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' });
  assert.equal((await call('/_users', { method: 'PUT' })).status, 201);
  for (const name of ['off_user', 'warned', 'chttpd_auth_lockout', 'session_user', 'short_lived', 'proxied']) await addUser(name, 'bar');
});
after(() => t.close());

describe('[chttpd_auth_lockout]', () => {
  test('off by default: failures are only 401s', async () => {
    assert.equal((await call('/_node/_local/_config/chttpd_auth_lockout/mode')).status, 404);
    assert.deepEqual(await statuses(7, 'off_user', 'baz'), [401, 401, 401, 401, 401, 401, 401]);
    assert.equal((await call('/_session', { authorization: basic('off_user', 'bar') })).status, 200);
  });

  test('warn: six failures are six 401s (auth_lockout_test.exs), the right password still works', async () => {
    await setConfig('mode', 'warn');
    assert.deepEqual(await statuses(6, 'warned', 'baz'), [401, 401, 401, 401, 401, 401]);
    assert.equal((await call('/_session', { authorization: basic('warned', 'bar') })).status, 200);
  });

  test('enforce: five 401s, then 403 for that user from that address, even with the right password', async () => {
    await setConfig('mode', 'enforce');
    assert.deepEqual(await statuses(5, 'chttpd_auth_lockout', 'baz'), [401, 401, 401, 401, 401]);
    const locked = await call('/_all_dbs', { authorization: basic('chttpd_auth_lockout', 'baz') });
    assert.deepEqual([locked.status, locked.json], [403, LOCKED]);
    assert.deepEqual((await call('/_all_dbs', { authorization: basic('chttpd_auth_lockout', 'bar') })).json, LOCKED);
    const login = await call('/_session', { method: 'POST', json: { name: 'chttpd_auth_lockout', password: 'bar' }, authorization: null });
    assert.deepEqual([login.status, login.json], [403, LOCKED]);
    // Another user from the same address is not locked; the warned user's earlier failures count now.
    assert.equal((await call('/_session', { authorization: basic('off_user', 'bar') })).status, 200);
    assert.equal((await call('/_session', { authorization: basic('warned', 'bar') })).status, 403);
    // Switching the mode off lets everyone in again at once.
    await setConfig('mode', 'off');
    assert.equal((await call('/_session', { authorization: basic('chttpd_auth_lockout', 'bar') })).status, 200);
    await setConfig('mode', 'enforce');
    assert.equal((await call('/_session', { authorization: basic('chttpd_auth_lockout', 'bar') })).status, 403);
  });

  test('_session logins count as well, a name nobody has too; threshold is read live', async () => {
    await setConfig('threshold', '2');
    for (let i = 0; i < 2; i++) assert.equal((await call('/_session', { method: 'POST', json: { name: 'session_user', password: 'baz' }, authorization: null })).status, 401);
    assert.equal((await call('/_session', { method: 'POST', json: { name: 'session_user', password: 'bar' }, authorization: null })).status, 403);
    for (let i = 0; i < 2; i++) assert.equal((await call('/_session', { method: 'POST', json: { name: 'ghost', password: 'x' }, authorization: null })).status, 401);
    assert.equal((await call('/_session', { method: 'POST', json: { name: 'ghost', password: 'x' }, authorization: null })).status, 403);
    // Basic credentials of nobody are refused before any check (default_authentication_handler): never locked.
    assert.deepEqual(await statuses(4, 'ghost2', 'x'), [401, 401, 401, 401]);
  });

  test('a threshold of 0 locks out no one who has not failed (found by fuzzing: it locked out everyone)', async () => {
    await setConfig('mode', 'enforce');
    await setConfig('threshold', '0');
    try {
      assert.deepEqual(await statuses(3, ADMIN.username, ADMIN.password), [200, 200, 200]);
      await addUser('never_failed', 'bar');
      assert.equal((await call('/_session', { method: 'POST', json: { name: 'never_failed', password: 'bar' }, authorization: null })).status, 200);
    } finally {
      await setConfig('threshold', '5');
    }
  });

  test('a new password (a new salt) starts afresh; max_lifetime ends a lockout', async () => {
    await setConfig('threshold', '2');
    await setConfig('max_lifetime', '1500');
    assert.deepEqual(await statuses(3, 'short_lived', 'baz'), [401, 401, 403]);
    await sleep(1600);
    assert.equal((await call('/_session', { authorization: basic('short_lived', 'bar') })).status, 200);
    assert.deepEqual(await statuses(3, 'short_lived', 'baz'), [401, 401, 403]);
    const doc = (await call('/_users/org.couchdb.user:short_lived')).json as Record<string, unknown>;
    assert.equal((await call('/_users/org.couchdb.user:short_lived', { method: 'PUT', json: { ...doc, password: 'new' } })).status, 201);
    assert.equal((await call('/_session', { authorization: basic('short_lived', 'new') })).status, 200);
  });

  test('client_ip_header: the first address of that header is the peer', async () => {
    await setConfig('threshold', '2');
    await setConfig('client_ip_header', 'X-Forwarded-For');
    const from = (ip: string): Record<string, string> => ({ 'x-forwarded-for': `${ip}, 10.0.0.1` });
    assert.deepEqual(await statuses(3, 'proxied', 'baz', from('198.51.100.23')), [401, 401, 403]);
    assert.equal((await call('/_session', { authorization: basic('proxied', 'bar'), headers: from('203.0.113.9') })).status, 200);
    assert.equal((await call('/_session', { authorization: basic('proxied', 'bar'), headers: from('198.51.100.23') })).status, 403);
  });
});
