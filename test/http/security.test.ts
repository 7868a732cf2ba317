/**
 * `/{db}/_security` over HTTP: CouchDB 3's admin-only default, members and admins by name and by
 * role, enforced on documents, `_all_docs`, `_changes`, `_bulk_get`, design documents and
 * replication (PouchDB as a member and as a non-member, and the server's own replicator with bare
 * database names); and the Couchbase roles as CouchDB rights (a data_reader cannot write).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';

const bob = { user: 'bob', password: 'bob-secret' };
const carol = { user: 'carol', password: 'carol-secret' };
let counter = 0;

async function withUsers(f: CouchFixture): Promise<void> {
  assert.equal((await f.req('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' })).status, 200);
  assert.equal((await f.req('/_users', { method: 'PUT' })).status, 201);
  for (const [who, roles] of [[bob, ['readers']], [carol, []]] as const) {
    const r = await f.req(`/_users/org.couchdb.user:${who.user}`, { method: 'PUT', json: { name: who.user, password: who.password, roles, type: 'user' } });
    assert.equal(r.status, 201, r.text);
  }
}

function setSecurity(f: CouchFixture, db: string, sec: unknown, auth?: { user: string; password: string }) {
  return f.req(`/${db}/_security`, { method: 'PUT', json: sec, ...(auth ? { auth } : {}) });
}

describe('_security', () => {
  test('a new database is admin-only (CouchDB 3 default); members read and write, others are refused', () =>
    withCouch(async (f) => {
      await withUsers(f);
      await createDb(f, 'sec');
      assert.deepEqual((await f.req('/sec/_security')).json, { members: { roles: ['_admin'] }, admins: { roles: ['_admin'] } });
      assert.equal((await f.req('/sec', { auth: bob })).status, 403);
      assert.deepEqual((await f.req('/sec/x', { auth: null })).json, { error: 'unauthorized', reason: 'You are not authorized to access this db.' });
      // A database that does not exist is 404 for anyone, as chttpd answers.
      assert.deepEqual([(await f.req('/nosuch', { auth: null })).status, (await f.req('/nosuch/x', { auth: bob })).status], [404, 404]);
      assert.equal((await setSecurity(f, 'sec', { admins: { names: [], roles: [] }, members: { names: ['bob'], roles: [] } })).status, 200);
      assert.equal((await f.req('/sec/a', { method: 'PUT', json: { v: 1 }, auth: bob })).status, 201);
      assert.equal((await f.req('/sec/a', { auth: bob })).status, 200);
      assert.equal(arr(obj((await f.req('/sec/_all_docs', { auth: bob })).json).rows).length, 1);
      assert.equal(arr(obj((await f.req('/sec/_changes', { auth: bob })).json).results).length, 1);
      const bulkGet = await f.req('/sec/_bulk_get', { method: 'POST', json: { docs: [{ id: 'a' }] }, auth: bob });
      assert.equal(bulkGet.status, 200);
      for (const [path, method, json] of [
        ['/sec/a', 'GET', undefined],
        ['/sec/_all_docs', 'GET', undefined],
        ['/sec/_changes', 'GET', undefined],
        ['/sec/_bulk_get', 'POST', { docs: [{ id: 'a' }] }],
        ['/sec/b', 'PUT', { v: 2 }],
        ['/sec/_bulk_docs', 'POST', { docs: [{ _id: 'c' }] }],
      ] as const) {
        const denied = await f.req(path, { method, ...(json ? { json } : {}), auth: carol });
        assert.deepEqual([denied.status, denied.json], [403, { error: 'forbidden', reason: 'You are not allowed to access this db.' }], `${method} ${path}`);
        assert.equal((await f.req(path, { method, ...(json ? { json } : {}), auth: null })).status, 401, `anonymous ${method} ${path}`);
      }
      // Design documents and the security object are for db admins.
      const ddoc = await f.req('/sec/_design/d', { method: 'PUT', json: { views: {} }, auth: bob });
      assert.deepEqual([ddoc.status, ddoc.json], [403, { error: 'forbidden', reason: 'You are not a db or server admin.' }]);
      const inBulk = arr((await f.req('/sec/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_design/e' }, { _id: 'f' }] }, auth: bob })).json);
      assert.deepEqual(inBulk.map((r) => obj(r).error ?? 'ok'), ['forbidden', 'ok']);
      assert.equal((await setSecurity(f, 'sec', {}, bob)).status, 403);
      // A Mango index is a design document: members may query, only db admins create or delete.
      const index = await f.req('/sec/_index', { method: 'POST', json: { index: { fields: ['v'] } }, auth: bob });
      assert.deepEqual([index.status, index.json], [403, { error: 'forbidden', reason: 'You are not a db or server admin.' }]);
      assert.equal((await f.req('/sec/_find', { method: 'POST', json: { selector: { v: 1 } }, auth: bob })).status, 200);
      // Roles count as names do: bob's `readers` role made an admin.
      assert.equal((await setSecurity(f, 'sec', { admins: { roles: ['readers'] }, members: { names: ['bob'] } })).status, 200);
      assert.equal((await f.req('/sec/_design/d', { method: 'PUT', json: { views: {} }, auth: bob })).status, 201);
      assert.equal((await setSecurity(f, 'sec', { admins: {}, members: { names: ['bob'], roles: ['x'] } }, bob)).status, 200);
      assert.equal((await setSecurity(f, 'sec', { members: { names: 'bob' } })).status, 400);
      // `readers` is the old name of `members` (couch_db:get_members/1): not a public database.
      assert.equal((await setSecurity(f, 'sec', { admins: { names: [] }, readers: { names: ['carol'] } })).status, 200);
      assert.equal((await f.req('/sec/anon', { method: 'PUT', json: {}, auth: null })).status, 401);
      assert.equal((await f.req('/sec/a', { auth: bob })).status, 403);
      assert.equal((await f.req('/sec/a', { auth: carol })).status, 200);
      assert.equal((await setSecurity(f, 'sec', { readers: { names: 'carol' } })).status, 400);
      // An empty security object makes the database public, as in CouchDB.
      assert.equal((await setSecurity(f, 'sec', {})).status, 200);
      assert.equal((await f.req('/sec/a', { auth: null })).status, 200);
      assert.equal((await f.req('/sec/a', { auth: carol })).status, 200);
    }));

  test('Couchbase roles are CouchDB rights: data_reader reads only, reader+writer write, full access administers', () =>
    withCouch(async (f) => {
      await createDb(f, 'cb');
      assert.equal((await f.req('/cb/a', { method: 'PUT', json: { v: 1 } })).status, 201);
      const users = f.server.server.users;
      await users.setBucketUser('reader', 'pw-reader', [{ role: 'data_reader', bucket: 'cb' }]);
      await users.setBucketUser('rw', 'pw-rw', [{ role: 'data_reader', bucket: 'cb' }, { role: 'data_writer', bucket: 'cb' }]);
      await users.setBucketUser('full', 'pw-full', ['cb']);
      const reader = { user: 'reader', password: 'pw-reader' };
      const rw = { user: 'rw', password: 'pw-rw' };
      const full = { user: 'full', password: 'pw-full' };
      assert.deepEqual(obj((await f.req('/_session', { auth: reader })).json).userCtx, { name: 'reader', roles: ['data_reader[cb]'] });
      assert.equal((await f.req('/cb/a', { auth: reader })).status, 200);
      assert.equal((await f.req('/cb/_bulk_get', { method: 'POST', json: { docs: [{ id: 'a' }] }, auth: reader })).status, 200);
      const write = await f.req('/cb/b', { method: 'PUT', json: {}, auth: reader });
      assert.deepEqual([write.status, obj(write.json).error], [403, 'forbidden']);
      assert.equal(obj(arr((await f.req('/cb/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'c' }] }, auth: reader })).json)[0]).error, 'forbidden');
      assert.equal((await f.req('/cb/b', { method: 'PUT', json: {}, auth: rw })).status, 201);
      assert.equal((await f.req('/cb/_design/d', { method: 'PUT', json: {}, auth: rw })).status, 403);
      assert.equal((await f.req('/cb/_security', { method: 'PUT', json: {}, auth: rw })).status, 403);
      assert.equal((await f.req('/cb/_design/d', { method: 'PUT', json: {}, auth: full })).status, 201);
      assert.equal((await f.req('/cb/_security', { method: 'PUT', json: { members: { names: ['nobody'] } }, auth: full })).status, 200);
      // The security object never takes a bucket role away (RBAC is the Couchbase side's word).
      assert.equal((await f.req('/cb/a', { auth: reader })).status, 200);
    }));

  test('replication obeys _security: PouchDB as a member syncs, as a non-member fails; _replicate checks both ends', () =>
    withCouch(async (f) => {
      await withUsers(f);
      await createDb(f, 'sec');
      await createDb(f, 'other');
      assert.equal((await f.req('/sec/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }] } })).status, 201);
      assert.equal((await setSecurity(f, 'sec', { members: { roles: ['readers'] } })).status, 200);
      const remote = (who: { user: string; password: string }) => new PouchDB(`${f.base}/sec`, { auth: { username: who.user, password: who.password }, skip_setup: true });
      const local = new PouchDB(`sec-${process.pid}-${++counter}`, { adapter: 'memory' });
      const pulled = await local.replicate.from(remote(bob));
      assert.equal(pulled.docs_written, 3);
      await local.put({ _id: 'from-bob' });
      await local.put({ _id: '_design/nope', views: {} });
      const pushed = await local.replicate.to(remote(bob));
      assert.equal(pushed.docs_written, 1);
      assert.equal(pushed.doc_write_failures, 1, 'the design document is refused');
      const carolLocal = new PouchDB(`sec-${process.pid}-${++counter}`, { adapter: 'memory' });
      await assert.rejects(async () => carolLocal.replicate.from(remote(carol)), (err: { status?: number }) => err.status === 403);
      // The server's replicator, bare names: bob may read `sec` but not write `other`.
      const denied = await f.req('/_replicate', { method: 'POST', json: { source: 'sec', target: 'other' }, auth: bob });
      assert.equal(denied.status, 403, denied.text);
      assert.equal((await setSecurity(f, 'other', { members: { names: ['bob'] } })).status, 200);
      const ok = await f.req('/_replicate', { method: 'POST', json: { source: 'sec', target: 'other' }, auth: bob });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(obj((await f.req('/other')).json).doc_count, 4);
      const byCarol = await f.req('/_replicate', { method: 'POST', json: { source: 'sec', target: 'other' }, auth: carol });
      assert.equal(byCarol.status, 403, byCarol.text);
    }));
});
