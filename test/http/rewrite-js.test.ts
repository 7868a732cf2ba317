/**
 * `_rewrite` with a rewrite function (chttpd_rewrite.erl, couch_query_servers:rewrite/3, run in
 * the design sandbox), ported from CouchDB's test/elixir/test/rewrite_js_test.exs (the database
 * without a '/' in its name: a Freshet database is a bucket, whose name cannot hold one), plus
 * the checks couch_query_servers makes of a function's answer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { FOO_TXT, FUNCTIONS, saveDocs } from './rewrite-fixture.js';

const REWRITES = `function(req) {
  prefix = req.path[4];
  if (prefix === 'foo') return 'foo.txt';
  if (prefix === 'foo2') return {path: 'foo.txt', method: 'GET'};
  if (prefix === 'hello') {
    if (req.method != 'PUT') return;
    id = req.path[5];
    return {path: '_update/hello/' + id};
  }
  if (prefix === 'welcome') {
    if (req.path.length == 6) {
      name = req.path[5];
      return {path: '_show/welcome', query: {'name': name}};
    }
    return '_show/welcome';
  }
  if (prefix === 'welcome2') return {path: '_show/welcome', query: {'name': 'user'}};
  if (prefix === 'welcome3') {
    name = req.path[5];
    if (req.method == 'PUT') path = '_update/welcome2/' + name;
    else if (req.method == 'GET') path = '_show/welcome2/' + name;
    else return;
    return path;
  }
  if (prefix === 'welcome4') return {path: '_show/welcome3', query: {name: req.path[5]}};
  if (prefix === 'welcome5') {
    rest = req.path.slice(5).join('/');
    return {path: '_show/' + rest, query: {name: rest}};
  }
  if (prefix === 'basicView') return {path: '_view/basicView'};
  var sub = req.path.slice(4).join('/');
  if (sub === 'simpleForm/basicView') return {path: '_list/simpleForm/basicView'};
  if (sub === 'simpleForm/complexView') return {path: '_list/simpleForm/complexView', query: {key: JSON.stringify([1,2])}};
  if (sub === 'simpleForm/complexView2') return {path: '_list/simpleForm/complexView', query: {key: JSON.stringify(['test', {}])}};
  if (sub === 'simpleForm/complexView3') return {path: '_list/simpleForm/complexView', query: {key: JSON.stringify(['test', ['test', 'essai']])}};
  if (sub === 'simpleForm/complexView4') return {path: '_list/simpleForm/complexView2', query: {key: JSON.stringify({"c": 1})}};
  if (sub === 'simpleForm/sendBody1') {
    return {path: '_list/simpleForm/complexView2', method: 'POST', query: {limit: '1'},
            headers: {'Content-type': 'application/json'}, body: JSON.stringify({keys: [{"c": 1}]})};
  }
  if (prefix === 'db') return {path: '../../' + req.path.slice(5).join('/')};
}`;

async function putDdoc(f: CouchFixture, ddoc: Record<string, unknown>): Promise<void> {
  const r = await f.req(`/db/${String(ddoc._id)}`, { method: 'PUT', json: ddoc });
  assert.equal(r.status, 201, r.text);
}

describe('_rewrite with a function (rewrite_js_test.exs)', () => {
  test('basic js rewrites', () =>
    withCouch(async (f) => {
      await createDb(f);
      await putDdoc(f, { _id: '_design/test', language: 'javascript', _attachments: FOO_TXT, rewrites: REWRITES, ...FUNCTIONS });
      await saveDocs(f, 'db');
      const R = '/db/_design/test/_rewrite';
      for (const path of ['foo', 'foo2']) {
        const r = await f.req(`${R}/${path}`);
        assert.equal(r.text, 'This is a base64 encoded text');
        assert.equal(r.headers['content-type'], 'text/plain');
      }
      const docId = String(obj((await f.req('/db', { method: 'POST', json: { word: 'plankton', name: 'Rusty' } })).json).id);
      const hello = await f.req(`${R}/hello/${docId}`, { method: 'PUT' });
      assert.equal(hello.status, 201);
      assert.equal(hello.text, 'hello doc');
      assert.match(String(hello.headers['content-type']), /charset=utf-8/);
      assert.equal(obj((await f.req(`/db/${docId}`)).json).world, 'hello');
      // The function answers nothing for a GET of hello: 404 rewrite_error.
      assert.deepEqual((await f.req(`${R}/hello/${docId}`)).json, { error: 'rewrite_error', reason: 'Invalid path.' });

      assert.equal((await f.req(`${R}/welcome?name=user`)).text, 'Welcome user');
      assert.equal((await f.req(`${R}/welcome/user`)).text, 'Welcome user');
      assert.equal((await f.req(`${R}/welcome2`)).text, 'Welcome user');
      const made = await f.req(`${R}/welcome3/test`, { method: 'PUT' });
      assert.equal(made.status, 201);
      assert.equal(made.text, 'New World');
      assert.match(String(made.headers['content-type']), /charset=utf-8/);
      assert.equal((await f.req(`${R}/welcome3/test`)).text, 'Welcome test');
      assert.equal((await f.req(`${R}/welcome4/user`)).text, 'Welcome user');
      assert.equal((await f.req(`${R}/welcome5/welcome3`)).text, 'Welcome welcome3');
      const view = await f.req(`${R}/basicView`);
      assert.equal(view.status, 200);
      assert.equal(obj(view.json).total_rows, 9);

      const lists: Array<[string, RegExp]> = [
        ['complexView', /FirstKey: 1,2/],
        ['complexView2', /Value: doc 3/],
        ['complexView3', /Value: doc 4/],
        ['complexView4', /Value: doc 5/],
        // COUCHDB-1612: a GET rewritten to a POST with a body of the function's.
        ['sendBody1', /Value: doc 5 LineNo: 1/],
      ];
      for (const [path, expected] of lists) {
        const r = await f.req(`${R}/simpleForm/${path}`);
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        assert.match(r.text, expected, path);
      }
      const meta = await f.req(`${R}/db/_design/test?meta=true`);
      assert.equal(meta.status, 200);
      assert.equal(obj(meta.json)._id, '_design/test');
      assert.ok('_revs_info' in obj(meta.json));
    }));

  test('early response', () =>
    withCouch(async (f) => {
      await createDb(f);
      const fn = `function(req) {
        status = parseInt(req.query.status);
        return {code: status, body: JSON.stringify({"status": status}), headers: {'x-foo': 'bar', 'Content-Type': 'application/json'}};
      }`;
      await putDdoc(f, { _id: '_design/response', rewrites: fn });
      const ok = await f.req('/db/_design/response/_rewrite?status=200');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-foo'], 'bar');
      assert.equal(obj(ok.json).status, 200);
      const legal = await f.req('/db/_design/response/_rewrite?status=451');
      assert.equal(legal.status, 451);
      assert.equal(legal.headers['content-type'], 'application/json');
      assert.equal((await f.req('/db/_design/response/_rewrite?status=500')).status, 500);
      // No status: a code that is no integer is refused (validate_rewrite_response).
      assert.deepEqual((await f.req('/db/_design/response/_rewrite')).json, { error: 'rewrite_error', reason: 'bad code' });
    }));

  test('a path relative to the server (no secure_rewrites check for functions)', () =>
    withCouch(async (f) => {
      await createDb(f);
      await putDdoc(f, { _id: '_design/relative', rewrites: "function(req){ return '../../../_uuids' }" });
      const r = await f.req('/db/_design/relative/_rewrite/uuids');
      assert.equal(r.status, 200);
      assert.equal(arr(obj(r.json).uuids).length, 1);
    }));

  test('loop', () =>
    withCouch(async (f) => {
      await createDb(f);
      await putDdoc(f, { _id: '_design/loop', rewrites: "function(req) { return '_rewrite/loop'; }" });
      const r = await f.req('/db/_design/loop/_rewrite/loop');
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'bad_request', reason: 'Exceeded rewrite recursion limit' });
    }));

  test('requests with body preserve the query string rewrite', () =>
    withCouch(async (f) => {
      await createDb(f);
      await putDdoc(f, { _id: '_design/qs', rewrites: "function (r) { return {path: '../../_changes', query: {'filter': '_doc_ids'}};};" });
      for (const id of ['qs1', 'qs2']) assert.equal((await f.req(`/db/${id}`, { method: 'PUT', json: {} })).status, 201);
      const r = await f.req('/db/_design/qs/_rewrite', { method: 'POST', json: { doc_ids: ['qs2'] } });
      assert.equal(r.status, 200, r.text);
      const results = arr(obj(r.json).results);
      assert.equal(results.length, 1);
      assert.equal(obj(results[0]).id, 'qs2');
    }));
});

describe('_rewrite functions: the answer as couch_query_servers checks it', () => {
  test('req, bad members, bad answers and errors of the function', () =>
    withCouch(async (f) => {
      await createDb(f);
      const fn = `function(req) {
        var what = req.path[4];
        if (what === 'req') return {code: 200, body: JSON.stringify({method: req.method, path: req.path, query: req.query, body: req.body,
          keys: Object.keys(req).sort(), user: req.userCtx.name, header: req.headers['X-Test']})};
        if (what === 'number') return 5;
        if (what === 'array') return ['a'];
        if (what === 'nopath') return {method: 'GET'};
        if (what === 'badpath') return {path: 5};
        if (what === 'badquery') return {path: 'x', query: {limit: 1}};
        if (what === 'throw') throw {error: 'teapot', reason: 'short and stout'};
        if (what === 'echo') return {code: 202, headers: {'X-Echo': 'yes'}};
        return '';
      }`;
      await putDdoc(f, { _id: '_design/f', rewrites: fn });
      const seen = obj((await f.req('/db/_design/f/_rewrite/req?a=1', { method: 'POST', body: 'hi', headers: { 'X-Test': 't', 'content-type': 'text/plain' } })).json);
      assert.deepEqual(seen, {
        method: 'POST', path: ['db', '_design', 'f', '_rewrite', 'req'], query: { a: '1' }, body: 'hi',
        keys: ['body', 'cookie', 'headers', 'method', 'path', 'peer', 'query', 'raw_path', 'requested_path', 'secObj', 'userCtx'],
        user: 'Administrator', header: 't',
      });
      const expectations: Array<[string, number, unknown]> = [
        ['number', 500, { error: 'rewrite_error', reason: 'bad rewrite' }],
        ['array', 500, { error: 'rewrite_error', reason: 'bad rewrite' }],
        ['nopath', 500, { error: 'rewrite_error', reason: 'Rewrite result must produce a new path.' }],
        ['badpath', 500, { error: 'rewrite_error', reason: 'bad path' }],
        ['badquery', 500, { error: 'rewrite_error', reason: 'object key/value must be strings <<"limit">>=1' }],
        ['throw', 500, { error: 'teapot', reason: 'short and stout' }],
        ['empty', 404, { error: 'rewrite_error', reason: 'Invalid path.' }],
      ];
      for (const [what, status, body] of expectations) {
        const r = await f.req(`/db/_design/f/_rewrite/${what}`);
        assert.equal(r.status, status, what);
        assert.deepEqual(r.json, body, what);
      }
      // An early answer without a body sends the request's own.
      const echo = await f.req('/db/_design/f/_rewrite/echo', { method: 'PUT', body: 'back' });
      assert.equal(echo.status, 202);
      assert.equal(echo.headers['x-echo'], 'yes');
      assert.equal(echo.text, 'back');
      await putDdoc(f, { _id: '_design/bad', rewrites: 'not a function' });
      assert.equal((await f.req('/db/_design/bad/_rewrite/x')).status, 400);
    }));
});
