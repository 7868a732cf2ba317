/**
 * `_rewrite` with an array of rules (chttpd_rewrite.erl), ported from CouchDB's
 * test/elixir/test/rewrite_test.exs (the database without a '/' in its name: a Freshet database
 * is a bucket, whose name cannot hold one), plus the answers chttpd_rewrite gives around it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { FOO_TXT, FUNCTIONS, saveDocs, setConfig } from './rewrite-fixture.js';

const RULES = [
  { from: 'foo', to: 'foo.txt' },
  { from: 'foo2', to: 'foo.txt', method: 'GET' },
  { from: 'hello/:id', to: '_update/hello/:id', method: 'PUT' },
  { from: '/welcome', to: '_show/welcome' },
  { from: '/welcome/:name', to: '_show/welcome', query: { name: ':name' } },
  { from: '/welcome2', to: '_show/welcome', query: { name: 'user' } },
  { from: '/welcome3/:name', to: '_update/welcome2/:name', method: 'PUT' },
  { from: '/welcome3/:name', to: '_show/welcome2/:name', method: 'GET' },
  { from: '/welcome4/*', to: '_show/welcome3', query: { name: '*' } },
  { from: '/welcome5/*', to: '_show/*', query: { name: '*' } },
  { from: 'basicView', to: '_view/basicView' },
  { from: 'simpleForm/basicView', to: '_list/simpleForm/basicView' },
  { from: 'simpleForm/basicViewFixed', to: '_list/simpleForm/basicView', query: { startkey: 3, endkey: 8 } },
  { from: 'simpleForm/basicViewPath/:start/:end', to: '_list/simpleForm/basicView', query: { startkey: ':start', endkey: ':end' }, formats: { start: 'int', end: 'int' } },
  { from: 'simpleForm/complexView', to: '_list/simpleForm/complexView', query: { key: [1, 2] } },
  { from: 'simpleForm/complexView2', to: '_list/simpleForm/complexView', query: { key: ['test', {}] } },
  { from: 'simpleForm/complexView3', to: '_list/simpleForm/complexView', query: { key: ['test', ['test', 'essai']] } },
  { from: 'simpleForm/complexView4', to: '_list/simpleForm/complexView2', query: { key: { c: 1 } } },
  { from: 'simpleForm/complexView5/:a/:b', to: '_list/simpleForm/complexView3', query: { key: [':a', ':b'] } },
  { from: 'simpleForm/complexView6', to: '_list/simpleForm/complexView3', query: { key: [':a', ':b'] } },
  // "format" (not "formats"), as CouchDB's test has it: the value stays the string "true".
  { from: 'simpleForm/complexView7/:a/:b', to: '_view/complexView3', query: { key: [':a', ':b'], include_docs: ':doc' }, format: { doc: 'bool' } },
  { from: '/', to: '_view/basicView' },
  { from: '/db/*', to: '../../*' },
];

async function setup(f: CouchFixture): Promise<void> {
  await createDb(f);
  const ddoc = { _id: '_design/test', language: 'javascript', _attachments: FOO_TXT, rewrites: RULES, ...FUNCTIONS };
  assert.equal((await f.req('/db/_design/test', { method: 'PUT', json: ddoc })).status, 201);
  await saveDocs(f, 'db');
}

const R = '/db/_design/test/_rewrite';

describe('_rewrite with rules (rewrite_test.exs)', () => {
  test('basic rewrites: attachments, updates, shows, views and lists, relative paths', () =>
    withCouch(async (f) => {
      await setup(f);
      for (const path of ['foo', 'foo2']) {
        const r = await f.req(`${R}/${path}`);
        assert.equal(r.text, 'This is a base64 encoded text');
        assert.equal(r.headers['content-type'], 'text/plain');
      }
      const posted = obj((await f.req('/db', { method: 'POST', json: { word: 'plankton', name: 'Rusty' } })).json);
      const docId = String(posted.id);
      const hello = await f.req(`${R}/hello/${docId}`, { method: 'PUT' });
      assert.equal(hello.status, 201);
      assert.equal(hello.text, 'hello doc');
      assert.match(String(hello.headers['content-type']), /charset=utf-8/);
      const edited = obj((await f.req(`/db/${docId}`)).json);
      assert.equal(edited.world, 'hello');
      // The update function saw the client's user through the rewrite.
      assert.deepEqual(obj(edited.edited_by).name, 'Administrator');

      assert.equal((await f.req(`${R}/welcome?name=user`)).text, 'Welcome user');
      assert.equal((await f.req(`${R}/welcome/user`)).text, 'Welcome user');
      assert.equal((await f.req(`${R}/welcome2`)).text, 'Welcome user');
      const made = await f.req(`${R}/welcome3/test`, { method: 'PUT' });
      assert.equal(made.status, 201);
      assert.equal(made.text, 'New World');
      assert.match(String(made.headers['content-type']), /charset=utf-8/);
      assert.equal((await f.req(`${R}/welcome3/test`)).text, 'Welcome test');
      // chttpd_rewrite binds no `*` variable: a query value "*" stays "*".
      assert.equal((await f.req(`${R}/welcome4/user`)).text, 'Welcome *');
      assert.equal((await f.req(`${R}/welcome5/welcome3`)).text, 'Welcome *');

      for (const path of [`${R}/basicView`, R, `${R}/`]) {
        const r = await f.req(path);
        assert.equal(r.status, 200, path);
        assert.equal(obj(r.json).total_rows, 9);
      }

      const ranged = [`${R}/simpleForm/basicView?startkey=3&endkey=8`, `${R}/simpleForm/basicViewFixed`, `${R}/simpleForm/basicViewFixed?startkey=4`, `${R}/simpleForm/basicViewPath/3/8`];
      for (const path of ranged) {
        const r = await f.req(path);
        assert.equal(r.status, 200, path);
        assert.doesNotMatch(r.text, /Key: 1 /, path);
        assert.match(r.text, /FirstKey: 3 LastKey: 8/, path);
      }
      const complex: Array<[string, RegExp]> = [
        ['complexView', /FirstKey: 1,2/],
        ['complexView2', /Value: doc 3/],
        ['complexView3', /Value: doc 4/],
        ['complexView4', /Value: doc 5/],
        ['complexView5/test/essai', /Value: doc 4/],
        ['complexView6?a=test&b=essai', /Value: doc 4/],
      ];
      for (const [path, expected] of complex) {
        const r = await f.req(`${R}/simpleForm/${path}`);
        assert.equal(r.status, 200, path);
        assert.match(r.text, expected, path);
      }
      const withDocs = await f.req(`${R}/simpleForm/complexView7/test/essai?doc=true`);
      assert.equal(withDocs.status, 200, withDocs.text);
      assert.ok('doc' in obj(arr(obj(withDocs.json).rows)[0]));

      // COUCHDB-2031: path normalization versus query parameters.
      const meta = await f.req(`${R}/db/_design/test?meta=true`);
      assert.equal(meta.status, 200);
      assert.equal(obj(meta.json)._id, '_design/test');
      assert.ok('_revs_info' in obj(meta.json));

      assert.equal((await f.req('/db/_design/test2', { method: 'PUT', json: { rewrites: [{ from: 'uuids', to: '../../../_uuids' }] } })).status, 201);
      const insecure = await f.req('/db/_design/test2/_rewrite/uuids');
      assert.equal(insecure.status, 500);
      assert.deepEqual(insecure.json, { error: 'insecure_rewrite_rule', reason: 'too many ../.. segments' });
    }));

  test('a path relative to the server with [httpd] secure_rewrites = false', () =>
    withCouch(async (f) => {
      await createDb(f);
      await setConfig(f, 'httpd', 'secure_rewrites', 'false');
      assert.equal((await f.req('/db/_design/test2', { method: 'PUT', json: { rewrites: [{ from: 'uuids', to: '../../../_uuids' }] } })).status, 201);
      const r = await f.req('/db/_design/test2/_rewrite/uuids');
      assert.equal(r.status, 200);
      assert.equal(arr(obj(r.json).uuids).length, 1);
    }));

  test('loop detection: [httpd] rewrite_limit, counted per client request', () =>
    withCouch(async (f) => {
      await createDb(f);
      await setConfig(f, 'httpd', 'rewrite_limit', '2');
      await setConfig(f, 'httpd', 'secure_rewrites', 'false');
      const ddocs = [
        { _id: '_design/loop', rewrites: [{ from: 'loop', to: '_rewrite/loop' }] },
        { _id: '_design/test', _attachments: FOO_TXT, rewrites: [{ from: 'foo', to: 'foo.txt' }] },
        { _id: '_design/chain', rewrites: [{ from: 'a', to: '_rewrite/b' }, { from: 'b', to: '../test/foo.txt' }] },
      ];
      for (const d of ddocs) assert.equal((await f.req(`/db/${d._id}`, { method: 'PUT', json: d })).status, 201);
      const loop = await f.req('/db/_design/loop/_rewrite/loop');
      assert.equal(loop.status, 400);
      assert.deepEqual(loop.json, { error: 'bad_request', reason: 'Exceeded rewrite recursion limit' });
      // Serial requests are not counted as a loop.
      for (let i = 0; i < 5; i++) assert.equal((await f.req('/db/_design/test/_rewrite/foo')).status, 200);
      // Two rewrites in one request are within a limit of 2.
      const chain = await f.req('/db/_design/chain/_rewrite/a');
      assert.equal(chain.status, 200);
      assert.equal(chain.text, 'This is a base64 encoded text');
    }));
});

describe('_rewrite: chttpd_rewrite around the rules', () => {
  test('no design document, no rewrites, no matching rule, a rule without `to`', () =>
    withCouch(async (f) => {
      await createDb(f);
      assert.deepEqual((await f.req('/db/_design/none/_rewrite/x')).json, { error: 'not_found', reason: 'missing' });
      assert.equal((await f.req('/nodb/_design/none/_rewrite/x')).status, 404);
      assert.equal((await f.req('/db/_design/plain', { method: 'PUT', json: { views: {} } })).status, 201);
      const plain = await f.req('/db/_design/plain/_rewrite/x');
      assert.equal(plain.status, 404);
      assert.deepEqual(plain.json, { error: 'rewrite_error', reason: 'Invalid path.' });
      const rules = [{ from: 'a', to: '../../a', method: 'GET' }, 'not a rule'];
      assert.equal((await f.req('/db/_design/r', { method: 'PUT', json: { rewrites: rules } })).status, 201);
      const unmatched = await f.req('/db/_design/r/_rewrite/b');
      assert.equal(unmatched.status, 404);
      assert.deepEqual(unmatched.json, { error: 'not_found', reason: 'missing' });
      // A rule of another method does not match.
      assert.deepEqual((await f.req('/db/_design/r/_rewrite/a', { method: 'DELETE' })).json, { error: 'not_found', reason: 'missing' });
      assert.equal((await f.req('/db/_design/t', { method: 'PUT', json: { rewrites: [{ from: 'x', to: 'y' }, { from: 'a' }] } })).status, 201);
      const noTarget = await f.req('/db/_design/t/_rewrite/x');
      assert.equal(noTarget.status, 500);
      assert.deepEqual(noTarget.json, { error: 'error', reason: 'invalid_rewrite_target' });
    }));

  test('the rewritten request keeps method, body, headers and user; bindings become query parameters', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rules = [
        { from: 'docs/:id', to: '../../:id' },
        { from: 'all', to: '../../_all_docs' },
        { from: 'echo/:id/*', to: '_show/echo/:id' },
      ];
      const shows = { echo: 'function (doc, req) { return { json: { path: req.path, query: req.query } }; }' };
      assert.equal((await f.req('/db/_design/r', { method: 'PUT', json: { rewrites: rules, shows } })).status, 201);
      const put = await f.req('/db/_design/r/_rewrite/docs/a%20b', { method: 'PUT', json: { n: 1 } });
      assert.equal(put.status, 201, put.text);
      assert.equal(obj(put.json).id, 'a b');
      assert.equal(obj((await f.req('/db/_design/r/_rewrite/docs/a+b')).json).n, 1);
      const all = obj((await f.req(`/db/_design/r/_rewrite/all?include_docs=true&keys=${encodeURIComponent('["a b"]')}`)).json);
      assert.equal(obj(obj(arr(all.rows)[0]).doc).n, 1);
      const echo = obj((await f.req('/db/_design/r/_rewrite/echo/x%2Fy/1/2?q=v')).json);
      assert.deepEqual(echo.path, ['db', '_design', 'r', '_show', 'echo', 'x/y']);
      assert.deepEqual(echo.query, { q: 'v', id: 'x/y' });
      // Anonymous on an admin-only database: refused before any rule runs.
      assert.equal((await f.req('/db/_design/r/_rewrite/all', { auth: null })).status, 401);
    }));
});
