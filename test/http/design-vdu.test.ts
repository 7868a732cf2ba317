/**
 * validate_doc_update over HTTP (src/design/validate.ts, src/couchdb/doc-write.ts): 403/401 on
 * PUT, POST, DELETE, `_bulk_docs` (per document, also `new_edits:false`) and attachment PUT and
 * DELETE; the arguments CouchDB passes (newDoc, oldDoc, userCtx, secObj); every design document's
 * function votes; design documents themselves are not validated; a changed design document takes
 * effect at once; and replication into a validating database (PouchDB push, `_replicate` to a
 * local target) reports the refusals as `denied` and `doc_write_failures`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN } from '../helpers/server.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB, type PouchDatabase } from './pouch.js';
import { put } from './keyspace-fixture.js';

const RULES = `function (newDoc, oldDoc, userCtx, secObj) {
  if (newDoc.forbid) throw({forbidden: 'no forbid'});
  if (newDoc.auth) throw({unauthorized: 'need auth'});
  if (newDoc._deleted && oldDoc && oldDoc.locked) throw({forbidden: 'locked'});
  if (oldDoc && oldDoc.frozen) throw({forbidden: 'frozen ' + oldDoc._id + ' ' + oldDoc._rev});
  if (newDoc._attachments && newDoc._attachments['bad.txt']) throw({forbidden: 'bad attachment'});
  if (oldDoc && oldDoc._attachments && oldDoc._attachments['keep.txt'] && !(newDoc._attachments && newDoc._attachments['keep.txt'])) throw({forbidden: 'keep'});
  if (newDoc.check) {
    var ok = userCtx.db === 'db' && userCtx.name === 'Administrator' && userCtx.roles.indexOf('_admin') >= 0 &&
      typeof secObj === 'object' && oldDoc === null && newDoc._id === 'checked' && newDoc._rev === undefined;
    if (!ok) throw({forbidden: 'bad arguments ' + JSON.stringify([userCtx, secObj, oldDoc])});
  }
}`;
const SECOND = "function (newDoc) { if (newDoc.second) throw({forbidden: 'second says no'}); if (newDoc.objmsg) throw({unauthorized: {field: 'objmsg', n: 1}}); }";

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  await put(f, '/db/_design/rules', { validate_doc_update: RULES });
  await put(f, '/db/_design/second', { validate_doc_update: SECOND });
}

function expectError(r: { status: number; json: unknown; text: string }, status: number, error: string, reason: string): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(r.json, { error, reason });
}

describe('validate_doc_update', () => {
  test('PUT, POST and DELETE: forbidden is 403, unauthorized 401, with the function message', () =>
    withCouch(async (f) => {
      await seed(f);
      expectError(await f.req('/db/x', { method: 'PUT', json: { forbid: true } }), 403, 'forbidden', 'no forbid');
      expectError(await f.req('/db/x', { method: 'PUT', json: { auth: true } }), 401, 'unauthorized', 'need auth');
      expectError(await f.req('/db', { method: 'POST', json: { forbid: true } }), 403, 'forbidden', 'no forbid');
      expectError(await f.req('/db', { method: 'POST', json: { second: true } }), 403, 'forbidden', 'second says no');
      assert.equal((await f.req('/db/x')).status, 404);
      // The arguments as CouchDB passes them.
      assert.equal((await f.req('/db/checked', { method: 'PUT', json: { check: true } })).status, 201);
      // DELETE sees the deletion and the old document.
      const locked = await put(f, '/db/locked', { locked: true });
      expectError(await f.req(`/db/locked?rev=${locked}`, { method: 'DELETE' }), 403, 'forbidden', 'locked');
      // oldDoc is the parent revision.
      const frozen = await put(f, '/db/frozen', { frozen: true });
      expectError(await f.req('/db/frozen', { method: 'PUT', json: { _rev: frozen, n: 1 } }), 403, 'forbidden', `frozen frozen ${frozen}`);
      const plain = await put(f, '/db/plain', { n: 1 });
      assert.equal((await f.req(`/db/plain?rev=${plain}`, { method: 'DELETE' })).status, 200);
      // A thrown object is the reason as it is (chttpd error_info({unauthorized, Msg})).
      const objmsg = await f.req('/db/o', { method: 'PUT', json: { objmsg: true } });
      assert.equal(objmsg.status, 401);
      assert.deepEqual(objmsg.json, { error: 'unauthorized', reason: { field: 'objmsg', n: 1 } });
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'o', objmsg: true }] } });
      assert.deepEqual(bulk.json, [{ id: 'o', error: 'unauthorized', reason: { field: 'objmsg', n: 1 } }]);
    }));

  test('_bulk_docs: per document, with new_edits true and false', () =>
    withCouch(async (f) => {
      await seed(f);
      const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'ok1' }, { _id: 'no1', forbid: true }, { _id: 'no2', auth: true }, { _id: 'ok2' }] } });
      assert.equal(r.status, 201);
      const rows = arr(r.json).map(obj);
      assert.deepEqual(rows.map((x) => x.ok ?? x.error), [true, 'forbidden', 'unauthorized', true]);
      assert.deepEqual(rows[1], { id: 'no1', error: 'forbidden', reason: 'no forbid' });
      const repl = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: { new_edits: false, docs: [{ _id: 'r1', _rev: '1-aaa', forbid: true }, { _id: 'r2', _rev: '1-bbb' }] },
      });
      // Only the failures, each naming its revision (chttpd_db update_doc_result_to_json({{Id, Rev}, Error})).
      assert.deepEqual(arr(repl.json), [{ id: 'r1', rev: '1-aaa', error: 'forbidden', reason: 'no forbid' }]);
      assert.equal((await f.req('/db/r1')).status, 404);
      assert.equal((await f.req('/db/r2')).status, 200);
      // A replicated revision already stored is not validated again (nothing is written).
      const again = await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'r2', _rev: '1-bbb', forbid: true }] } });
      assert.deepEqual(arr(again.json), []);
    }));

  test('attachments: PUT and DELETE are validated', () =>
    withCouch(async (f) => {
      await seed(f);
      const rev = await put(f, '/db/d', { n: 1 });
      const bad = await f.req(`/db/d/bad.txt?rev=${rev}`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
      expectError(bad, 403, 'forbidden', 'bad attachment');
      const keep = await f.req(`/db/d/keep.txt?rev=${rev}`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
      assert.equal(keep.status, 201, keep.text);
      const del = await f.req(`/db/d/keep.txt?rev=${String(obj(keep.json).rev)}`, { method: 'DELETE' });
      expectError(del, 403, 'forbidden', 'keep');
    }));

  test('secObj is the database security object', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/sec', {
        validate_doc_update: "function (n, o, u, secObj) { if ((secObj.members && secObj.members.names || []).indexOf('marker') < 0) throw({forbidden: JSON.stringify(secObj)}); }",
      });
      const refused = await f.req('/db/a', { method: 'PUT', json: {} });
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(JSON.parse(String(obj(refused.json).reason)), { members: { roles: ['_admin'] }, admins: { roles: ['_admin'] } });
      assert.equal((await f.req('/db/_security', { method: 'PUT', json: { admins: { names: [], roles: [] }, members: { names: ['marker'], roles: [] } } })).status, 200);
      assert.equal((await f.req('/db/a', { method: 'PUT', json: {} })).status, 201);
    }));

  test('design documents are not validated; a changed design document takes effect at once', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.equal((await f.req('/db/_design/other', { method: 'PUT', json: { forbid: true } })).status, 201);
      expectError(await f.req('/db/s', { method: 'PUT', json: { second: true } }), 403, 'forbidden', 'second says no');
      const rev = obj((await f.req('/db/_design/second')).json)._rev as string;
      await put(f, '/db/_design/second', { _rev: rev, validate_doc_update: "function (n) { if (n.second === 2) throw({forbidden: 'two'}); }" });
      assert.equal((await f.req('/db/s', { method: 'PUT', json: { second: true } })).status, 201);
      expectError(await f.req('/db/s2', { method: 'PUT', json: { second: 2 } }), 403, 'forbidden', 'two');
      const rev2 = obj((await f.req('/db/_design/second')).json)._rev as string;
      assert.equal((await f.req(`/db/_design/second?rev=${rev2}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/db/s2', { method: 'PUT', json: { second: 2 } })).status, 201);
      // A broken function refuses writes with CouchDB's compilation error.
      await put(f, '/db/_design/broken', { validate_doc_update: 'function (n {' });
      const r = await f.req('/db/z', { method: 'PUT', json: {} });
      assert.equal(r.status, 400);
      assert.equal(obj(r.json).error, 'compilation_error');
      // Design documents are still written, so an admin can fix or remove the broken one.
      assert.equal((await f.req('/db/_design/another', { method: 'PUT', json: { language: 'javascript' } })).status, 201);
      const broken = obj((await f.req('/db/_design/broken')).json)._rev as string;
      await put(f, '/db/_design/broken', { _rev: broken, validate_doc_update: '"not a function"' });
      assert.equal((await f.req('/db/z', { method: 'PUT', json: {} })).status, 400);
      const again = obj((await f.req('/db/_design/broken')).json)._rev as string;
      assert.equal((await f.req(`/db/_design/broken?rev=${again}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/db/z', { method: 'PUT', json: {} })).status, 201);
    }));
});

interface Emitter {
  on(event: string, fn: (x: unknown) => void): Emitter;
}

describe('replication into a validating database', () => {
  test('PouchDB push: denied events and doc_write_failures', () =>
    withCouch(async (f) => {
      await seed(f);
      const src: PouchDatabase = new PouchDB(`vdu-${process.pid}-${Date.now()}`, { adapter: 'memory' });
      await src.bulkDocs([{ _id: 'fine1' }, { _id: 'bad1', forbid: true }, { _id: 'bad2', auth: true }, { _id: 'fine2' }]);
      const remote = new PouchDB(`${f.base}/db`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
      const denied: unknown[] = [];
      const rep = src.replicate.to(remote);
      (rep as unknown as Emitter).on('denied', (e) => denied.push(e));
      const result = await rep;
      assert.equal(result.doc_write_failures, 2);
      assert.equal(result.docs_written, 2);
      assert.equal(denied.length, 2);
      assert.deepEqual(denied.map((d) => obj(d).id).sort(), ['bad1', 'bad2']);
      assert.equal((await f.req('/db/fine2')).status, 200);
      assert.equal((await f.req('/db/bad1')).status, 404);
      await src.destroy();
    }));

  test('_replicate to a local target counts doc_write_failures', () =>
    withCouch(async (f) => {
      await seed(f);
      await createDb(f, 'src');
      await f.req('/src/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'l1' }, { _id: 'l2', forbid: true }, { _id: 'l3' }] } });
      const r = await f.req('/_replicate', { method: 'POST', json: { source: 'src', target: 'db' } });
      assert.equal(r.status, 200, r.text);
      const h = obj(arr(obj(r.json).history)[0]);
      assert.equal(h.doc_write_failures, 1);
      assert.equal(h.docs_written, 2);
      assert.equal((await f.req('/db/l2')).status, 404);
      assert.equal((await f.req('/db/l3')).status, 200);
    }));
});
