/**
 * Views of partitioned databases (CouchDB couch_mrview_util validate_args/apply_partition,
 * couch_mrview_index set_partitioned): a design document is partitioned unless it says
 * `options.partitioned: false`; its views are read one partition at a time and a global one never
 * is; `partition_query_limit` bounds partitioned reads.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';
import { seedPartitioned } from './partition-fixture.js';

const MAP_VALUE = 'function (doc) { if (doc.some) { emit(doc.value, doc.some); } }';
const MAP_GROUP = 'function (doc) { if (doc.group) { emit([doc.some, doc.group], 1); } }';
const REDUCE_CUSTOM = 'function (keys, values, rereduce) { if (rereduce) { return sum(values); } else { return values.length; } }';

async function ddocs(f: CouchFixture): Promise<void> {
  const put = async (name: string, body: Record<string, unknown>): Promise<void> => {
    const r = await f.req(`/pdb/_design/${name}`, { method: 'PUT', json: body });
    assert.equal(r.status, 201, r.text);
  };
  await put('map', { views: { some: { map: MAP_VALUE } } });
  await put('map_some', { views: { some: { map: MAP_GROUP } } });
  await put('global', { options: { partitioned: false }, views: { some: { map: MAP_VALUE } } });
  await put('reduce', { views: { some: { map: MAP_GROUP, reduce: '_count' } } });
  await put('reduce_custom', { views: { some: { map: MAP_GROUP, reduce: REDUCE_CUSTOM } } });
  await put('include_ddocs', { options: { include_design: true }, views: { some: { map: MAP_VALUE } } });
}

const ids = (json: unknown): unknown[] => arr(obj(json).rows).map((row) => obj(row).id);

async function rows(f: CouchFixture, path: string): Promise<unknown> {
  const r = await f.req(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
}

describe('partitioned views', () => {
  test('a partitioned view is read one partition at a time, with every range parameter', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      await ddocs(f);
      const view = '/pdb/_partition/foo/_design/map/_view/some';
      const all = ids(await rows(f, view));
      assert.equal(all.length, 50);
      assert.ok(all.every((id) => String(id).startsWith('foo:')));
      assert.ok(ids(await rows(f, '/pdb/_partition/bar/_design/map/_view/some')).every((id) => String(id).startsWith('bar:')));
      assert.deepEqual(ids(await rows(f, `${view}?start_key=12&end_key=20`)), ['foo:12', 'foo:14', 'foo:16', 'foo:18', 'foo:20']);
      assert.deepEqual(ids(await rows(f, `${view}?descending=true&limit=5`)), ['foo:100', 'foo:98', 'foo:96', 'foo:94', 'foo:92']);
      assert.deepEqual(ids(await rows(f, `${view}?skip=5&limit=5`)), ['foo:12', 'foo:14', 'foo:16', 'foo:18', 'foo:20']);
      assert.deepEqual(ids(await rows(f, `${view}?key=22`)), ['foo:22']);
      assert.deepEqual(arr(obj(await rows(f, `${view}?start_key="foo:12"`)).rows), []);
      const keys = await f.req(view, { method: 'POST', json: { keys: [2, 4, 6, 7] } });
      assert.deepEqual(ids(keys.json), ['foo:2', 'foo:4', 'foo:6']);
      const docids = '/pdb/_partition/foo/_design/map_some/_view/some?startkey=["field","one"]&endkey=["field","one"]&startkey_docid=foo:12&endkey_docid=foo:30';
      assert.deepEqual(ids(await rows(f, docids)), ['foo:12', 'foo:18', 'foo:24', 'foo:30']);
      // `?partition=` is the same query (couch_mrview_http parse_param).
      assert.deepEqual(ids(await rows(f, '/pdb/_design/map/_view/some?partition=bar&limit=2')), ['bar:1', 'bar:3']);
      const queries = await f.req(`${view}/queries`, { method: 'POST', json: { queries: [{ limit: 1 }, { key: 4 }] } });
      assert.deepEqual(arr(obj(queries.json).results).map(ids), [['foo:2'], ['foo:4']]);
      // Design documents are in no partition, even with include_design.
      assert.equal(ids(await rows(f, '/pdb/_partition/foo/_design/include_ddocs/_view/some')).length, 50);
    }));

  test('partitioned and global design documents refuse the other kind of query', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      await ddocs(f);
      const global = await f.req('/pdb/_design/map/_view/some');
      assert.equal(global.status, 400);
      assert.deepEqual(global.json, { error: 'query_parse_error', reason: '`partition` parameter is mandatory for queries to this view.' });
      const inPartition = await f.req('/pdb/_partition/foo/_design/global/_view/some');
      assert.equal(inPartition.status, 400);
      assert.deepEqual(inPartition.json, { error: 'query_parse_error', reason: '`partition` parameter is not supported in this design doc' });
      assert.equal(ids(await rows(f, '/pdb/_design/global/_view/some')).length, 100);
      const keys = await f.req('/pdb/_design/global/_view/some', { method: 'POST', json: { keys: [2, 4, 6] } });
      assert.deepEqual(ids(keys.json), ['foo:2', 'foo:4', 'foo:6']);
      const conflicting = await f.req('/pdb/_partition/foo/_design/map/_view/some?partition=bar');
      assert.equal(obj(conflicting.json).reason, 'Conflicting value for `partition` in query string');
      const empty = await f.req('/pdb/_design/map/_view/some?partition=');
      assert.deepEqual(empty.json, { error: 'illegal_partition', reason: 'Partition must not be empty' });
    }));

  test('built-in and JavaScript reduce over one partition, grouped', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      await ddocs(f);
      for (const ddoc of ['reduce', 'reduce_custom']) {
        const view = `/pdb/_partition/foo/_design/${ddoc}/_view/some`;
        assert.deepEqual(obj(await rows(f, `${view}?reduce=true&group_level=1`)).rows, [{ key: ['field'], value: 50 }]);
        const two = [{ key: ['field', 'one'], value: 16 }, { key: ['field', 'two'], value: 34 }];
        assert.deepEqual(obj(await rows(f, `${view}?reduce=true&group_level=2`)).rows, two);
        assert.deepEqual(obj(await rows(f, `${view}?group=true`)).rows, two);
      }
      assert.deepEqual(obj(await rows(f, '/pdb/_partition/bar/_design/reduce/_view/some')).rows, [{ key: null, value: 50 }]);
    }));

  test('updates, deletions and partition_query_limit', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      await ddocs(f);
      const view = '/pdb/_partition/foo/_design/map/_view/some';
      assert.equal(ids(await rows(f, `${view}?key=2`)).length, 1);
      const doc = obj((await f.req('/pdb/foo:2')).json);
      assert.equal((await f.req('/pdb/foo:2', { method: 'PUT', json: { ...doc, value: 4 } })).status, 201);
      assert.equal(ids(await rows(f, `${view}?key=4`)).length, 2);
      assert.equal(ids(await rows(f, `${view}?key=2`)).length, 0);
      const rev = obj((await f.req('/pdb/foo:4')).json)._rev as string;
      assert.equal((await f.req(`/pdb/foo:4?rev=${rev}`, { method: 'DELETE' })).status, 200);
      assert.deepEqual(ids(await rows(f, `${view}?key=4`)), ['foo:2']);
      const purged = obj((await f.req('/pdb/foo:6')).json)._rev as string;
      assert.equal((await f.req('/pdb/_purge', { method: 'POST', json: { 'foo:6': [purged] } })).status, 201);
      assert.deepEqual(ids(await rows(f, `${view}?key=6`)), []);
      assert.equal((await f.req('/_node/_local/_config/query_server_config/partition_query_limit', { method: 'PUT', json: '20' })).status, 200);
      assert.equal(ids(await rows(f, view)).length, 20);
      const over = await f.req(`${view}?limit=21`);
      assert.deepEqual(over.json, { error: 'query_parse_error', reason: 'Limit is too large, must not exceed 20' });
      assert.equal(ids(await rows(f, '/pdb/_design/global/_view/some')).length, 98);
      assert.equal((await f.req('/_node/_local/_config/query_server_config/query_limit', { method: 'PUT', json: '10' })).status, 200);
      assert.equal(ids(await rows(f, '/pdb/_design/global/_view/some')).length, 10);
      assert.equal((await f.req('/pdb/_design/global/_view/some?limit=11')).status, 400);
    }));

  test('list and show functions under /_partition/{p}/: a list reads that partition of its view', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      const lists = { ids: 'function (head, req) { var row, out = []; while ((row = getRow())) out.push(row.id); send(JSON.stringify(out)); }' };
      const shows = { part: 'function (doc, req) { return req.query.partition + ":" + (doc ? doc._id : "none"); }' };
      assert.equal((await f.req('/pdb/_design/app', { method: 'PUT', json: { views: { some: { map: MAP_VALUE } }, lists, shows } })).status, 201);
      const listed = await f.req('/pdb/_partition/bar/_design/app/_list/ids/some?limit=3');
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(JSON.parse(listed.text), ['bar:1', 'bar:3', 'bar:5']);
      assert.equal((await f.req('/pdb/_design/app/_list/ids/some')).status, 400);
      const shown = await f.req('/pdb/_partition/foo/_design/app/_show/part/foo:2');
      assert.equal(shown.text, 'foo:foo:2');
    }));
});
