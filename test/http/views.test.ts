/**
 * Views over HTTP against the real server (src/views, src/http/view-routes.ts): every query
 * parameter, reduce built-ins and JavaScript reduce/rereduce with grouping, incremental updates,
 * update=false/lazy, a changed design document's new index and `_view_cleanup`, per-keyspace
 * isolation, errors, and PouchDB's remote `query()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';
import { ADMIN } from '../helpers/server.js';

type Rows = { total_rows?: number; offset?: number; update_seq?: number; rows: Array<{ id?: string; key: unknown; value: unknown; doc?: Record<string, unknown> | null }> };

const DDOC = {
  _id: '_design/d',
  views: {
    by_type: { map: 'function (doc) { if (doc.type) emit(doc.type, doc.n); }' },
    sum: { map: 'function (doc) { if (doc.type) emit([doc.type, doc.n], doc.n); }', reduce: '_sum' },
    count: { map: 'function (doc) { emit(doc.type, null); }', reduce: '_count' },
    stats: { map: 'function (doc) { if (typeof doc.n === "number") emit(doc.type, doc.n); }', reduce: '_stats' },
    distinct: { map: 'function (doc) { emit(doc.type, 1); }', reduce: '_approx_count_distinct' },
    badsum: { map: 'function (doc) { emit(doc._id, doc.type); }', reduce: '_sum' },
    js: { map: 'function (doc) { if (doc.type) emit([doc.type, doc.n], doc.n); }', reduce: 'function (keys, values, rereduce) { return rereduce ? {re: true, total: values.reduce(function (a, v) { return a + v.total; }, 0)} : {re: false, total: sum(values)}; }' },
    linked: { map: 'function (doc) { if (doc.ref) emit(doc._id, {_id: doc.ref}); }' },
  },
};

async function setup(f: CouchFixture, db = 'db'): Promise<void> {
  assert.equal((await f.req(`/${db}`, { method: 'PUT' })).status, 201);
  const docs = [];
  for (let i = 0; i < 10; i++) docs.push({ _id: `doc${i}`, type: i % 2 === 0 ? 'even' : 'odd', n: i });
  docs.push({ _id: 'ref', ref: 'doc3' });
  assert.equal((await f.req(`/${db}/_bulk_docs`, { method: 'POST', json: { docs } })).status, 201);
  assert.equal((await f.req(`/${db}/_design/d`, { method: 'PUT', json: DDOC })).status, 201);
}

async function view(f: CouchFixture, path: string, opts: Parameters<CouchFixture['req']>[1] = {}): Promise<Rows> {
  const r = await f.req(path, opts);
  assert.equal(r.status, 200, r.text);
  return r.json as Rows;
}

test('map view: keys in collation order, key/keys/range/docid/inclusive_end/descending/limit/skip', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const all = await view(f, '/db/_design/d/_view/by_type');
    assert.equal(all.total_rows, 10);
    assert.equal(all.offset, 0);
    assert.deepEqual(all.rows.slice(0, 2), [{ id: 'doc0', key: 'even', value: 0 }, { id: 'doc2', key: 'even', value: 2 }]);
    const odd = await view(f, '/db/_design/d/_view/by_type?key="odd"');
    assert.deepEqual(odd.rows.map((r) => r.id), ['doc1', 'doc3', 'doc5', 'doc7', 'doc9']);
    assert.equal(odd.offset, 5);
    const desc = await view(f, '/db/_design/d/_view/by_type?descending=true&limit=2&skip=1');
    assert.deepEqual(desc.rows.map((r) => r.id), ['doc7', 'doc5']);
    assert.equal(desc.offset, 1);
    const range = await view(f, '/db/_design/d/_view/by_type?startkey="even"&startkey_docid=doc6&endkey="odd"&endkey_docid=doc3');
    assert.deepEqual(range.rows.map((r) => r.id), ['doc6', 'doc8', 'doc1', 'doc3']);
    const spelled = await view(f, '/db/_design/d/_view/by_type?start_key="even"&start_key_doc_id=doc6&end_key="odd"&end_key_doc_id=doc3&inclusive_end=false');
    assert.deepEqual(spelled.rows.map((r) => r.id), ['doc6', 'doc8', 'doc1']);
    const excl = await view(f, '/db/_design/d/_view/by_type?endkey="odd"&inclusive_end=false');
    assert.equal(excl.rows.length, 5);
    const keys = await view(f, '/db/_design/d/_view/by_type', { method: 'POST', json: { keys: ['odd', 'missing', 'even'], limit: 6 } });
    assert.deepEqual(keys.rows.map((r) => r.id), ['doc1', 'doc3', 'doc5', 'doc7', 'doc9', 'doc0']);
    const seq = await view(f, '/db/_design/d/_view/by_type?update_seq=true&limit=0');
    assert.equal(typeof seq.update_seq, 'number');
    assert.deepEqual(seq.rows, []);
    const sorted = await view(f, '/db/_design/d/_view/by_type?sorted=false&stable=true&limit=1');
    assert.equal(sorted.rows.length, 1);
  });
});

test('include_docs, conflicts and linked documents', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const r = await view(f, '/db/_design/d/_view/by_type?key="odd"&limit=1&include_docs=true&conflicts=true');
    assert.equal(r.rows[0]!.doc!._id, 'doc1');
    assert.equal(r.rows[0]!.doc!.n, 1);
    const linked = await view(f, '/db/_design/d/_view/linked?include_docs=true');
    assert.equal(linked.rows[0]!.id, 'ref');
    assert.equal(linked.rows[0]!.doc!._id, 'doc3');
  });
});

test('built-in reduces: _sum with group_level, _count, _stats, _approx_count_distinct, _sum error', async () => {
  await withCouch(async (f) => {
    await setup(f);
    assert.deepEqual((await view(f, '/db/_design/d/_view/sum')).rows, [{ key: null, value: 45 }]);
    assert.deepEqual((await view(f, '/db/_design/d/_view/sum?group_level=1')).rows, [{ key: ['even'], value: 20 }, { key: ['odd'], value: 25 }]);
    assert.equal((await view(f, '/db/_design/d/_view/sum?group=true')).rows.length, 10);
    assert.deepEqual((await view(f, '/db/_design/d/_view/sum?reduce=false&limit=1')).rows, [{ id: 'doc0', key: ['even', 0], value: 0 }]);
    assert.deepEqual((await view(f, '/db/_design/d/_view/count?group=true')).rows, [{ key: null, value: 1 }, { key: 'even', value: 5 }, { key: 'odd', value: 5 }]);
    assert.deepEqual((await view(f, '/db/_design/d/_view/stats?key="odd"')).rows, [{ key: null, value: { sum: 25, count: 5, min: 1, max: 9, sumsqr: 165 } }]);
    assert.deepEqual((await view(f, '/db/_design/d/_view/distinct')).rows, [{ key: null, value: 3 }]);
    const keyed = await view(f, '/db/_design/d/_view/count', { method: 'POST', json: { keys: ['odd', 'even'], group: true } });
    assert.deepEqual(keyed.rows, [{ key: 'odd', value: 5 }, { key: 'even', value: 5 }]);
    const bad = await view(f, '/db/_design/d/_view/badsum?startkey="doc0"&endkey="doc1"');
    const v = bad.rows[0]!.value as Record<string, unknown>;
    assert.equal(v.error, 'builtin_reduce_error');
    assert.match(String(v.reason), /^The _sum function requires that map values be numbers, arrays of numbers, or objects/);
    assert.equal(v.caused_by, 'even');
  });
});

test('JavaScript reduce and rereduce with group_level', async () => {
  await withCouch(async (f) => {
    await setup(f);
    // 10 rows: one reduce call per chunk, no rereduce.
    assert.deepEqual((await view(f, '/db/_design/d/_view/js?group_level=1')).rows, [{ key: ['even'], value: { re: false, total: 20 } }, { key: ['odd'], value: { re: false, total: 25 } }]);
    const docs = [];
    for (let i = 0; i < 250; i++) docs.push({ _id: `more${i}`, type: 'many', n: 1 });
    assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
    // 250 rows in one group: reduced in chunks, then re-reduced.
    const many = await view(f, '/db/_design/d/_view/js?group_level=1&startkey=["many"]&endkey=["many",{}]');
    assert.deepEqual(many.rows, [{ key: ['many'], value: { re: true, total: 250 } }]);
  });
});

test('incremental updates after writes, updates and deletes; update=false and lazy', async () => {
  await withCouch(async (f) => {
    await setup(f);
    assert.equal((await view(f, '/db/_design/d/_view/by_type')).total_rows, 10);
    const doc1 = (await f.req('/db/doc1')).json as Record<string, unknown>;
    assert.equal((await f.req('/db/doc1', { method: 'PUT', json: { ...doc1, type: 'changed' } })).status, 201);
    const doc2 = (await f.req('/db/doc2')).json as Record<string, unknown>;
    assert.equal((await f.req(`/db/doc2?rev=${String(doc2._rev)}`, { method: 'DELETE' })).status, 200);
    assert.equal((await f.req('/db/new', { method: 'PUT', json: { type: 'aaa', n: 100 } })).status, 201);
    // update=false: the index as it was.
    const stale = await view(f, '/db/_design/d/_view/by_type?update=false');
    assert.equal(stale.total_rows, 10);
    assert.equal((await view(f, '/db/_design/d/_view/by_type?stale=ok')).total_rows, 10);
    // lazy: answers as is, then catches up.
    assert.equal((await view(f, '/db/_design/d/_view/by_type?update=lazy')).total_rows, 10);
    let after = 0;
    for (let i = 0; i < 50 && after !== 10; i++) {
      after = (await view(f, '/db/_design/d/_view/by_type?update=false')).rows.filter((r) => r.key === 'aaa').length ? 10 : 0;
      if (after !== 10) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(after, 10, 'lazy update caught up');
    const now = await view(f, '/db/_design/d/_view/by_type');
    assert.equal(now.total_rows, 10);
    assert.deepEqual(now.rows[0], { id: 'new', key: 'aaa', value: 100 });
    assert.ok(now.rows.some((r) => r.id === 'doc1' && r.key === 'changed'));
    assert.ok(!now.rows.some((r) => r.id === 'doc2'));
    assert.equal(now.rows.filter((r) => r.id === 'doc1').length, 1);
  });
});

test('a changed design document builds a new index; _view_cleanup removes the old; _info', async () => {
  await withCouch(async (f) => {
    await setup(f);
    await view(f, '/db/_design/d/_view/by_type');
    const info1 = (await f.req('/db/_design/d/_info')).json as { name: string; view_index: Record<string, unknown> };
    assert.equal(info1.name, 'd');
    const sig1 = info1.view_index.signature as string;
    assert.match(sig1, /^[0-9a-f]{32}$/);
    assert.equal(info1.view_index.updater_running, false);
    assert.equal(typeof info1.view_index.update_seq, 'number');
    assert.ok(((info1.view_index.sizes as Record<string, number>).active) > 0);
    const ddoc = (await f.req('/db/_design/d')).json as Record<string, unknown>;
    // Only a non-view field changes: same signature.
    assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: { ...ddoc, note: 'x' } })).status, 201);
    const same = (await f.req('/db/_design/d/_info')).json as { view_index: Record<string, unknown> };
    assert.equal(same.view_index.signature, sig1);
    const ddoc2 = (await f.req('/db/_design/d')).json as Record<string, unknown>;
    const views = { ...(ddoc2.views as Record<string, unknown>), by_type: { map: 'function (doc) { if (doc.type) emit(doc.n, doc.type); }' } };
    assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: { ...ddoc2, views } })).status, 201);
    const r = await view(f, '/db/_design/d/_view/by_type?limit=1');
    assert.deepEqual(r.rows[0], { id: 'doc0', key: 0, value: 'even' });
    const sig2 = ((await f.req('/db/_design/d/_info')).json as { view_index: Record<string, unknown> }).view_index.signature;
    assert.notEqual(sig2, sig1);
    const { storedSignatures } = await import('../../src/views/index.js');
    const db = f.listener.face.db(f.engine.bucket('db')!, 0);
    assert.deepEqual(storedSignatures(db).sort(), [sig1, sig2].sort());
    const clean = await f.req('/db/_view_cleanup', { method: 'POST', json: {} });
    assert.equal(clean.status, 202);
    assert.deepEqual(clean.json, { ok: true });
    assert.deepEqual(storedSignatures(db), [sig2]);
  });
});

test('errors: query_parse_error texts, missing view and design document', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const cases: Array<[string, number, string, string | RegExp]> = [
      ['/db/_design/d/_view/nope', 404, 'not_found', 'missing_named_view'],
      ['/db/_design/none/_view/v', 404, 'not_found', 'missing'],
      ['/db/_design/d/_view/by_type?limit=x', 400, 'query_parse_error', 'Invalid value for integer: "x"'],
      ['/db/_design/d/_view/by_type?limit=-1', 400, 'query_parse_error', 'Invalid value for positive integer: "-1"'],
      ['/db/_design/d/_view/by_type?descending=yes', 400, 'query_parse_error', 'Invalid boolean parameter: "yes"'],
      ['/db/_design/d/_view/by_type?update=sometimes', 400, 'query_parse_error', 'Invalid value for `update`.'],
      ['/db/_design/d/_view/by_type?stale=never', 400, 'query_parse_error', 'Invalid value for `stale`.'],
      ['/db/_design/d/_view/by_type?key=notjson', 400, 'bad_request', /Invalid JSON/],
      ['/db/_design/d/_view/by_type?startkey="z"&endkey="a"', 400, 'query_parse_error', /^No rows can match your key range/],
      ['/db/_design/d/_view/by_type?keys=["a"]&key="a"', 400, 'query_parse_error', '`keys` is incompatible with `key`, `start_key` and `end_key`'],
      ['/db/_design/d/_view/by_type?reduce=true', 400, 'query_parse_error', 'Reduce is invalid for map-only views.'],
      ['/db/_design/d/_view/by_type?group=true', 400, 'query_parse_error', 'Invalid use of grouping on a map view.'],
      ['/db/_design/d/_view/sum?include_docs=true', 400, 'query_parse_error', '`include_docs` is invalid for reduce'],
      ['/db/_design/d/_view/sum?keys=[1]', 400, 'query_parse_error', 'Multi-key fetchs for reduce views must use `group=true`'],
    ];
    for (const [path, status, error, reason] of cases) {
      const r = await f.req(path);
      assert.equal(r.status, status, path);
      const body = r.json as { error: string; reason: string };
      assert.equal(body.error, error, path);
      if (typeof reason === 'string') assert.equal(body.reason, reason, path);
      else assert.match(body.reason, reason, path);
    }
    const stats = await f.req('/db/_design/d/_view/stats', { method: 'GET' });
    assert.equal(stats.status, 200);
  });
});

test('per-keyspace isolation: the same design document in two keyspaces', async () => {
  await withCouch(async (f) => {
    await setup(f, 'db');
    await setup(f, 'other');
    assert.equal((await f.req('/other/extra', { method: 'PUT', json: { type: 'only-here' } })).status, 201);
    const a = await view(f, '/db/_design/d/_view/by_type');
    const b = await view(f, '/other/_design/d/_view/by_type');
    assert.equal(a.total_rows, 10);
    assert.equal(b.total_rows, 11);
    assert.ok(!a.rows.some((r) => r.key === 'only-here'));
  });
});

test('PouchDB remote query() against Freshet', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const remote = new PouchDB(`${f.base}/db`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
    const r = await remote.query('d/by_type', { key: 'odd', include_docs: true, limit: 2 });
    assert.deepEqual(r.rows.map((x) => x.id), ['doc1', 'doc3']);
    assert.equal(r.rows[0]!.doc!.n, 1);
    const red = await remote.query('d/sum', { group_level: 1 });
    assert.deepEqual(red.rows, [{ key: ['even'], value: 20 }, { key: ['odd'], value: 25 }]);
    const keyed = await remote.query('d/by_type', { keys: ['even'], limit: 1 });
    assert.deepEqual(keyed.rows.map((x) => x.id), ['doc0']);
  });
});

test('keys longer than the LMDB key budget keep exact order and ranges', async () => {
  await withCouch(async (f) => {
    assert.equal((await f.req('/db', { method: 'PUT' })).status, 201);
    const long = 'x'.repeat(300);
    const docs = ['c', 'a', 'B', 'b', 'A'].map((s, i) => ({ _id: `l${i}`, k: long + s }));
    docs.push({ _id: 'short', k: 'xx' } as { _id: string; k: string });
    assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
    assert.equal((await f.req('/db/_design/l', { method: 'PUT', json: { views: { v: { map: 'function (doc) { emit(doc.k, null); }' } } } })).status, 201);
    const all = await view(f, '/db/_design/l/_view/v');
    assert.deepEqual(all.rows.map((r) => String(r.key).slice(300) || r.key), ['xx', 'a', 'A', 'b', 'B', 'c']);
    const desc = await view(f, '/db/_design/l/_view/v?descending=true&limit=2');
    assert.deepEqual(desc.rows.map((r) => r.id), ['l0', 'l2']);
    const range = await view(f, `/db/_design/l/_view/v?startkey=${encodeURIComponent(JSON.stringify(long + 'A'))}&endkey=${encodeURIComponent(JSON.stringify(long + 'B'))}`);
    assert.deepEqual(range.rows.map((r) => String(r.key).slice(300)), ['A', 'b', 'B']);
    const excl = await view(f, `/db/_design/l/_view/v?startkey=${encodeURIComponent(JSON.stringify(long + 'A'))}&endkey=${encodeURIComponent(JSON.stringify(long + 'B'))}&inclusive_end=false`);
    assert.deepEqual(excl.rows.map((r) => String(r.key).slice(300)), ['A', 'b']);
    const one = await view(f, `/db/_design/l/_view/v?key=${encodeURIComponent(JSON.stringify(long + 'b'))}`);
    assert.deepEqual(one.rows.map((r) => r.id), ['l3']);
  });
});

test('design options: local_seq gives map functions _local_seq, include_design indexes design documents; GET ?local_seq=true', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const seqOf = async (id: string): Promise<unknown> => ((await f.req(`/db/${id}?local_seq=true`)).json as Record<string, unknown>)._local_seq;
    const changes = (await f.req('/db/_changes')).json as { results: Array<{ id: string; seq: number }> };
    const doc3Seq = changes.results.find((r) => r.id === 'doc3')!.seq;
    assert.equal(await seqOf('doc3'), doc3Seq, '_local_seq is the sequence _changes gives the document');
    assert.equal(((await f.req('/db/doc3')).json as Record<string, unknown>)._local_seq, undefined);
    const options = {
      _id: '_design/opts',
      options: { local_seq: true, include_design: true },
      views: { seqs: { map: 'function (doc) { emit(doc._id, doc._local_seq); }' } },
    };
    assert.equal((await f.req('/db/_design/opts', { method: 'PUT', json: options })).status, 201);
    const rows = (await view(f, '/db/_design/opts/_view/seqs')).rows;
    assert.deepEqual(rows.map((r) => r.key).filter((k) => String(k).startsWith('_design/')), ['_design/d', '_design/opts']);
    assert.equal(rows.find((r) => r.key === 'doc3')!.value, doc3Seq);
    for (const r of rows) assert.equal(typeof r.value, 'number', String(r.key));
    // Without the options: no design documents, no _local_seq.
    const plain = (await view(f, '/db/_design/d/_view/by_type')).rows;
    assert.equal(plain.some((r) => String(r.id).startsWith('_design/')), false);
  });
});

test('_temp_view is gone (410), as in CouchDB 2+', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const r = await f.req('/db/_temp_view', { method: 'POST', json: { map: 'function (doc) { emit(null); }' } });
    assert.deepEqual([r.status, r.json], [410, { error: 'gone', reason: 'Temporary views are not supported in CouchDB' }]);
    assert.equal((await f.req('/nodb/_temp_view', { method: 'POST', json: {} })).status, 404);
  });
});

test('a JavaScript reduce that throws gives null for its reduction, not a failed query (views.js runReduce)', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const ddoc = { views: { r: { map: 'function (doc) { if (doc.type) emit(doc.type, doc.n); }', reduce: 'function (keys, values, rereduce) { if (!rereduce && values.indexOf(3) >= 0) throw new Error("no"); return sum(values); }' } } };
    assert.equal((await f.req('/db/_design/thrower', { method: 'PUT', json: ddoc })).status, 201);
    const grouped = (await view(f, '/db/_design/thrower/_view/r?group=true')).rows;
    assert.deepEqual(grouped, [{ key: 'even', value: 20 }, { key: 'odd', value: null }]);
  });
});

test("one document's values under one key come in Erlang term order, as couch_mrview_updater sorts them", async () => {
  await withCouch(async (f) => {
    await setup(f);
    const map = 'function (doc) { if (doc._id === "doc1") { emit("k", "multiple"); emit("k", "crayon"); emit("k", null); emit("k", [1]); emit("k", {a: 1}); emit("k", 2); emit("j", true); emit("k", false); } }';
    assert.equal((await f.req('/db/_design/dups', { method: 'PUT', json: { views: { v: { map } } } })).status, 201);
    const rows = (await view(f, '/db/_design/dups/_view/v')).rows;
    assert.deepEqual(rows.map((r) => [r.key, r.value]), [['j', true], ['k', 2], ['k', false], ['k', null], ['k', { a: 1 }], ['k', [1]], ['k', 'crayon'], ['k', 'multiple']]);
  });
});

test('keys with startkey_docid/endkey_docid: the document ids are bounded within every key (couch_mrview_util key_opts)', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const ids = async (qs: string): Promise<unknown[]> => (await view(f, `/db/_design/d/_view/by_type?${qs}`)).rows.map((r) => r.id);
    assert.deepEqual(await ids('keys=["even","odd"]&startkey_docid=doc2&endkey_docid=doc5'), ['doc2', 'doc4', 'doc3', 'doc5']);
    assert.deepEqual(await ids('keys=["odd"]&endkey_docid=doc5&inclusive_end=false'), ['doc1', 'doc3']);
    assert.deepEqual(await ids('keys=["odd"]&inclusive_end=false'), ['doc1', 'doc3', 'doc5', 'doc7', 'doc9']);
    assert.deepEqual(await ids('keys=["odd"]&descending=true&startkey_docid=doc7'), ['doc7', 'doc5', 'doc3', 'doc1']);
  });
});

test('include_docs follows an emitted _rev to that revision (couch_mrview_util maybe_load_doc)', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const map = 'function (doc) { if (doc._id === "doc1") emit(doc._id, { _rev: doc._rev }); }';
    assert.equal((await f.req('/db/_design/revs', { method: 'PUT', json: { views: { v: { map } } } })).status, 201);
    const before = (await view(f, '/db/_design/revs/_view/v?include_docs=true')).rows[0]!;
    const oldRev = (before.value as { _rev: string })._rev;
    assert.equal(before.doc!._rev, oldRev);
    assert.equal((await f.req('/db/doc1', { method: 'PUT', json: { _rev: oldRev, type: 'odd', n: 100 } })).status, 201);
    // Not brought up to date: the row still names the old revision, and its document is that one.
    const stale = (await view(f, '/db/_design/revs/_view/v?include_docs=true&update=false')).rows[0]!;
    assert.deepEqual([stale.doc!._rev, stale.doc!.n], [oldRev, 1]);
    const fresh = (await view(f, '/db/_design/revs/_view/v?include_docs=true')).rows[0]!;
    assert.equal(fresh.doc!.n, 100);
  });
});

test('_compact/{ddoc} answers 202 for a known design document, 404 otherwise, admins only', async () => {
  await withCouch(async (f) => {
    await setup(f);
    assert.deepEqual((await f.req('/db/_compact/d', { method: 'POST', json: {} })).json, { ok: true });
    assert.equal((await f.req('/db/_compact/d', { method: 'POST', json: {} })).status, 202);
    assert.equal((await f.req('/db/_compact/nope', { method: 'POST', json: {} })).status, 404);
    assert.equal((await f.req('/db/_compact/d', { method: 'POST', json: {}, auth: null })).status, 401);
  });
});

test('POST view: the query string wins over a body parameter of the same name (colliding parameters)', async () => {
  await withCouch(async (f) => {
    await setup(f);
    const r = await view(f, '/db/_design/d/_view/by_type?limit=1', { method: 'POST', json: { keys: ['even', 'odd'], limit: 3 } });
    assert.equal(r.rows.length, 1);
  });
});
