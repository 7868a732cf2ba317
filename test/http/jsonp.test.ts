/**
 * JSONP (couch_httpd initialize_jsonp/start_jsonp/end_jsonp), as CouchDB's jsonp_test.exs checks
 * it: off by default; with `[chttpd] allow_jsonp = true` a `?callback=` wraps JSON replies, whole
 * (documents, errors) and streamed (views, `_changes`), as `/* CouchDB *\/cb(...);` in
 * `application/javascript`, and a callback with other characters than validate_callback's is 400.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch, type CouchFixture } from './helpers.js';

/** The callback name and its JSON argument, as jsonp_test.exs parse_callback reads them. */
function parseCallback(text: string): { fun: string; param: Record<string, unknown> } {
  const m = /^\/\* CouchDB \*\/(\w+)\(([\s\S]*)\);\n$/.exec(text);
  if (m === null) throw new Error(`not a JSONP body: ${JSON.stringify(text)}`);
  return { fun: m[1]!, param: obj(JSON.parse(m[2]!)) };
}

async function allowJsonp(f: CouchFixture, value: string): Promise<void> {
  const r = await f.req('/_node/_local/_config/chttpd/allow_jsonp', { method: 'PUT', json: value });
  assert.equal(r.status, 200);
}

describe('JSONP', () => {
  test('off by default: the callback is ignored', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/0', { method: 'PUT', json: { a: 0 } });
      const r = await f.req('/db/0?callback=jsonp_no_chunk');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(obj(r.json)._id, '0');
    }));

  test('allowed: documents and errors are wrapped; a bad callback is 400 invalid_callback', () =>
    withCouch(async (f) => {
      await createDb(f);
      const created = obj((await f.req('/db/0', { method: 'PUT', json: { a: 0, b: 0 } })).json);
      await allowJsonp(f, 'true');
      const r = await f.req('/db/0?callback=jsonp_no_chunk');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/javascript');
      const { fun, param } = parseCallback(r.text);
      assert.equal(fun, 'jsonp_no_chunk');
      assert.deepEqual([param._id, param._rev], [created.id, created.rev]);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      // validate_callback: letters, digits, `.`, `_`, `[`, `]`.
      assert.equal((await f.req('/db/0?callback=ns.cbs[0]')).status, 200);
      const bad = await f.req('/db/0?callback=jsonp_no_chunk%22');
      assert.deepEqual([bad.status, bad.json], [400, { error: 'bad_request', reason: 'invalid_callback' }]);
      const missing = await f.req('/db/nope?callback=cb');
      assert.equal(missing.status, 404);
      assert.deepEqual(parseCallback(missing.text), { fun: 'cb', param: { error: 'not_found', reason: 'missing' } });
      await allowJsonp(f, 'false');
      assert.equal((await f.req('/db/0?callback=cb%22')).headers['content-type'], 'application/json');
    }));

  test('allowed: views and _changes are wrapped too', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/_design/test', { method: 'PUT', json: { views: { all_docs: { map: 'function(doc) { if (doc.a) emit(null, doc.a); }' } } } });
      await f.req('/db/0', { method: 'PUT', json: { a: 0, b: 0 } });
      await f.req('/db/1', { method: 'PUT', json: { a: 1, b: 1 } });
      await allowJsonp(f, 'true');
      const view = await f.req('/db/_design/test/_view/all_docs?callback=jsonp_chunk');
      assert.equal(view.status, 200);
      assert.equal(view.headers['content-type'], 'application/javascript');
      const v = parseCallback(view.text);
      assert.deepEqual([v.fun, v.param.total_rows], ['jsonp_chunk', 1]);
      assert.equal((await f.req("/db/_design/test/_view/all_docs?callback=jsonp_chunk'")).status, 400);
      const changes = await f.req('/db/_changes?callback=jsonp_chunk');
      assert.equal(changes.headers['content-type'], 'application/javascript');
      const c = /^\/\* CouchDB \*\/jsonp_chunk\(([\s\S]*)\);\n$/.exec(changes.text);
      assert.ok(c, changes.text);
      assert.equal((obj(JSON.parse(c[1]!)).results as unknown[]).length, 3);
    }));
});
