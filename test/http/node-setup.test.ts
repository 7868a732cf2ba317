/**
 * CouchDB's node and setup endpoints (chttpd_node, setup_httpd, mem3_reshard_httpd): `/_node`,
 * `/_node/_local`, `_versions`, `_system`, `/_cluster_setup` as a single node answers it, and
 * `/_reshard` refused as CouchDB refuses it with resharding disabled. All for server admins.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch } from './helpers.js';

describe('node endpoints', () => {
  test('/_node, /_node/_local, another node, _versions and _system', () =>
    withCouch(async (f) => {
      assert.deepEqual((await f.req('/_node')).json, { error: 'bad_request', reason: 'Incomplete path to _node request' });
      const name = obj((await f.req('/_node/_local')).json).name;
      assert.equal(typeof name, 'string');
      assert.deepEqual((await f.req('/_node/_local', { method: 'POST', json: {} })).json, { name });
      assert.deepEqual(obj((await f.req('/_membership')).json).all_nodes, [name]);
      assert.deepEqual((await f.req(`/_node/${String(name)}`)).json, { name });
      const other = await f.req('/_node/someone@elsewhere/_versions');
      assert.equal(other.status, 404);
      assert.deepEqual(other.json, { error: 'not_found', reason: 'no such node: someone@elsewhere' });
      const versions = obj((await f.req('/_node/_local/_versions')).json);
      assert.deepEqual(Object.keys(versions), ['collation_driver', 'erlang', 'javascript_engine']);
      assert.equal(obj(versions.collation_driver).name, 'libicu');
      assert.equal(obj(versions.collation_driver).library_version, process.versions.icu);
      assert.ok(arr(obj(versions.erlang).supported_hashes).includes('sha256'));
      assert.equal(obj(versions.javascript_engine).name, 'quickjs');
      assert.equal((await f.req('/_node/_local/_versions', { method: 'POST', json: {} })).status, 405);
      const system = obj((await f.req('/_node/_local/_system')).json);
      for (const key of ['uptime', 'memory', 'run_queue', 'ets_table_count', 'context_switches', 'reductions', 'garbage_collection_count', 'words_reclaimed', 'io_input', 'io_output', 'os_proc_count', 'stale_proc_count', 'process_count', 'process_limit', 'message_queues', 'internal_replication_jobs', 'distribution']) {
        assert.ok(key in system, key);
      }
      assert.ok((obj(system.memory).processes_used as number) > 0);
      assert.ok((system.context_switches as number) > 0);
      const anonymous = await f.req('/_node/_local/_system', { auth: null });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(anonymous.json, { error: 'unauthorized', reason: 'You are not a server admin.' });
    }));

  test('/_reshard: 501, as CouchDB with resharding disabled', () =>
    withCouch(async (f) => {
      for (const path of ['/_reshard', '/_reshard/state', '/_reshard/jobs']) {
        const r = await f.req(path);
        assert.equal(r.status, 501, path);
        assert.deepEqual(r.json, { error: 'not_implemented', reason: 'this feature is not yet implemented' });
      }
      assert.equal((await f.req('/_reshard/jobs', { method: 'POST', json: { type: 'split', db: 'x' } })).status, 501);
      assert.equal((await f.req('/_reshard', { auth: null })).status, 401);
    }));
});

describe('/_cluster_setup', () => {
  test('state, enable_single_node and finish_cluster create the system databases', () =>
    withCouch(async (f) => {
      assert.deepEqual((await f.req('/_cluster_setup')).json, { state: 'single_node_disabled' });
      assert.deepEqual((await f.req('/_cluster_setup?ensure_dbs_exist=[]')).json, { state: 'single_node_enabled' });
      const admin = obj(obj((await f.req('/_session')).json).userCtx).name as string;
      const enabled = await f.req('/_cluster_setup', { method: 'POST', json: { action: 'enable_single_node', username: admin, password: 'x', bind_address: '0.0.0.0', port: 5984 } });
      assert.equal(enabled.status, 201, enabled.text);
      assert.deepEqual(enabled.json, { ok: true });
      const dbs = arr((await f.req('/_all_dbs')).json);
      assert.ok(dbs.includes('_users') && dbs.includes('_replicator'), JSON.stringify(dbs));
      assert.deepEqual((await f.req('/_cluster_setup')).json, { state: 'single_node_enabled' });
      // Again: still 201; finish_cluster with everything there is 400.
      assert.equal((await f.req('/_cluster_setup', { method: 'POST', json: { action: 'enable_single_node' } })).status, 201);
      const finished = await f.req('/_cluster_setup', { method: 'POST', json: { action: 'finish_cluster' } });
      assert.deepEqual(finished.json, { error: 'bad_request', reason: 'Cluster is already finished' });
      const extra = await f.req('/_cluster_setup', { method: 'POST', json: { action: 'finish_cluster', ensure_dbs_exist: ['_users', 'extra'] } });
      assert.equal(extra.status, 201);
      assert.equal((await f.req('/extra')).status, 200);
      assert.deepEqual((await f.req('/_cluster_setup?ensure_dbs_exist=["nothere"]')).json, { state: 'single_node_disabled' });
    }));

  test('refusals: other administrators, cluster actions, unknown actions, content type, non-admins', () =>
    withCouch(async (f) => {
      const other = await f.req('/_cluster_setup', { method: 'POST', json: { action: 'enable_single_node', username: 'someone', password: 'x' } });
      assert.equal(other.status, 400);
      assert.match(String(obj(other.json).reason), /Couchbase administrator/);
      for (const action of ['enable_cluster', 'add_node', 'receive_cookie']) {
        assert.equal((await f.req('/_cluster_setup', { method: 'POST', json: { action } })).status, 400, action);
      }
      assert.equal((await f.req('/_cluster_setup', { method: 'POST', json: { action: 'remove_node' } })).status, 201);
      assert.deepEqual((await f.req('/_cluster_setup', { method: 'POST', json: { action: 'nope' } })).json, { error: 'bad_request', reason: "Invalid Action'" });
      assert.equal((await f.req('/_cluster_setup', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } })).status, 415);
      assert.equal((await f.req('/_cluster_setup', { auth: null })).status, 401);
      assert.equal((await f.req('/_cluster_setup', { method: 'DELETE' })).status, 405);
      assert.ok(!arr((await f.req('/_all_dbs')).json).includes('_users'));
    }));
});
