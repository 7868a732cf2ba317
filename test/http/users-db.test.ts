/**
 * The `_users` database over HTTP: user documents hashed on write as CouchDB 3 stores them, the
 * `_users` validation rules, logins with Basic auth and `_session` cookies, and the separation
 * from the Couchbase user registry (a `_users` user has no KV or REST access, and a `_users`
 * document never shadows or extends a Couchbase user).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { Status } from '../../src/codec/index.js';
import { authPlain, RawKv } from '../kv/raw-client.js';
import { arr, basic, obj, withCouch, type CouchFixture } from './helpers.js';
import { startHttpFace } from '../../src/http/index.js';
import { AUTH_DB_DOC_VALIDATE_FUNCTION } from '../../src/couchdb/users-auth-ddoc.js';

const bob = { user: 'bob', password: 'bob-secret' };
const carol = { user: 'carol', password: 'carol-secret' };

/** `_users` with a low PBKDF2 count (the test's own `_config` change), plus a user. */
async function usersDb(f: CouchFixture): Promise<void> {
  assert.equal((await f.req('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' })).status, 200);
  assert.equal((await f.req('/_users', { method: 'PUT' })).status, 201);
}

async function signUp(f: CouchFixture, who: { user: string; password: string }, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await f.req(`/_users/org.couchdb.user:${who.user}`, { method: 'PUT', auth: null, json: { name: who.user, password: who.password, roles: [], type: 'user', ...extra } });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

function cookieOf(r: { headers: Record<string, string | string[] | undefined> }): string {
  const c = /AuthSession=[^;]+/.exec(String(r.headers['set-cookie']))?.[0];
  assert.ok(c, 'a session cookie');
  return c;
}

describe('_users', () => {
  test('a sign-up stores the password as a PBKDF2 hash, never in plain text', () =>
    withCouch(async (f) => {
      await usersDb(f);
      await signUp(f, bob);
      const doc = obj((await f.req('/_users/org.couchdb.user:bob')).json);
      assert.equal(doc.password, undefined);
      assert.equal(doc.password_scheme, 'pbkdf2');
      assert.equal(doc.pbkdf2_prf, 'sha256');
      assert.equal(doc.iterations, 1000);
      assert.match(String(doc.derived_key), /^[0-9a-f]{64}$/);
      assert.match(String(doc.salt), /^[0-9a-f]{32}$/);
      const item = f.engine.bucket('_users')!.get('org.couchdb.user:bob');
      assert.ok(!item.value.toString('latin1').includes('bob-secret'));
      assert.ok(!(item.xattrs?.toString('latin1') ?? '').includes('bob-secret'));
    }));

  test('Basic auth and _session cookies log a _users user in; a password change ends old sessions', () =>
    withCouch(async (f) => {
      await usersDb(f);
      await signUp(f, bob);
      const session = await f.req('/_session', { auth: bob });
      assert.deepEqual(obj(session.json).userCtx, { name: 'bob', roles: [] });
      assert.equal((await f.req('/_session', { auth: { user: 'bob', password: 'wrong' } })).status, 401);
      const login = await f.req('/_session', { method: 'POST', auth: null, json: { name: 'bob', password: bob.password } });
      assert.deepEqual(login.json, { ok: true, name: 'bob', roles: [] });
      const cookie = cookieOf(login);
      const viaCookie = obj((await f.req('/_session', { auth: null, headers: { cookie } })).json);
      assert.deepEqual(viaCookie.userCtx, { name: 'bob', roles: [] });
      assert.equal(obj(viaCookie.info).authenticated, 'cookie');
      assert.equal((await f.req('/_session', { method: 'POST', auth: null, json: { name: 'bob', password: 'nope' } })).status, 401);
      // Bob changes his own password: the cookie's MAC was keyed with the old salt.
      const current = obj((await f.req('/_users/org.couchdb.user:bob', { auth: bob })).json);
      const changed = await f.req('/_users/org.couchdb.user:bob', { method: 'PUT', auth: bob, json: { ...current, password: 'new-secret' } });
      assert.equal(changed.status, 201, changed.text);
      assert.deepEqual(obj((await f.req('/_session', { auth: null, headers: { cookie } })).json).userCtx, { name: null, roles: [] });
      assert.equal((await f.req('/_session', { auth: bob })).status, 401);
      assert.equal((await f.req('/_session', { auth: { user: 'bob', password: 'new-secret' } })).status, 200);
      const logout = await f.req('/_session', { method: 'DELETE', auth: null, headers: { cookie } });
      assert.match(String(logout.headers['set-cookie']), /AuthSession=;/);
    }));

  test('a conflicted user document logs nobody in until the conflict is resolved (chttpd_auth_cache)', () =>
    withCouch(async (f) => {
      await usersDb(f);
      await signUp(f, bob);
      const other = { _id: 'org.couchdb.user:bob', _rev: '1-ffffffffffffffffffffffffffffffff', name: 'bob', type: 'user', roles: [], password: 'other' };
      assert.equal((await f.req('/_users/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [other] } })).status, 201);
      const refused = await f.req('/_session', { auth: bob });
      assert.equal(refused.status, 401);
      assert.match(String(obj(refused.json).reason), /conflicts must be resolved/);
      // The higher revision id wins: the replicated one, with password `other`; deleting the
      // loser resolves the conflict.
      const current = obj((await f.req('/_users/org.couchdb.user:bob?conflicts=true')).json);
      assert.equal(current._rev, other._rev);
      const losing = String(arr(current._conflicts)[0]);
      assert.equal((await f.req(`/_users/org.couchdb.user:bob?rev=${losing}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/_session', { auth: { user: 'bob', password: 'other' } })).status, 200);
    }));

  test('roles given by an admin reach userCtx; system roles and bad documents are refused', () =>
    withCouch(async (f) => {
      await usersDb(f);
      // `auth` undefined: the administrator; null: anonymous.
      const put = (id: string, body: Record<string, unknown>, auth: { user: string; password: string } | null | undefined) =>
        f.req(`/_users/${id}`, { method: 'PUT', ...(auth === undefined ? {} : { auth }), json: body });
      const reason = async (p: Promise<{ status: number; json: unknown }>, status: number): Promise<string> => {
        const r = await p;
        assert.equal(r.status, status, JSON.stringify(r.json));
        return String(obj(r.json).reason);
      };
      const base = { name: 'bob', password: 'x', roles: [], type: 'user' };
      assert.equal(await reason(put('org.couchdb.user:bobby', base, null), 403), 'Doc ID must be of the form org.couchdb.user:name');
      assert.equal(await reason(put('org.couchdb.user:bob', { ...base, type: 'admin' }, null), 403), 'doc.type must be user');
      assert.equal(await reason(put('org.couchdb.user:bob', { ...base, roles: 'x' }, null), 403), 'doc.roles must be an array');
      assert.equal(await reason(put('org.couchdb.user:bob', { ...base, roles: ['boss'] }, null), 403), 'Only _admin may set roles');
      assert.equal(await reason(put('org.couchdb.user:bob', { ...base, roles: ['_admin'] }, undefined), 403), 'No system roles (starting with underscore) in users db.');
      assert.equal(await reason(put('org.couchdb.user:_bob', { ...base, name: '_bob' }, undefined), 403), 'Username may not start with underscore.');
      // Any other id is refused too, the administrator's included, so no password sits in the clear.
      assert.equal(await reason(put('org.apache.couchdb:w00x', { ...base, name: 'w00x' }, undefined), 403), 'Doc ID must be of the form org.couchdb.user:name');
      assert.equal(await reason(put('notes', { text: 'hi' }, undefined), 403), 'doc.type must be user');
      assert.equal((await f.req('/_users/org.apache.couchdb:w00x')).status, 404);
      // The administrator gives roles; bob sees them and cannot change them.
      assert.equal((await f.req('/_users/org.couchdb.user:bob', { method: 'PUT', json: { ...base, password: bob.password, roles: ['editors'] } })).status, 201);
      assert.deepEqual(obj((await f.req('/_session', { auth: bob })).json).userCtx, { name: 'bob', roles: ['editors'] });
      const mine = obj((await f.req('/_users/org.couchdb.user:bob', { auth: bob })).json);
      assert.equal(await reason(put('org.couchdb.user:bob', { ...mine, roles: ['editors', 'boss'] }, bob), 403), 'Only _admin may edit roles');
      // Another user's document is not found, for reading and writing; nor are the listings open.
      await signUp(f, carol);
      assert.equal((await f.req('/_users/org.couchdb.user:carol', { auth: bob })).status, 404);
      assert.equal((await put('org.couchdb.user:carol', { name: 'carol', roles: [], type: 'user' }, bob)).status, 404);
      assert.equal((await f.req('/_users/org.couchdb.user:carol', { auth: null })).status, 404);
      // Deleting it too (cookie_auth_test): chttpd_db opens it as the requester first, so 404
      // not_found for a named user or anonymous, with the right rev or none, not a 403 or 409.
      const carolRev = String(obj((await f.req('/_users/org.couchdb.user:carol')).json)._rev);
      for (const auth of [bob, null]) {
        for (const query of [`?rev=${carolRev}`, '']) {
          const del = await f.req(`/_users/org.couchdb.user:carol${query}`, { method: 'DELETE', auth });
          assert.deepEqual([del.status, del.json], [404, { error: 'not_found', reason: 'missing' }], `${auth === null ? 'anonymous' : 'bob'} ${query}`);
        }
      }
      assert.equal((await f.req('/_users/_all_docs', { auth: bob })).status, 401, 'listings need an admin');
      assert.equal((await f.req('/_users/_design/x/_view/v', { auth: bob })).status, 403, 'design documents are forbidden');
      assert.equal((await f.req('/_users/_changes', { auth: null })).status, 401);
      const all = obj((await f.req('/_users/_all_docs')).json);
      assert.deepEqual((all.rows as Array<{ id: string }>).map((r) => r.id), ['_design/_auth', 'org.couchdb.user:bob', 'org.couchdb.user:carol']);
      assert.equal(obj((await f.req('/_users/_changes')).json).results instanceof Array, true);
      // Its security object stays as it is unless users_db_security_editable; and even an open one
      // lists nothing to non-admins (the other documents hold password hashes).
      const open = { admins: { names: ['speedy'], roles: [] }, members: { names: [], roles: [] } };
      const refused = await f.req('/_users/_security', { method: 'PUT', json: open });
      assert.deepEqual([refused.status, obj(refused.json).reason], [403, "You can't edit the security object of the user database."]);
      assert.equal((await f.req('/_node/_local/_config/couchdb/users_db_security_editable', { method: 'PUT', json: 'true' })).status, 200);
      assert.equal((await f.req('/_users/_security', { method: 'PUT', json: open })).status, 200);
      for (const auth of [null, bob]) {
        for (const path of ['/_users/_all_docs?include_docs=true', '/_users/_changes?include_docs=true']) {
          assert.equal([401, 403].includes((await f.req(path, { auth })).status), true, `${path} as ${auth === null ? 'anonymous' : 'bob'}`);
        }
        assert.equal([401, 403].includes((await f.req('/_users/_find', { method: 'POST', json: { selector: { type: 'user' } }, auth })).status), true);
      }
      assert.equal((await f.req('/_users/org.couchdb.user:bob', { auth: bob })).status, 200, 'a user still reads their own document');
      // A user may delete their own document, and is gone with it.
      const carolDoc = obj((await f.req('/_users/org.couchdb.user:carol', { auth: carol })).json);
      assert.equal((await f.req(`/_users/org.couchdb.user:carol?rev=${String(carolDoc._rev)}`, { method: 'DELETE', auth: carol })).status, 200);
      assert.equal((await f.req('/_session', { auth: carol })).status, 401);
    }));

  test('a _users user has no KV or REST access; a _users document cannot log in as a Couchbase user', () =>
    withCouch(async (f) => {
      await usersDb(f);
      await signUp(f, bob);
      const kv = await RawKv.connect(f.server.server.ports.kv);
      try {
        assert.equal((await authPlain(kv, bob.user, bob.password)).status, Status.AuthError);
      } finally {
        kv.close();
      }
      const rest = await request(`http://127.0.0.1:${f.server.server.ports.mgmt}/pools/default/buckets`, { headers: { authorization: basic(bob.user, bob.password) } });
      await rest.body.dump();
      assert.equal(rest.statusCode, 401);
      // The administrator's name in `_users` (written by the admin) is shadowed by the registry.
      const shadow = await f.req('/_users/org.couchdb.user:Administrator', { method: 'PUT', json: { name: 'Administrator', password: 'other', roles: [], type: 'user' } });
      assert.equal(shadow.status, 201);
      assert.equal((await f.req('/_session', { auth: { user: 'Administrator', password: 'other' } })).status, 401);
      // And a bob in the registry shadows the `_users` bob: his `_users` password stops working.
      await f.server.server.users.setBucketUser('bob', 'registry-pw', ['default']);
      assert.equal((await f.req('/_session', { auth: bob })).status, 401);
      assert.deepEqual(obj((await f.req('/_session', { auth: { user: 'bob', password: 'registry-pw' } })).json).userCtx, { name: 'bob', roles: ['bucket_full_access[default]'] });
    }));

  test('_design/_auth: written with its function when _users is created, not run twice, put back on start', () =>
    withCouch(async (f) => {
      await usersDb(f);
      const ddoc = await f.req('/_users/_design/_auth');
      assert.equal(ddoc.status, 200, ddoc.text);
      const body = obj(ddoc.json);
      assert.deepEqual(Object.keys(body), ['_id', '_rev', 'language', 'validate_doc_update']);
      assert.equal(body.language, 'javascript');
      assert.equal(body.validate_doc_update, AUTH_DB_DOC_VALIDATE_FUNCTION);
      assert.match(String(body.validate_doc_update), /^function \(newDoc, oldDoc, userCtx, secObj\) \{\n/);
      assert.match(String(body._rev), /^1-[0-9a-f]{32}$/);
      // Writes are validated by the native rules only: the function is not run.
      const stats = f.listener.face.design.stats;
      await signUp(f, bob);
      const refused = await f.req('/_users/org.couchdb.user:carol', { method: 'PUT', auth: null, json: { name: 'carol', password: 'x', roles: ['boss'], type: 'user' } });
      assert.deepEqual([refused.status, obj(refused.json).reason], [403, 'Only _admin may set roles']);
      // A scheme the function does not name is refused natively too.
      const scheme = await f.req('/_users/org.couchdb.user:dave', { method: 'PUT', json: { name: 'dave', roles: [], type: 'user', password_scheme: 'wooser' } });
      assert.deepEqual([scheme.status, obj(scheme.json).reason], [403, 'Password scheme `wooser` not supported.']);
      assert.equal(stats.vduRuns, 0);
      // A changed function is run like any validate_doc_update ...
      const changed = { ...body, validate_doc_update: 'function (newDoc) { if (newDoc.name === "eve") throw({forbidden: "no eve"}); }' };
      assert.equal((await f.req('/_users/_design/_auth', { method: 'PUT', json: changed })).status, 201);
      const eve = await f.req('/_users/org.couchdb.user:eve', { method: 'PUT', json: { name: 'eve', roles: [], type: 'user', password: 'e' } });
      assert.deepEqual([eve.status, obj(eve.json).reason], [403, 'no eve']);
      assert.equal(stats.vduRuns, 1);
      // ... until a start puts CouchDB's back (chttpd_auth_cache:ensure_auth_ddoc_exists).
      const { engine, users, authThrottle, logger, addresses } = f.server.server;
      const again = await startHttpFace({ engine, users, authThrottle, logger, host: addresses.host, ports: addresses.ports }, 0);
      await again.close();
      const restored = obj((await f.req('/_users/_design/_auth')).json);
      assert.equal(restored.validate_doc_update, AUTH_DB_DOC_VALIDATE_FUNCTION);
      assert.match(String(restored._rev), /^3-/);
      assert.equal((await f.req('/_users/org.couchdb.user:eve', { method: 'PUT', json: { name: 'eve', roles: [], type: 'user', password: 'e' } })).status, 201);
      assert.equal(stats.vduRuns, 1);
      // Non-admins cannot read it, as other design documents of _users.
      const hidden = await f.req('/_users/_design/_auth', { auth: bob });
      assert.deepEqual([hidden.status, obj(hidden.json).reason], [403, 'Only administrators can view design docs in the users database.']);
    }));

  test('_design/_auth\'s function, run as a validate_doc_update elsewhere, refuses what the native rules refuse', () =>
    withCouch(async (f) => {
      await usersDb(f);
      await signUp(f, bob);
      assert.equal((await f.req('/copy', { method: 'PUT' })).status, 201);
      assert.equal((await f.req('/copy/_security', { method: 'PUT', json: { members: { names: ['bob'] } } })).status, 200);
      assert.equal((await f.req('/copy/_design/auth', { method: 'PUT', json: { validate_doc_update: AUTH_DB_DOC_VALIDATE_FUNCTION } })).status, 201);
      const put = async (doc: Record<string, unknown>, auth?: { user: string; password: string }): Promise<[number, unknown]> => {
        const r = await f.req(`/copy/${encodeURIComponent(String(doc._id))}`, { method: 'PUT', json: doc, ...(auth ? { auth } : {}) });
        return [r.status, obj(r.json).reason ?? obj(r.json).ok];
      };
      const user = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ _id: `org.couchdb.user:${name}`, type: 'user', name, roles: [], ...extra });
      assert.deepEqual(await put({ ...user('a'), type: 'admin' }), [403, 'doc.type must be user']);
      assert.deepEqual(await put({ ...user('a'), _id: 'org.couchdb.user:b' }), [403, 'Doc ID must be of the form org.couchdb.user:name']);
      assert.deepEqual(await put(user('a', { roles: ['_boss'] })), [403, 'No system roles (starting with underscore) in users db.']);
      assert.deepEqual(await put(user('_a')), [403, 'Username may not start with underscore.']);
      assert.deepEqual(await put(user('a:b')), [403, 'Character `:` is not allowed in usernames.']);
      assert.deepEqual(await put(user('a', { password_scheme: 'rot13' })), [403, 'Password scheme `rot13` not supported.']);
      assert.deepEqual(await put(user('a', { password_scheme: 'pbkdf2', iterations: '10' })), [403, 'iterations must be a number.']);
      assert.deepEqual(await put(user('bob', { roles: ['boss'] }), bob), [403, 'Only _admin may set roles']);
      assert.deepEqual(await put(user('a', { roles: ['_metrics', 'x'] })), [201, true]);
      assert.deepEqual(await put(user('bob'), bob), [201, true]);
    }));
});
