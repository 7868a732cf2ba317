/**
 * `_changes` with JavaScript filters over HTTP (src/design/filters.ts): `filter=ddoc/name` with
 * query parameters as `req.query` in every feed mode, on a bucket and on a collection keyspace;
 * `filter=_view` and CouchDB's 400/404 errors; and hostile filters answered with an error within
 * the time limit while the server keeps serving other requests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { StreamReader } from './stream-reader.js';
import { AIRPORT, put, travelSample } from './keyspace-fixture.js';

const APP = {
  filters: {
    by_type: 'function (doc, req) { return doc.type === req.query.type; }',
    req_shape:
      'function (doc, req) { return req.method === "GET" && req.userCtx.name === "Administrator" && req.userCtx.roles.indexOf("_admin") >= 0 && ' +
      'req.path[req.path.length - 1] === "_changes" && req.info.db_name === req.path[0] && req.query.filter === "app/req_shape" && ' +
      'typeof req.headers.host === "string" && req.body === "undefined" && typeof doc._revisions === "object" && doc.type === "a"; }',
    loop: 'function (doc) { while (true) {} }',
    thrower: 'function (doc) { throw {error: "bad_filter", reason: "no " + doc._id}; }',
    broken: 'function (doc { return true }',
  },
  views: { only_a: { map: 'function (doc) { if (doc.type === "a") emit(doc._id, null); }' } },
};

async function seed(f: CouchFixture, path = '/db'): Promise<void> {
  if (path === '/db') await createDb(f);
  await put(f, `${path}/_design/app`, APP);
  for (const [id, type] of [['a1', 'a'], ['b1', 'b'], ['a2', 'a'], ['c1', 'c']] as const) await put(f, `${path}/${id}`, { type });
}

const ids = (body: unknown): string[] => arr(obj(body).results).map((r) => obj(r).id as string);

describe('_changes?filter=ddoc/name', () => {
  test('feed=normal, GET and POST: query parameters are req.query; the request object as CouchDB shapes it', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.deepEqual(ids((await f.req('/db/_changes?filter=app/by_type&type=a')).json), ['a1', 'a2']);
      assert.deepEqual(ids((await f.req('/db/_changes?filter=app/by_type&type=b')).json), ['b1']);
      const post = await f.req('/db/_changes?filter=app/by_type&type=c', { method: 'POST', json: {} });
      assert.deepEqual(ids(post.json), ['c1']);
      const shaped = await f.req('/db/_changes?filter=app/req_shape');
      assert.equal(shaped.status, 200, shaped.text);
      assert.deepEqual(ids(shaped.json), ['a1', 'a2']);
      // include_docs and style=all_docs still apply to the passing rows; last_seq advances past the rest.
      const docs = obj((await f.req('/db/_changes?filter=app/by_type&type=c&include_docs=true&style=all_docs')).json);
      assert.equal(obj(obj(arr(docs.results)[0]).doc).type, 'c');
      assert.equal(docs.last_seq, 5);
    }));

  test('feed=longpoll waits for the first passing change', () =>
    withCouch(async (f) => {
      await seed(f);
      const pending = f.req('/db/_changes?feed=longpoll&since=now&filter=app/by_type&type=a&timeout=10000');
      await new Promise((r) => setTimeout(r, 100));
      await put(f, '/db/b2', { type: 'b' });
      await put(f, '/db/a3', { type: 'a' });
      const res = await pending;
      assert.deepEqual(ids(res.json), ['a3']);
    }));

  test('feed=continuous and feed=eventsource send only passing rows', () =>
    withCouch(async (f) => {
      await seed(f);
      const cont = await f.stream('/db/_changes?feed=continuous&since=now&filter=app/by_type&type=a&limit=1&heartbeat=50');
      const sse = await f.stream('/db/_changes?feed=eventsource&since=now&filter=app/by_type&type=b&heartbeat=50');
      assert.equal(cont.statusCode, 200);
      assert.equal(sse.statusCode, 200);
      const sseBody = new StreamReader(sse.body);
      await put(f, '/db/b3', { type: 'b' });
      await put(f, '/db/a4', { type: 'a' });
      const lines = (await new StreamReader(cont.body).rest()).split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
      assert.deepEqual(lines.map((l) => l.id ?? 'end'), ['a4', 'end']);
      await sseBody.until((t) => t.includes('"b3"'));
      assert.ok(!sseBody.text.includes('"a4"'));
      sse.body.destroy();
    }));

  test('a collection keyspace filters its own documents', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await seed(f, AIRPORT);
      await put(f, '/travel-sample/a-default', { type: 'a' });
      assert.deepEqual(ids((await f.req(`${AIRPORT}/_changes?filter=app/by_type&type=a`)).json), ['a1', 'a2']);
      // The bucket's default collection has no such design document.
      assert.equal((await f.req('/travel-sample/_changes?filter=app/by_type&type=a')).status, 404);
    }));

  test("errors: CouchDB's 400 and 404s, compilation_error, a throw fails the request", () =>
    withCouch(async (f) => {
      await seed(f);
      const cases: Array<[string, number, string, string?]> = [
        ['filter=nodd/fn', 404, 'not_found', 'missing'],
        ['filter=app/nope', 404, 'not_found', 'missing json key: nope'],
        ['filter=justaname', 400, 'bad_request'],
        ['filter=app/broken', 400, 'compilation_error'],
        ['filter=app/thrower', 500, 'bad_filter', 'no _design/app'],
      ];
      for (const [qs, status, error, reason] of cases) {
        const r = await f.req(`/db/_changes?${qs}`);
        assert.equal(r.status, status, `${qs}: ${r.text}`);
        assert.equal(obj(r.json).error, error, qs);
        if (reason) assert.equal(obj(r.json).reason, reason, qs);
      }
    }));
});

describe('_changes?filter=ddoc/name over several pages of changes (filtered a page per sandbox call)', () => {
  test('rows keep change order across pages in every feed mode; a throw fails the request only when the feed reaches that document', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/_design/app', {
        filters: {
          odd: 'function (doc) { return doc.n % 2 === 1; }',
          bomb: 'function (doc) { if (doc.n === 500) throw {error: "boom", reason: doc._id}; return doc.n % 100 === 0; }',
        },
      });
      // More than one page (changes-feed.ts reads 1000 changes per page).
      const docs = Array.from({ length: 2100 }, (_, n) => ({ _id: `d${String(n).padStart(4, '0')}`, n }));
      for (let i = 0; i < docs.length; i += 700) assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: docs.slice(i, i + 700) } })).status, 201);
      const odd = docs.filter((d) => d.n % 2 === 1).map((d) => d._id);
      const normal = obj((await f.req('/db/_changes?filter=app/odd')).json);
      assert.deepEqual(ids(normal), odd);
      assert.equal(normal.last_seq, 2101);
      const cont = await f.req('/db/_changes?feed=continuous&filter=app/odd&timeout=50');
      const lines = cont.text.split('\n').filter((l) => l).map((l) => obj(JSON.parse(l)));
      assert.deepEqual(lines.slice(0, -1).map((l) => l.id), odd);
      assert.equal(lines.at(-1)!.last_seq, 2101);
      const desc = obj((await f.req('/db/_changes?filter=app/odd&descending=true&limit=3')).json);
      assert.deepEqual(ids(desc), odd.slice(-3).reverse());
      // limit stops at the row that reached it, even mid-page: last_seq is that row's seq.
      const limited = obj((await f.req('/db/_changes?filter=app/odd&limit=600')).json);
      assert.deepEqual(ids(limited), odd.slice(0, 600));
      const lastRow = obj(arr(limited.results).at(-1));
      assert.equal(limited.last_seq, lastRow.seq);
      assert.deepEqual(ids((await f.req(`/db/_changes?filter=app/odd&limit=2&since=${String(limited.last_seq)}`)).json), odd.slice(600, 602));
      // d0500 throws (first page): a feed that stops before it succeeds, one that reaches it fails
      // with its error, answered before any row went out.
      const early = await f.req('/db/_changes?filter=app/bomb&limit=5');
      assert.equal(early.status, 200, early.text);
      assert.deepEqual(ids(early.json), ['d0000', 'd0100', 'd0200', 'd0300', 'd0400']);
      const reached = await f.req('/db/_changes?filter=app/bomb');
      assert.equal(reached.status, 500, reached.text);
      assert.deepEqual([obj(reached.json).error, obj(reached.json).reason], ['boom', 'd0500']);
    }));
});

describe('_changes?filter=_view', () => {
  test('a document passes when the map function emits for it', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.deepEqual(ids((await f.req('/db/_changes?filter=_view&view=app/only_a')).json), ['a1', 'a2']);
      const cont = await f.req('/db/_changes?feed=continuous&filter=_view&view=app/only_a&timeout=50');
      assert.deepEqual(cont.text.split('\n').filter((l) => l).map((l) => obj(JSON.parse(l)).id ?? 'end'), ['a1', 'a2', 'end']);
    }));

  test("CouchDB's errors", () =>
    withCouch(async (f) => {
      await seed(f);
      const cases: Array<[string, number, string]> = [
        ['filter=_view', 400, '`view` filter parameter is not provided.'],
        ['filter=_view&view=only_a', 400, '`view` must be of the form `designname/viewname`'],
        ['filter=_view&view=nodd/v', 404, 'missing'],
        ['filter=_view&view=app/nope', 404, 'missing json key: nope'],
      ];
      for (const [qs, status, reason] of cases) {
        const r = await f.req(`/db/_changes?${qs}`);
        assert.equal(r.status, status, `${qs}: ${r.text}`);
        assert.equal(obj(r.json).reason, reason, qs);
      }
    }));
});

describe('hostile filters', () => {
  test('an infinite loop is a 500 within the limit, and the server serves other requests meanwhile and after', () =>
    withCouch(
      async (f) => {
        await seed(f);
        const started = Date.now();
        const hostile = f.req('/db/_changes?filter=app/loop');
        // Another request in flight at the same time: served (once QuickJS yields the event loop,
        // at most the time limit later), with the right answer.
        const other = f.req('/db/a1');
        const [h, o] = await Promise.all([hostile, other]);
        assert.equal(h.status, 500, h.text);
        assert.equal(obj(h.json).error, 'os_process_error');
        assert.match(String(obj(h.json).reason), /^OS process timed out\./);
        assert.ok(Date.now() - started < 300 + 3000, `took ${Date.now() - started} ms`);
        assert.equal(o.status, 200);
        assert.equal(obj(o.json).type, 'a');
        // The design document's other functions still work afterwards.
        assert.deepEqual(ids((await f.req('/db/_changes?filter=app/by_type&type=a')).json), ['a1', 'a2']);
      },
      { design: { timeoutMs: 300 } },
    ));
});
