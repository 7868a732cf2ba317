/**
 * Show, list and update functions over HTTP (CouchDB api/ddoc/render.rst): what the function
 * gets, the response object's shapes and defaults, `provides` negotiation, list functions over a
 * view's rows, and update functions saving documents through the normal write path
 * (validate_doc_update, conflicts).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const DDOC = {
  shows: {
    text: 'function (doc, req) { return "doc " + (doc ? doc._id + " at " + doc._revisions.start : "none") + ", id " + req.id; }',
    json: 'function (doc, req) { return { code: 203, headers: { "X-Show": "yes" }, json: { query: req.query, method: req.method, conflicts: doc && doc._conflicts } }; }',
    raw: 'function (doc, req) { return { base64: "aGVsbG8=", headers: { "Content-Type": "text/plain" } }; }',
    offer: 'function (doc, req) { provides("json", function () { return { body: JSON.stringify({ id: doc._id }) }; }); provides("html", function () { return "<p>" + doc._id + "</p>"; }); }',
    chunks: 'function (doc, req) { start({ "X-Started": "1" }); send("a"); send("b"); return "c"; }',
    bad: 'function (doc, req) { return { bogus: 1 }; }',
    none: 'function (doc, req) { return 42; }',
    badHeader: 'function (doc, req) { return { headers: { "X-Bad": "a\\nb" }, body: "x" }; }',
    idOf: 'function (doc, req) { return doc._id; }',
    etagged: 'function (doc, req) { return { headers: { Etag: "skipped" }, body: "x" }; }',
  },
  updates: {
    bump: 'function (doc, req) { if (!doc) return [{ _id: req.id || req.uuid, n: 0, via: req.method }, "made"]; doc.n += 1; doc.form = req.form; return [doc, { json: { n: doc.n } }]; }',
    echo: 'function (doc, req) { return [null, { body: "got " + req.body, code: 299 }]; }',
    noid: 'function (doc, req) { return [{ n: 1 }, "x"]; }',
    redirect: 'function (doc, req) { return [{ _id: "moved" }, { code: 302, headers: { Location: "/db/moved" }, body: "" }]; }',
  },
};

async function setup(f: CouchFixture): Promise<void> {
  await createDb(f);
  assert.equal((await f.req('/db/_design/r', { method: 'PUT', json: DDOC })).status, 201);
  assert.equal((await f.req('/db/a', { method: 'PUT', json: { n: 1 } })).status, 201);
}

describe('show functions', () => {
  test('the document (or null) and req.id; a string is an HTML body with CouchDB 3 headers', () =>
    withCouch(async (f) => {
      await setup(f);
      const withDoc = await f.req('/db/_design/r/_show/text/a');
      assert.equal(withDoc.status, 200);
      assert.equal(withDoc.text, 'doc a at 1, id a');
      assert.equal(withDoc.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(withDoc.headers['content-security-policy'], 'sandbox');
      assert.equal(withDoc.headers.vary, 'Accept');
      assert.equal((await f.req('/db/_design/r/_show/text')).text, 'doc none, id null');
      assert.equal((await f.req('/db/_design/r/_show/text/missing')).text, 'doc none, id missing');
      const head = await f.req('/db/_design/r/_show/text/a', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
    }));

  test('an ETag of the design document, the document, Accept and the user (chttpd_show show_etag): 304, and the function cannot set it', () =>
    withCouch(async (f) => {
      await setup(f);
      const first = await f.req('/db/_design/r/_show/text/a');
      const etag = String(first.headers.etag);
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      assert.ok(first.headers.server);
      assert.equal(first.headers['cache-control'], 'must-revalidate');
      assert.equal((await f.req('/db/_design/r/_show/text/a', { headers: { 'if-none-match': etag } })).status, 304);
      assert.notEqual((await f.req('/db/_design/r/_show/text/a', { headers: { accept: 'text/plain' } })).headers.etag, etag, 'Accept is part of it');
      const rev = String(obj((await f.req('/db/a')).json)._rev);
      await f.req('/db/a', { method: 'PUT', json: { _rev: rev, v: 2 } });
      assert.equal((await f.req('/db/_design/r/_show/text/a', { headers: { 'if-none-match': etag } })).status, 200, 'a new revision, a new ETag');
      const own = await f.req('/db/_design/r/_show/etagged/a');
      assert.match(String(own.headers.etag), /^"[0-9a-f]{32}"$/);
    }));

  test('response objects: code, headers, json, base64; unknown members and non-objects fail', () =>
    withCouch(async (f) => {
      await setup(f);
      const json = await f.req('/db/_design/r/_show/json/a?x=1', { method: 'POST', body: 'b', headers: { 'content-type': 'text/plain' } });
      assert.equal(json.status, 203);
      assert.equal(json.headers['x-show'], 'yes');
      assert.equal(json.headers['content-type'], 'application/json');
      assert.deepEqual(json.json, { query: { x: '1' }, method: 'POST' });
      const raw = await f.req('/db/_design/r/_show/raw');
      assert.equal(raw.text, 'hello');
      assert.equal(raw.headers['content-type'], 'text/plain');
      const bad = await f.req('/db/_design/r/_show/bad');
      assert.equal(bad.status, 500);
      assert.equal(obj(bad.json).error, 'external_response_error');
      const badHeader = await f.req('/db/_design/r/_show/badHeader');
      assert.equal(badHeader.status, 500);
      assert.equal(obj(badHeader.json).error, 'external_response_error');
      const none = await f.req('/db/_design/r/_show/none');
      assert.equal(none.status, 500);
      assert.equal(obj(none.json).error, 'render_error');
    }));

  test('provides: ?format=, then Accept, else the first offered; no match is 406', () =>
    withCouch(async (f) => {
      await setup(f);
      const byFormat = await f.req('/db/_design/r/_show/offer/a?format=json');
      assert.deepEqual(byFormat.json, { id: 'a' });
      assert.equal(byFormat.headers['content-type'], 'application/json');
      const byAccept = await f.req('/db/_design/r/_show/offer/a', { headers: { accept: 'text/html;q=0.9, application/json;q=0.1' } });
      assert.equal(byAccept.text, '<p>a</p>');
      assert.equal(byAccept.headers['content-type'], 'text/html; charset=utf-8');
      const refused = await f.req('/db/_design/r/_show/offer/a', { headers: { accept: 'application/xml' } });
      assert.equal(refused.status, 406);
      assert.equal(obj(refused.json).error, 'not_acceptable');
    }));

  test('send and start build the body and headers; conflicts are shown to the function', () =>
    withCouch(async (f) => {
      await setup(f);
      const chunks = await f.req('/db/_design/r/_show/chunks');
      assert.equal(chunks.text, 'abc');
      assert.equal(chunks.headers['x-started'], '1');
      assert.equal((await f.req('/db/a?new_edits=false', { method: 'PUT', json: { _rev: '1-zzz', n: 9 } })).status, 201);
      const conflicted = obj((await f.req('/db/_design/r/_show/json/a')).json);
      assert.equal((conflicted.conflicts as unknown[]).length, 1);
    }));

  test('a missing function or design document is 404', () =>
    withCouch(async (f) => {
      await setup(f);
      const fn = await f.req('/db/_design/r/_show/nope/a');
      assert.equal(fn.status, 404);
      assert.deepEqual(fn.json, { error: 'not_found', reason: 'missing shows function nope on design doc _design/r' });
      assert.equal((await f.req('/db/_design/none/_show/text/a')).status, 404);
      // No function named: chttpd's "Invalid path.".
      for (const [path, method] of [['/db/_design/r/_show/', 'GET'], ['/db/_design/r/_update/', 'POST'], ['/db/_design/r/_list', 'GET'], ['/db/_design/r/_view/', 'GET']] as const) {
        const r = await f.req(path, { method });
        assert.deepEqual([r.status, r.json], [404, { error: 'not_found', reason: 'Invalid path.' }], path);
      }
      // render.js runShow: reading a field of the null document of a missing id is that 404.
      const missingDoc = await f.req('/db/_design/r/_show/idOf/nosuch');
      assert.deepEqual([missingDoc.status, missingDoc.json], [404, { error: 'not_found', reason: 'document not found' }]);
      assert.equal((await f.req('/db/_design/r/_show/idOf/a')).text, 'a');
    }));
});

describe('update functions', () => {
  test('a returned document is saved: 201 with its new rev; the function sees the form', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/r/_update/bump/a', { method: 'POST', body: 'k=v&w=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.status, 201);
      assert.deepEqual(r.json, { n: 2 });
      const rev = String(r.headers['x-couch-update-newrev']);
      assert.match(rev, /^2-/);
      assert.equal(r.headers['x-couch-id'], 'a');
      const saved = obj((await f.req('/db/a')).json);
      assert.equal(saved._rev, rev);
      assert.equal(saved.n, 2);
      assert.deepEqual(saved.form, { k: 'v', w: '2' });
      assert.equal(saved._revisions, undefined);
    }));

  test('without a document: req.id or a fresh req.uuid names the new one', () =>
    withCouch(async (f) => {
      await setup(f);
      const named = await f.req('/db/_design/r/_update/bump/new%2Fone', { method: 'PUT' });
      assert.equal(named.status, 201);
      assert.equal(named.text, 'made');
      assert.equal(named.headers['x-couch-id'], 'new%2Fone');
      assert.equal(obj((await f.req('/db/new%2Fone')).json).via, 'PUT');
      const fresh = await f.req('/db/_design/r/_update/bump', { method: 'POST' });
      assert.equal(fresh.status, 201);
      const id = String(fresh.headers['x-couch-id']);
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.equal(obj((await f.req(`/db/${id}`)).json).n, 0);
    }));

  test('a code the function gives wins over 201 and 200 (COUCHDB-648); GET is refused', () =>
    withCouch(async (f) => {
      await setup(f);
      const echo = await f.req('/db/_design/r/_update/echo/a', { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
      assert.equal(echo.status, 299);
      const moved = await f.req('/db/_design/r/_update/redirect', { method: 'POST' });
      assert.equal(moved.status, 302);
      assert.equal(moved.headers.location, '/db/moved');
      assert.match(String(moved.headers['x-couch-update-newrev']), /^1-/);
      assert.equal((await f.req('/db/moved')).status, 200);
      assert.equal(echo.text, 'got payload');
      assert.equal((await f.req('/db/_design/r/_update/echo/a')).status, 405);
      const noid = await f.req('/db/_design/r/_update/noid', { method: 'POST' });
      assert.equal(noid.status, 400);
      assert.equal(obj(noid.json).error, 'illegal_docid');
    }));

  test('validate_doc_update and revision conflicts apply to what an update function saves', () =>
    withCouch(async (f) => {
      await setup(f);
      const vdu = { validate_doc_update: 'function (n, o) { if (n.n > 2) throw { forbidden: "too big" }; }' };
      assert.equal((await f.req('/db/_design/v', { method: 'PUT', json: vdu })).status, 201);
      assert.equal((await f.req('/db/_design/r/_update/bump/a', { method: 'POST' })).status, 201);
      const refused = await f.req('/db/_design/r/_update/bump/a', { method: 'POST' });
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.json, { error: 'forbidden', reason: 'too big' });
      assert.equal(obj((await f.req('/db/a')).json).n, 2);
    }));

});

describe('list functions', () => {
  const LISTS = {
    views: { byType: { map: 'function (doc) { if (doc.type) emit(doc.type, doc.n); }', reduce: '_sum' } },
    lists: {
      lines: 'function (head, req) { start({ headers: { "X-List": "1" } }); var row, out = []; while ((row = getRow())) out.push(row.key + "=" + row.value); send(JSON.stringify({ head: head, rows: out })); return "."; }',
      csv: 'function (head, req) { provides("csv", function () { var r; while ((r = getRow())) send(r.id + "," + r.value + "\\n"); }); }',
    },
  };
  async function listSetup(f: CouchFixture): Promise<void> {
    await createDb(f);
    assert.equal((await f.req('/db/_design/l', { method: 'PUT', json: LISTS })).status, 201);
    const docs = [{ _id: 'a', n: 1, type: 'x' }, { _id: 'b', n: 2, type: 'y' }, { _id: 'c', n: 3, type: 'x' }];
    assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
  }

  test('a list function over _all_docs', () =>
    withCouch(async (f) => {
      await listSetup(f);
      const r = await f.req('/db/_design/l/_list/lines/_all_docs?limit=2');
      assert.equal(r.status, 200, r.text);
      const out = JSON.parse(r.text.slice(0, -1)) as { head: { total_rows: number }; rows: string[] };
      assert.equal(out.head.total_rows, 4);
      // Rows as _all_docs gives them: ids in byte order, each value its {rev}.
      assert.deepEqual(out.rows, ['_design/l=[object Object]', 'a=[object Object]']);
    }));

  test('the view query runs first; getRow hands out its rows; start sets the head', () =>
    withCouch(async (f) => {
      await listSetup(f);
      const r = await f.req('/db/_design/l/_list/lines/byType?reduce=false');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-list'], '1');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.text, '{"head":{"total_rows":3,"offset":0},"rows":["x=1","x=3","y=2"]}.');
      assert.equal((await f.req('/db/_design/l/_list/lines/byType?group=true')).text, '{"head":{},"rows":["x=4","y=2"]}.');
      // POST carries the view's parameters; a view of another design document is named before it.
      const posted = await f.req('/db/_design/r2/_list/lines/l/byType', { method: 'POST', json: { keys: ['y'], reduce: false } });
      assert.equal(posted.status, 404);
      assert.equal((await f.req('/db/_design/r2', { method: 'PUT', json: { lists: LISTS.lists } })).status, 201);
      const other = await f.req('/db/_design/r2/_list/lines/l/byType', { method: 'POST', json: { keys: ['y'], reduce: false } });
      assert.equal(other.text, '{"head":{"total_rows":3,"offset":0},"rows":["y=2"]}.');
    }));

  test('provides picks the format; errors of the view and the function are CouchDB\'s', () =>
    withCouch(async (f) => {
      await listSetup(f);
      const csv = await f.req('/db/_design/l/_list/csv/byType?reduce=false&format=csv');
      assert.equal(csv.headers['content-type'], 'text/csv');
      assert.equal(csv.text, 'a,1\nc,3\nb,2\n');
      assert.deepEqual((await f.req('/db/_design/l/_list/lines/nope')).json, { error: 'not_found', reason: 'missing_named_view' });
      assert.deepEqual((await f.req('/db/_design/l/_list/nope/byType')).json, { error: 'not_found', reason: 'missing lists function nope on design doc _design/l' });
    }));

  test('OPTIONS runs the list as GET does (chttpd_show handle_view_list_req); a 405 still names GET,POST,HEAD', () =>
    withCouch(async (f) => {
      await listSetup(f);
      const fn = 'function (head, req) { var n = 0; while (getRow()) n++; return req.method + ":" + n; }';
      assert.equal((await f.req('/db/_design/m', { method: 'PUT', json: { lists: { method: fn } } })).status, 201);
      const options = await f.req('/db/_design/m/_list/method/l/byType?reduce=false', { method: 'OPTIONS' });
      assert.equal(options.status, 200, options.text);
      assert.equal(options.text, 'OPTIONS:3');
      assert.equal((await f.req('/db/_design/l/_list/lines/byType?reduce=false', { method: 'OPTIONS' })).text, '{"head":{"total_rows":3,"offset":0},"rows":["x=1","x=3","y=2"]}.');
      const put = await f.req('/db/_design/l/_list/lines/byType', { method: 'PUT', json: {} });
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, 'GET,POST,HEAD');
      assert.deepEqual(put.json, { error: 'method_not_allowed', reason: 'Only GET,POST,HEAD allowed' });
    }));
});
