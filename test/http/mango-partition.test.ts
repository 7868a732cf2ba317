// Mango in partitioned databases over HTTP (real server): `/{db}/_partition/{p}/_find` and
// `_explain`, the body's `partition`, partitioned and global json indexes (`_index` with
// `partitioned`), which index serves which scope, the `_all_docs` scan confined to a partition,
// bookmarks within a partition, and the errors, after CouchDB 3's test/elixir/test/
// partition_mango_test.exs, mango_idx.erl, mango_opts.erl and mango_error.erl.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

/** partition_helpers create_partition_docs: 100 documents, even `i` in foo, odd in bar. */
async function seed(f: CouchFixture): Promise<void> {
  const created = await f.req('/pdb?partitioned=true', { method: 'PUT' });
  assert.equal(created.status, 201, created.text);
  const docs = Array.from({ length: 100 }, (_, n) => {
    const i = n + 1;
    return { _id: `${i % 2 === 0 ? 'foo' : 'bar'}:${i}`, value: i, some: 'field' };
  });
  const r = await f.req('/pdb/_bulk_docs', { method: 'POST', json: { docs } });
  assert.equal(r.status, 201, r.text);
}

async function post(f: CouchFixture, path: string, json: unknown): Promise<Record<string, unknown>> {
  const r = await f.req(path, { method: 'POST', json });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return obj(r.json);
}

async function index(f: CouchFixture, fields: string[], extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await post(f, '/pdb/_index', { index: { fields }, ...extra });
  assert.equal(r.result, 'created');
  return r;
}

const ids = (r: Record<string, unknown>): string[] => arr(r.docs).map((d) => String(obj(d)._id));
const partitions = (r: Record<string, unknown>): string[] => ids(r).map((id) => id.split(':')[0]!);
const only = (r: Record<string, unknown>, p: string): void => assert.deepEqual([...new Set(partitions(r))], [p], JSON.stringify(ids(r)));

async function failure(f: CouchFixture, path: string, json: unknown): Promise<[number, unknown]> {
  const r = await f.req(path, { method: 'POST', json });
  return [r.status, r.json];
}

describe('_find within a partition', () => {
  test('without an index: _all_docs confined to the partition', () =>
    withCouch(async (f) => {
      await seed(f);
      for (const p of ['foo', 'bar']) {
        const r = await post(f, `/pdb/_partition/${p}/_find`, { selector: { some: 'field' }, limit: 20 });
        assert.equal(arr(r.docs).length, 20);
        only(r, p);
        const range = await post(f, `/pdb/_partition/${p}/_find`, { selector: { value: { $gte: 6, $lt: 16 } } });
        assert.equal(arr(range.docs).length, 5);
        only(range, p);
      }
      const e = await post(f, '/pdb/_partition/foo/_explain', { selector: { value: { $gte: 6, $lt: 16 } } });
      assert.equal(obj(e.index).name, '_all_docs');
      assert.equal(obj(e.mrargs).partition, 'foo');
    }));

  test('with a partitioned index: only the partition’s rows are read', () =>
    withCouch(async (f) => {
      await seed(f);
      await index(f, ['value']);
      const r = await post(f, '/pdb/_partition/foo/_find', { selector: { value: { $gte: 6, $lt: 16 } }, execution_stats: true });
      assert.deepEqual(ids(r), ['foo:6', 'foo:8', 'foo:10', 'foo:12', 'foo:14']);
      // foo's rows from 6 up to the inclusive end key 16; a global read would examine bar's 7..15 too.
      assert.equal(obj(r.execution_stats).total_keys_examined, 6);
      const bar = await post(f, '/pdb/_partition/bar/_find', { selector: { value: { $gte: 6, $lt: 16 } } });
      assert.deepEqual(ids(bar), ['bar:7', 'bar:9', 'bar:11', 'bar:13', 'bar:15']);
      const e = await post(f, '/pdb/_partition/bar/_explain', { selector: { value: { $gte: 6, $lt: 16 } } });
      assert.deepEqual(obj(e.index).def, { fields: [{ value: 'asc' }] });
      assert.equal(obj(e.index).partitioned, true);
      assert.equal(obj(e.mrargs).partition, 'bar');
      // The path's partition replaces the body's (mango_httpd).
      const over = await post(f, '/pdb/_partition/foo/_find', { selector: { value: { $lt: 5 } }, partition: 'bar' });
      assert.deepEqual(ids(over), ['foo:2', 'foo:4']);
      // The body's `partition` on `/{db}/_find` works as well.
      const inBody = await post(f, '/pdb/_find', { selector: { value: { $lt: 5 } }, partition: 'bar' });
      assert.deepEqual(ids(inBody), ['bar:1', 'bar:3']);
    }));

  test('an _id range intersects the partition', () =>
    withCouch(async (f) => {
      await seed(f);
      await index(f, ['some']);
      const gt = await post(f, '/pdb/_partition/foo/_find', { selector: { _id: { $gt: 'foo:' } }, limit: 20 });
      assert.equal(arr(gt.docs).length, 20);
      only(gt, 'foo');
      const global = await post(f, '/pdb/_find', { selector: { _id: { $lt: 'foo:' } }, limit: 20 });
      assert.equal(arr(global.docs).length, 20);
      only(global, 'bar');
      const number = await post(f, '/pdb/_partition/foo/_find', { selector: { _id: { $gt: 0 } }, limit: 20 });
      assert.equal(arr(number.docs).length, 20);
      only(number, 'foo');
      const below = await post(f, '/pdb/_partition/foo/_find', { selector: { _id: { $lt: 'foo:2' } }, limit: 100 });
      assert.deepEqual(ids(below), ['foo:10', 'foo:100', 'foo:12', 'foo:14', 'foo:16', 'foo:18']);
      const none = await post(f, '/pdb/_partition/bar/_find', { selector: { _id: { $gte: 'foo:' } } });
      assert.deepEqual(ids(none), []);
      const desc = await post(f, '/pdb/_partition/bar/_find', { selector: { _id: { $gt: null } }, sort: [{ _id: 'desc' }], limit: 2 });
      assert.deepEqual(ids(desc), ['bar:99', 'bar:97']);
    }));

  test('bookmarks page within the partition, with an index and without', () =>
    withCouch(async (f) => {
      await seed(f);
      for (const withIndex of [false, true]) {
        if (withIndex) await index(f, ['value']);
        const body = { selector: { value: { $gte: 6, $lt: 16 } }, limit: 3 };
        const first = await post(f, '/pdb/_partition/foo/_find', body);
        assert.equal(arr(first.docs).length, 3);
        only(first, 'foo');
        const next = await post(f, '/pdb/_partition/foo/_find', { ...body, bookmark: first.bookmark });
        assert.equal(arr(next.docs).length, 2);
        only(next, 'foo');
        assert.deepEqual([...ids(first), ...ids(next)].sort(), ['foo:10', 'foo:12', 'foo:14', 'foo:6', 'foo:8'], `index: ${withIndex}`);
      }
    }));
});

describe('partitioned and global indexes', () => {
  test('a global query does not use a partitioned index', () =>
    withCouch(async (f) => {
      await seed(f);
      await index(f, ['some']);
      const selector = { selector: { some: 'field' }, limit: 100 };
      const e = await post(f, '/pdb/_explain', selector);
      assert.equal(obj(e.index).name, '_all_docs');
      assert.equal(obj(e.mrargs).partition, null);
      const candidate = obj(arr(e.index_candidates).find((c) => obj(obj(c).index).type === 'json'));
      assert.deepEqual(obj(candidate.analysis).reasons, [{ name: 'scope_mismatch' }]);
      assert.equal(obj(candidate.analysis).usable, false);
      assert.equal(arr((await post(f, '/pdb/_find', selector)).docs).length, 100);
    }));

  test('a global index (partitioned: false) serves global queries, not partition ones', () =>
    withCouch(async (f) => {
      await seed(f);
      const created = await index(f, ['some'], { partitioned: false });
      const ddoc = obj((await f.req(`/pdb/${String(created.id)}`)).json);
      assert.deepEqual(ddoc.options, { partitioned: false });
      const selector = { selector: { some: 'field' }, limit: 100 };
      const e = await post(f, '/pdb/_explain', selector);
      assert.deepEqual(obj(e.index).def, { fields: [{ some: 'asc' }] });
      assert.equal(obj(e.index).partitioned, false);
      const all = await post(f, '/pdb/_find', { ...selector, execution_stats: true });
      assert.equal(arr(all.docs).length, 100);
      assert.equal(obj(all.execution_stats).total_keys_examined, 100);
      const pe = await post(f, '/pdb/_partition/foo/_explain', { ...selector, limit: 50 });
      assert.equal(obj(pe.index).name, '_all_docs');
      const pf = await post(f, '/pdb/_partition/foo/_find', { ...selector, limit: 50 });
      assert.equal(arr(pf.docs).length, 50);
      only(pf, 'foo');
      // The same fields with the default make another design document (the options are hashed).
      const dflt = await index(f, ['some']);
      assert.notEqual(dflt.id, created.id);
      const list = obj((await f.req('/pdb/_index')).json);
      const flags = arr(list.indexes).map((i) => [obj(i).ddoc, obj(i).partitioned]);
      assert.deepEqual(flags.sort(), [[created.id, false], [dflt.id, true], [null, undefined]].sort());
      const pe2 = await post(f, '/pdb/_partition/foo/_explain', selector);
      assert.equal(obj(pe2.index).ddoc, dflt.id);
      // Same definition, another index: the partitioned one holds each partition's rows apart.
      const pf2 = await post(f, '/pdb/_partition/foo/_find', { ...selector, execution_stats: true });
      assert.equal(arr(pf2.docs).length, 50);
      only(pf2, 'foo');
      assert.equal(obj(pf2.execution_stats).total_keys_examined, 50);
    }));

  test('explain: partitioned, opts.partition and mrargs.partition', () =>
    withCouch(async (f) => {
      await seed(f);
      await createDb(f);
      const inside = await post(f, '/pdb/_partition/foo/_explain', { selector: { some: 'field' } });
      assert.equal(inside.partitioned, true);
      assert.equal(obj(inside.opts).partition, 'foo');
      assert.equal(obj(inside.mrargs).partition, 'foo');
      const global = await post(f, '/pdb/_explain', { selector: { some: 'field' } });
      assert.equal(global.partitioned, true);
      assert.equal(obj(global.opts).partition, '');
      assert.equal(obj(global.mrargs).partition, null);
      const plain = await post(f, '/db/_explain', { selector: { some: 'field' }, partition: '' });
      assert.equal(plain.partitioned, false);
      assert.equal(obj(plain.mrargs).partition, null);
      // _explain reads no shard: a partition on a plain database is explained (CouchDB 3).
      const asked = await post(f, '/db/_explain', { selector: { some: 'field' }, partition: 'foo' });
      assert.equal(obj(asked.mrargs).partition, 'foo');
    }));

  test('_view_cleanup keeps partitioned json indexes', () =>
    withCouch(async (f) => {
      await seed(f);
      await index(f, ['value']);
      const body = { selector: { value: { $lt: 7 } }, execution_stats: true };
      assert.deepEqual(ids(await post(f, '/pdb/_partition/foo/_find', body)), ['foo:2', 'foo:4', 'foo:6']);
      assert.equal((await f.req('/pdb/_view_cleanup', { method: 'POST', json: {} })).status, 202);
      const r = await post(f, '/pdb/_partition/foo/_find', { ...body, update: false });
      assert.deepEqual(ids(r), ['foo:2', 'foo:4', 'foo:6']);
      assert.equal(obj(r.execution_stats).total_keys_examined, 3);
    }));
});

describe('errors', () => {
  test('no index for a sort: the reason names the scope (mango_idx mango_sort_error/2)', () =>
    withCouch(async (f) => {
      await seed(f);
      await createDb(f);
      const sort = { selector: { value: { $gt: 0 } }, sort: ['value'] };
      const reason = (scope: string): unknown => ({ error: 'no_usable_index', reason: `No ${scope}index exists for this sort, try indexing by the sort fields.` });
      assert.deepEqual(await failure(f, '/pdb/_partition/foo/_find', sort), [400, reason('partitioned ')]);
      assert.deepEqual(await failure(f, '/pdb/_find', sort), [400, reason('global ')]);
      assert.deepEqual(await failure(f, '/db/_find', sort), [400, reason('')]);
      // A partitioned index serves the partition's sort; the global query still has none.
      await index(f, ['value']);
      const sorted = await post(f, '/pdb/_partition/foo/_find', { ...sort, limit: 3 });
      assert.deepEqual(ids(sorted), ['foo:2', 'foo:4', 'foo:6']);
      assert.deepEqual(await failure(f, '/pdb/_find', sort), [400, reason('global ')]);
      await index(f, ['value'], { partitioned: false });
      assert.deepEqual(ids(await post(f, '/pdb/_find', { ...sort, limit: 2 })), ['bar:1', 'foo:2']);
    }));

  test('a partition on a database that is not partitioned; invalid partitions', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'foo:1', a: 1 }] } });
      const notPartitioned = { error: 'bad_request', reason: 'partition specified on non-partitioned db' };
      assert.deepEqual(await failure(f, '/db/_find', { selector: { a: 1 }, partition: 'foo' }), [400, notPartitioned]);
      assert.deepEqual(await failure(f, '/db/_find?partition=foo', { selector: { a: 1 } }), [400, notPartitioned]);
      // Planning comes first.
      const [status, body] = await failure(f, '/db/_find', { selector: { a: 1 }, sort: ['a'], partition: 'foo' });
      assert.deepEqual([status, obj(body).error], [400, 'no_usable_index']);
      assert.deepEqual(ids(await post(f, '/db/_find', { selector: { a: 1 }, partition: '' })), ['foo:1']);
      assert.deepEqual(await failure(f, '/db/_find', { selector: { a: 1 }, partition: '_x' }), [400, { error: 'illegal_partition', reason: 'Partition must not start with an underscore' }]);
      assert.deepEqual(await failure(f, '/db/_explain', { selector: { a: 1 }, partition: 5 }), [400, { error: 'illegal_partition', reason: 'Partition must be a string' }]);
      assert.deepEqual(await failure(f, '/db/_find', { selector: { a: 1 }, partition: 'a:b' }), [400, { error: 'illegal_partition', reason: 'Partition must not contain a colon' }]);
    }));

  test('partitioned must agree with the existing design document (invalid_partitioned_option)', () =>
    withCouch(async (f) => {
      await seed(f);
      await createDb(f);
      const mismatch = (ddoc: string): unknown => ({ error: 'invalid_partitioned_option', reason: `Requested partitioned option does not match existing value on design document _design/${ddoc}` });
      // A default index: the design document has no options; only another default index may join it.
      await index(f, ['value'], { ddoc: 'x', name: 'a' });
      assert.equal('options' in obj((await f.req('/pdb/_design/x')).json), false);
      assert.deepEqual(await failure(f, '/pdb/_index', { index: { fields: ['some'] }, ddoc: 'x', name: 'b', partitioned: false }), [400, mismatch('x')]);
      assert.deepEqual(await failure(f, '/pdb/_index', { index: { fields: ['some'] }, ddoc: 'x', name: 'b', partitioned: true }), [400, mismatch('x')]);
      // Even for the index already there (mango_idx:add/2 checks before comparing).
      assert.deepEqual(await failure(f, '/pdb/_index', { index: { fields: ['value'] }, ddoc: 'x', name: 'a', partitioned: true }), [400, mismatch('x')]);
      await index(f, ['some'], { ddoc: 'x', name: 'b' });
      // An explicit value: the design document keeps it, and a request must repeat it.
      await index(f, ['value'], { ddoc: 'y', name: 'a', partitioned: true });
      assert.deepEqual(obj((await f.req('/pdb/_design/y')).json).options, { partitioned: true });
      assert.deepEqual(await failure(f, '/pdb/_index', { index: { fields: ['some'] }, ddoc: 'y', name: 'b' }), [400, mismatch('y')]);
      await index(f, ['some'], { ddoc: 'y', name: 'b', partitioned: true });
      assert.equal((await post(f, '/pdb/_index', { index: { fields: ['some'] }, ddoc: 'y', name: 'b', partitioned: true })).result, 'exists');
      // An invalid value keeps mango_opts' error; true in a plain database fails validation.
      const [status, body] = await failure(f, '/pdb/_index', { index: { fields: ['some'] }, partitioned: 'yes' });
      assert.deepEqual([status, obj(body).error], [500, 'unknown_error']);
      assert.deepEqual(await failure(f, '/db/_index', { index: { fields: ['a'] }, partitioned: true }), [400, { error: 'invalid_design_doc', reason: 'partitioned option cannot be true in a non-partitioned database.' }]);
      const plain = await post(f, '/db/_index', { index: { fields: ['a'] }, partitioned: false });
      assert.equal(plain.result, 'created');
      assert.deepEqual(obj((await f.req('/db/_index')).json).indexes, [
        { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } },
        { ddoc: plain.id, name: plain.name, type: 'json', partitioned: false, def: { fields: [{ a: 'asc' }] } },
      ]);
    }));
});
