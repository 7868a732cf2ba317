/**
 * Routing of both HTTP faces on the shared kernel (src/web/), end to end over real sockets:
 * CouchDB's 405 with `Allow`, HEAD served by GET, encoded slashes in document ids and attachment
 * names, `_design%2F` / `_local/` spellings, bad percent-encoding, trailing slashes; and the REST
 * face's 404 for unknown methods and paths before any credentials are asked for.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';
import { startMgmtServer } from '../mgmt/rest-helpers.js';

describe('CouchDB face routing', () => {
  test('405 method_not_allowed with Allow; HEAD answered by the GET route without a body', () =>
    withCouch(async (f) => {
      await createDb(f);
      const wrong = await f.req('/db/_changes', { method: 'PUT' });
      assert.equal(wrong.status, 405);
      assert.deepEqual(wrong.json, { error: 'method_not_allowed', reason: 'Only GET,POST,HEAD allowed' });
      assert.equal(wrong.headers.allow, 'GET,POST,HEAD');
      // The literal `_session` route answers, not `PUT /{db}` (which would create a database).
      const session = await f.req('/_session', { method: 'PUT' });
      assert.equal(session.status, 405);
      assert.equal(session.headers.allow, 'GET,POST,DELETE,HEAD');
      assert.equal((await f.req('/nope/x/y/z', { method: 'PATCH' })).status, 405);
      assert.equal((await f.req('/db/d', { method: 'PUT', json: { a: 1 } })).status, 201);
      const head = await f.req('/db/d', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.ok(head.headers.etag);
    }));

  test('X-HTTP-Method-Override turns a POST into the named method, and nothing else', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/db/over', { method: 'POST', json: { a: 1 }, headers: { 'x-http-method-override': 'PUT' } });
      assert.equal(put.status, 201, put.text);
      const rev = String(obj(put.json).rev);
      const get = await f.req('/db/over', { method: 'POST', headers: { 'x-http-method-override': 'GET' } });
      assert.equal(obj(get.json).a, 1);
      // Only a POST is overridden, and only to a known method.
      assert.equal((await f.req('/db/over', { method: 'GET', headers: { 'x-http-method-override': 'DELETE' } })).status, 200);
      // PATCH is no method to override to: the request stays a POST (a form upload, which wants multipart/form-data).
      assert.equal((await f.req('/db/over', { method: 'POST', headers: { 'x-http-method-override': 'PATCH' } })).status, 415);
      // Nor HEAD: the response to the POST on the wire carries the whole body its Content-Length
      // announces (a HEAD answer would leave the client waiting for it).
      const all = await f.req('/db/_all_docs', { method: 'POST', json: {}, headers: { 'x-http-method-override': 'HEAD' } });
      assert.equal(all.status, 200);
      assert.equal(Number(all.headers['content-length'] ?? all.body.length), all.body.length);
      assert.equal(arr(obj(all.json).rows).length, 1);
      const del = await f.req(`/db/over?rev=${rev}`, { method: 'POST', headers: { 'x-http-method-override': 'DELETE' } });
      assert.equal(del.status, 200, del.text);
      assert.equal((await f.req('/db/over')).status, 404);
    }));

  test("a literal '+' in the path is a space ([chttpd] decode_plus_to_space, CouchDB's default); %2B is '+'", () =>
    withCouch(async (f) => {
      await createDb(f);
      assert.equal(obj((await f.req('/db/a+b', { method: 'PUT', json: {} })).json).id, 'a b');
      assert.equal(obj((await f.req('/db/c%2Bd', { method: 'PUT', json: {} })).json).id, 'c+d');
      assert.equal((await f.req('/db/a%20b')).status, 200);
      assert.equal((await f.req('/_node/_local/_config/chttpd/decode_plus_to_space', { method: 'PUT', json: 'false' })).status, 200);
      assert.equal(obj((await f.req('/db/e+f', { method: 'PUT', json: {} })).json).id, 'e+f');
    }));

  test('_rewrite is the rewrite handler (rewrite.test.ts), after the database checks; design attachments keep other names', () =>
    withCouch(async (f) => {
      await createDb(f);
      const dd = await f.req('/db/_design/d', { method: 'PUT', json: { rewrites: [{ from: '/a', to: '../../a' }] } });
      assert.equal(dd.status, 201);
      assert.equal((await f.req('/db/a', { method: 'PUT', json: { n: 1 } })).status, 201);
      for (const method of ['GET', 'HEAD']) assert.equal((await f.req('/db/_design/d/_rewrite/a', { method })).status, 200, method);
      assert.deepEqual((await f.req('/db/_design/d/_rewrite/x/y', { method: 'POST' })).json, { error: 'not_found', reason: 'missing' });
      assert.equal((await f.req('/nodb/_design/d/_rewrite/a')).status, 404);
      assert.equal((await f.req('/db/_design/d/_rewrite/a', { auth: null })).status, 401);
      // Attachments of a design document are still served under other names.
      const att = await f.req(`/db/_design/d/show.txt?rev=${String(obj(dd.json).rev)}`, { method: 'PUT', body: 'z', headers: { 'content-type': 'text/plain' } });
      assert.equal(att.status, 201);
      assert.equal((await f.req('/db/_design/d/show.txt')).text, 'z');
    }));

  test('encoded slashes stay inside their segment: ids, attachment names, _design and _local', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/db/a%2Fb', { method: 'PUT', json: { v: 1 } });
      assert.equal(put.status, 201);
      const rev = String(obj(put.json).rev);
      const att = await f.req(`/db/a%2Fb/dir/file%2Etxt?rev=${rev}`, { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } });
      assert.equal(att.status, 201);
      const got = await f.req('/db/a%2Fb?attachments=false');
      assert.deepEqual(Object.keys(obj(obj(got.json)._attachments)), ['dir/file.txt']);
      assert.equal((await f.req('/db/a%2Fb/dir%2Ffile.txt')).text, 'hello');
      // `_design%2Fx` is `_design/x`; an attachment of a design document too.
      const dd = await f.req('/db/_design%2Fx', { method: 'PUT', json: {} });
      assert.equal(dd.status, 201);
      assert.equal(obj((await f.req('/db/_design/x')).json)._id, '_design/x');
      const ddAtt = await f.req(`/db/_design/x/a/b?rev=${String(obj(dd.json).rev)}`, { method: 'PUT', body: 'z', headers: { 'content-type': 'text/plain' } });
      assert.equal(ddAtt.status, 201);
      assert.equal((await f.req('/db/_design%2Fx/a%2Fb')).text, 'z');
      // `_local/` ids may contain '/' too, encoded: `/db/_local/p/q` names an attachment, which
      // `_local` documents do not have (CouchDB's 400).
      assert.equal((await f.req('/db/_local/p%2Fq', { method: 'PUT', json: { n: 1 } })).status, 201);
      assert.equal(obj((await f.req('/db/_local%2Fp%2Fq')).json)._id, '_local/p/q');
      const asAttachment = await f.req('/db/_local/p/q');
      assert.equal(asAttachment.status, 400);
      assert.deepEqual(asAttachment.json, { error: 'bad_request', reason: '_local documents do not accept attachments.' });
      // `_local` alone, however spelled, names no document: chttpd_db's bad_request, in any method.
      for (const path of ['/db/_local', '/db/_local/', '/db/_local%2F']) {
        for (const method of ['PUT', 'GET', 'DELETE', 'POST']) {
          const bare = await f.req(path, method === 'PUT' || method === 'POST' ? { method, json: {} } : { method });
          assert.equal(bare.status, 400, `${method} ${path}`);
          assert.deepEqual(bare.json, { error: 'bad_request', reason: 'Invalid _local document id.' }, `${method} ${path}`);
        }
      }
      assert.equal((await f.req('/nodb/_local', { method: 'PUT', json: {} })).status, 404);
      // A trailing slash is ignored; a bad escape is 400.
      assert.equal(obj((await f.req('/db/a%2Fb/')).json)._id, 'a/b');
      const bad = await f.req('/db/%E2%2F');
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json, { error: 'bad_request', reason: 'Invalid URL encoding' });
    }));
});

describe('REST face routing', () => {
  test('unknown paths are 404 (other methods 405) before credentials; encoded slashes stay in a segment', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      for (const [method, path] of [['POST', '/pools'], ['GET', '/nowhere'], ['GET', '/pools/%ZZ']] as const) {
        const r = await mgmt.call(method, path, { creds: null });
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.text, 'Requested resource not found.\r\n');
      }
      // menelaus_web get_action: an unrouted PUT/DELETE/PATCH is 405, GET/HEAD/POST 404.
      assert.equal((await mgmt.call('PUT', '/pools/default/buckets', { creds: null })).status, 405);
      assert.equal((await mgmt.get('/pools', null)).status, 401);
      assert.equal((await mgmt.call('HEAD', '//pools///default/')).status, 200);
      // `a%2Fb` is one segment, so `/pools/default/buckets/:bucket` matches and asks for credentials
      // (401); the same path with a real slash matches no route (404 before credentials).
      assert.equal((await mgmt.get('/pools/default/buckets/a%2Fb', null)).status, 401);
      assert.equal((await mgmt.get('/pools/default/buckets/a/b', null)).status, 404);
    } finally {
      await t.close();
    }
  });
});
