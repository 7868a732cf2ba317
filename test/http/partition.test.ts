/**
 * Partitioned databases (CouchDB 3 api/partitioned-dbs.rst; couch_partition.erl, chttpd_db
 * handle_partition_req): creation and props, `partition:id` document ids on every write path,
 * `/{db}/_partition/{p}` info and routing errors, and `_all_docs` confined to a partition. Views:
 * partition-views.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch } from './helpers.js';
import { ADMIN } from '../helpers/server.js';
import { seedPartitioned } from './partition-fixture.js';

const ids = (json: unknown): unknown[] => arr(obj(json).rows).map((row) => obj(row).id);

describe('partitioned databases', () => {
  test('creation: props, the welcome features, bad values and system databases', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/pdb?partitioned=true', { method: 'PUT' })).status, 201);
      assert.deepEqual(obj((await f.req('/pdb')).json).props, { partitioned: true });
      assert.equal((await f.req('/plain?partitioned=false', { method: 'PUT' })).status, 201);
      assert.deepEqual(obj((await f.req('/plain')).json).props, {});
      assert.ok(arr(obj((await f.req('/')).json).features).includes('partitioned'));
      const bad = await f.req('/bad?partitioned=tru', { method: 'PUT' });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json, { error: 'bad_request', reason: 'Invalid `partitioned` parameter' });
      assert.equal((await f.req('/bad')).status, 404);
      const sys = await f.req('/_replicator?partitioned=true', { method: 'PUT' });
      assert.equal(sys.status, 400);
      assert.equal(obj(sys.json).reason, 'Cannot partition a system database');
    }));

  test('document ids must be partition:id on every write path', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/pdb?partitioned=true', { method: 'PUT' })).status, 201);
      const put = async (id: string): Promise<unknown> => (await f.req(`/pdb/${encodeURIComponent(id)}`, { method: 'PUT', json: { x: 1 } })).json;
      assert.deepEqual(await put('not-partitioned'), { error: 'illegal_docid', reason: 'Doc id must be of form partition:id' });
      assert.deepEqual(await put('_bad:partitioned'), { error: 'illegal_docid', reason: 'Only reserved document ids may start with underscore.' });
      assert.deepEqual(await put('bad:'), { error: 'illegal_docid', reason: 'Document id must not be empty' });
      assert.deepEqual(await put(':x'), { error: 'illegal_partition', reason: 'Partition must not be empty' });
      assert.equal(obj(await put('my-partition:doc')).ok, true);
      assert.equal(obj(await put('_design/d')).ok, true);
      assert.equal((await f.req('/pdb/_local/l', { method: 'PUT', json: { x: 1 } })).status, 201);
      // POST without an _id gets a generated id, which has no partition (as in CouchDB).
      const post = await f.req('/pdb', { method: 'POST', json: { x: 1 } });
      assert.equal(post.status, 400);
      assert.equal(obj(post.json).error, 'illegal_docid');
      // _bulk_docs: one bad id fails the whole request, nothing is written.
      const bulk = await f.req('/pdb/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'foo:1' }, { _id: 'foo1' }] } });
      assert.equal(bulk.status, 400);
      assert.deepEqual(bulk.json, { error: 'illegal_docid', reason: 'Doc id must be of form partition:id' });
      assert.equal((await f.req('/pdb/foo:1')).status, 404);
      // Attachments and copies go through the same check.
      assert.equal((await f.req('/pdb/nopart/a.txt', { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } })).status, 400);
      const copy = await f.req('/pdb/my-partition:doc', { method: 'COPY', headers: { destination: 'nopart' } });
      assert.equal(copy.status, 400);
      // Reads, deletions and purges look the document up by its partition.
      assert.deepEqual((await f.req('/pdb/nopart')).json, { error: 'illegal_docid', reason: 'Doc id must be of form partition:id' });
      assert.equal((await f.req('/pdb/nopart?rev=1-abc', { method: 'DELETE' })).status, 400);
      assert.equal((await f.req('/pdb/foo:missing')).status, 404);
      const purge = await f.req('/pdb/_purge', { method: 'POST', json: { no_partition: ['1-967a00dff5e02add41819138abb3284d'] } });
      assert.equal(purge.status, 400);
      assert.equal(obj(purge.json).error, 'illegal_docid');
      // _bulk_get: the refusal is that entry's error, with a null rev.
      const got = await f.req('/pdb/_bulk_get', { method: 'POST', json: { docs: [{ id: 'my-partition-post' }] } });
      assert.equal(got.status, 200);
      assert.deepEqual(got.json, { results: [{ id: 'my-partition-post', docs: [{ error: { id: 'my-partition-post', rev: null, error: 'illegal_docid', reason: 'Doc id must be of form partition:id' } }] }] });
    }));

  test('design documents: options.partitioned must be a boolean, and true only in a partitioned database', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/pdb?partitioned=true', { method: 'PUT' })).status, 201);
      assert.equal((await f.req('/plain', { method: 'PUT' })).status, 201);
      const bad = await f.req('/pdb/_design/x', { method: 'PUT', json: { options: { partitioned: 'yes' } } });
      assert.deepEqual(bad.json, { error: 'invalid_design_doc', reason: '`options.partitioned` field must have boolean type' });
      const plain = await f.req('/plain/_design/x', { method: 'PUT', json: { options: { partitioned: true } } });
      assert.deepEqual(plain.json, { error: 'invalid_design_doc', reason: 'partitioned option cannot be true in a non-partitioned database.' });
      assert.equal((await f.req('/plain/_design/y', { method: 'PUT', json: { options: { partitioned: false } } })).status, 201);
    }));

  test('GET /{db}/_partition/{p}: counts and sizes of the partition only', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      const foo = obj((await f.req('/pdb/_partition/foo')).json);
      assert.equal(foo.db_name, 'pdb');
      assert.equal(foo.partition, 'foo');
      assert.equal(foo.doc_count, 50);
      assert.equal(foo.doc_del_count, 0);
      assert.ok((obj(foo.sizes).external as number) > 0);
      const rev = obj((await f.req('/pdb/foo:2')).json)._rev as string;
      assert.equal((await f.req(`/pdb/foo:2?rev=${rev}`, { method: 'DELETE' })).status, 200);
      const after = obj((await f.req('/pdb/_partition/foo')).json);
      assert.equal(after.doc_count, 49);
      assert.equal(after.doc_del_count, 1);
      assert.deepEqual(obj((await f.req('/pdb/_partition/bar')).json).doc_count, 50);
      // A purged document is no document at all: neither live nor deleted.
      const bar1 = obj((await f.req('/pdb/bar:1')).json)._rev as string;
      assert.equal((await f.req('/pdb/_purge', { method: 'POST', json: { 'bar:1': [bar1] } })).status, 201);
      const purged = obj((await f.req('/pdb/_partition/bar')).json);
      assert.deepEqual([purged.doc_count, purged.doc_del_count], [49, 0]);
      const none = obj((await f.req('/pdb/_partition/nothing')).json);
      assert.deepEqual([none.doc_count, none.doc_del_count, obj(none.sizes).external], [0, 0, 0]);
    }));

  test('routing errors: CouchDB order of checks and texts', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      assert.equal((await f.req('/plain', { method: 'PUT' })).status, 201);
      const expect = async (path: string, status: number, error: string, reason: string, method = 'GET'): Promise<void> => {
        const r = await f.req(path, method === 'GET' ? {} : { method, json: {} });
        assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
        assert.deepEqual(r.json, { error, reason }, `${method} ${path}`);
      };
      await expect('/pdb/_partition', 400, 'bad_request', 'invalid_partition_req');
      await expect('/pdb/_partition/_bar/_all_docs', 400, 'illegal_partition', 'Partition must not start with an underscore');
      await expect('/pdb/_partition/_find', 400, 'illegal_partition', 'Partition must not start with an underscore', 'POST');
      await expect('/pdb/_partition/foo/_all_docs?partition=bar', 400, 'bad_request', 'Conflicting value for `partition` in query string');
      await expect('/pdb/_partition/foo/_changes', 404, 'not_found', 'missing');
      await expect('/pdb/_partition/foo/foo:2', 404, 'not_found', 'missing');
      await expect('/pdb/_partition/fakekey/_design/mrtest/_view/some', 404, 'not_found', 'missing');
      await expect('/plain/_partition/foo', 400, 'bad_request', 'database is not partitioned');
      await expect('/plain/_partition/foo/_all_docs', 400, 'bad_request', 'database is not partitioned');
      await expect('/plain/_all_docs?partition=foo', 400, 'query_parse_error', '`partition` parameter is not supported on this db');
      assert.equal((await f.req('/pdb/_partition/foo', { method: 'DELETE' })).status, 405);
    }));

  test('_all_docs in a partition: range, keys, limit, skip, descending, key, as CouchDB orders ids', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      const get = async (qs: string): Promise<unknown[]> => {
        const r = await f.req(`/pdb/_partition/foo/_all_docs${qs}`);
        assert.equal(r.status, 200, r.text);
        return ids(r.json);
      };
      const all = await get('');
      assert.equal(all.length, 50);
      assert.ok(all.every((id) => String(id).startsWith('foo:')));
      assert.deepEqual(await get('?start_key="foo:12"&end_key="foo:2"'), ['foo:12', 'foo:14', 'foo:16', 'foo:18', 'foo:2']);
      assert.deepEqual(await get('?descending=true&limit=5'), ['foo:98', 'foo:96', 'foo:94', 'foo:92', 'foo:90']);
      assert.deepEqual(await get('?limit=5'), ['foo:10', 'foo:100', 'foo:12', 'foo:14', 'foo:16']);
      assert.deepEqual(await get('?skip=5&limit=5'), ['foo:18', 'foo:2', 'foo:20', 'foo:22', 'foo:24']);
      assert.deepEqual(await get('?key="foo:22"'), ['foo:22']);
      // A start key below the partition is raised to it; one above leaves nothing.
      assert.deepEqual((await get('?start_key="a"&limit=1')), ['foo:10']);
      assert.deepEqual(await get('?start_key="zzz"'), []);
      const keys = await f.req('/pdb/_partition/foo/_all_docs', { method: 'POST', json: { keys: ['foo:2', 'foo:4', 'foo:6'] } });
      assert.deepEqual(ids(keys.json), ['foo:2', 'foo:4', 'foo:6']);
      const queries = await f.req('/pdb/_partition/bar/_all_docs/queries', { method: 'POST', json: { queries: [{ limit: 2 }, { descending: true, limit: 1 }] } });
      assert.deepEqual(arr(obj(queries.json).results).map(ids), [['bar:1', 'bar:11'], ['bar:99']]);
      assert.deepEqual(ids((await f.req('/pdb/_all_docs?partition=bar&limit=1')).json), ['bar:1']);
    }));

  test('[query_server_config] partition_query_limit bounds partitioned _all_docs', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      assert.equal((await f.req('/_node/_local/_config/query_server_config/partition_query_limit', { method: 'PUT', json: '20' })).status, 200);
      assert.equal(ids((await f.req('/pdb/_partition/foo/_all_docs')).json).length, 20);
      assert.equal(ids((await f.req('/pdb/_partition/foo/_all_docs?limit=20&skip=25')).json).length, 20);
      const over = await f.req('/pdb/_partition/foo/_all_docs?limit=21');
      assert.equal(over.status, 400);
      assert.deepEqual(over.json, { error: 'query_parse_error', reason: 'Limit is too large, must not exceed 20' });
      // The global listing is not bounded by it.
      assert.equal(ids((await f.req('/pdb/_all_docs')).json).length, 100);
    }));

  test('replication: create_target_params makes a partitioned target, locally and over HTTP', () =>
    withCouch(async (f) => {
      await seedPartitioned(f);
      const local = await f.req('/_replicate', { method: 'POST', json: { source: 'pdb', target: 'copy1', create_target: true, create_target_params: { partitioned: true, q: 2 } } });
      assert.equal(local.status, 200, local.text);
      const info = obj((await f.req('/copy1')).json);
      assert.deepEqual(info.props, { partitioned: true });
      assert.equal(obj(info.cluster).q, 2);
      assert.equal(obj((await f.req('/copy1/_partition/foo')).json).doc_count, 50);
      const url = `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${f.listener.port}`;
      const http = await f.req('/_replicate', { method: 'POST', json: { source: `${url}/pdb`, target: `${url}/copy2`, create_target: true, create_target_params: { partitioned: true } } });
      assert.equal(http.status, 200, http.text);
      assert.deepEqual(obj((await f.req('/copy2')).json).props, { partitioned: true });
      assert.equal(ids((await f.req('/copy2/_partition/bar/_all_docs')).json).length, 50);
      const bad = await f.req('/_replicate', { method: 'POST', json: { source: 'pdb', target: 'copy3', create_target: true, create_target_params: [1] } });
      assert.equal(bad.status, 400);
    }));
});
