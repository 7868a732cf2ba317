/**
 * `[disk_monitor]` (couch_disk_monitor.erl), ported from CouchDB's disk_monitor_test.exs: with the
 * monitor on, a threshold of 0 is exceeded by any used filesystem and 100 never, so the real
 * data directory's disk decides. Interactive writes are refused with 507 "database_dir is too
 * full" (replicated ones and database deletion are not); a query that would update a stale
 * index is 507 "not enough room to update index", while `stale=ok` / `update=false` and an index
 * already up to date still answer. Freshet has no background indexing to block.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
const AUTH = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
const WRITES_FULL = { error: 'insufficent_storage', reason: 'database_dir is too full' };
const INDEX_FULL = { error: 'insufficent_storage', reason: 'not enough room to update index' };

async function call(path: string, opts: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; json?: unknown; body?: string; contentType?: string } = {}): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { authorization: AUTH };
  if (opts.json !== undefined || opts.contentType) headers['content-type'] = opts.contentType ?? 'application/json';
  const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
  const res = await request(`http://127.0.0.1:${t.server.ports.http}${path}`, { method: opts.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

const setConfig = async (key: string, value: string): Promise<void> => {
  assert.equal((await call(`/_node/_local/_config/disk_monitor/${key}`, { method: 'PUT', json: value })).status, 200);
};

let dbCount = 0;
async function freshDb(): Promise<string> {
  const name = `disk-monitor-${++dbCount}`;
  assert.equal((await call(`/${name}`, { method: 'PUT' })).status, 201);
  return name;
}

const MAP_DOC = { views: { bar: { map: 'function(doc) { emit(); }' }, count: { map: 'function(doc) { emit(doc._id, 1); }', reduce: '_count' } } };

before(async () => {
  t = await startTestServer({ numVBuckets: 8 });
});
after(() => t.close());
// disk_monitor_test.exs setup_all: every threshold at 100, the monitor on.
beforeEach(async () => {
  for (const key of ['interactive_view_indexing_threshold', 'background_view_indexing_threshold', 'interactive_database_writes_threshold']) await setConfig(key, '100');
  await setConfig('enable', 'true');
});

describe('[disk_monitor]', () => {
  test('block background view indexing: nothing is indexed until a query asks', async () => {
    await setConfig('background_view_indexing_threshold', '0');
    await setConfig('interactive_view_indexing_threshold', '100');
    const db = await freshDb();
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'foo' } })).status, 201);
    assert.equal((await call(`/${db}/_design/foo`, { method: 'PUT', json: MAP_DOC })).status, 201);
    await sleep(500);
    assert.equal(((await call(`/${db}/_design/foo/_view/bar?stale=ok`)).json as { total_rows: number }).total_rows, 0);
    assert.equal(((await call(`/${db}/_design/foo/_view/bar`)).json as { total_rows: number }).total_rows, 1);
  });

  test('block interactive view indexing: a stale index is 507 unless stale=ok / update=false', async () => {
    await setConfig('background_view_indexing_threshold', '100');
    await setConfig('interactive_view_indexing_threshold', '0');
    const db = await freshDb();
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'foo' } })).status, 201);
    assert.equal((await call(`/${db}/_design/foo`, { method: 'PUT', json: MAP_DOC })).status, 201);
    const blocked = await call(`/${db}/_design/foo/_view/bar`);
    assert.deepEqual([blocked.status, blocked.json], [507, INDEX_FULL]);
    assert.equal((await call(`/${db}/_design/foo/_view/count`)).status, 507);
    assert.equal((await call(`/${db}/_design/foo/_view/bar`, { method: 'POST', json: { keys: [null] } })).status, 507);
    assert.equal((await call(`/${db}/_design/foo/_view/bar?stale=ok`)).status, 200);
    assert.equal((await call(`/${db}/_design/foo/_view/bar?update=false`)).status, 200);
    // Room again: the query brings the index up to date; up to date, it answers even when blocked.
    await setConfig('interactive_view_indexing_threshold', '100');
    assert.equal(((await call(`/${db}/_design/foo/_view/bar`)).json as { total_rows: number }).total_rows, 1);
    await setConfig('interactive_view_indexing_threshold', '0');
    assert.equal(((await call(`/${db}/_design/foo/_view/bar`)).json as { total_rows: number }).total_rows, 1);
    assert.deepEqual((await call(`/${db}/_design/foo/_view/count`)).json, { rows: [{ key: null, value: 1 }] });
    // A new write makes it stale again (writes are not blocked here).
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'bar' } })).status, 201);
    assert.equal((await call(`/${db}/_design/foo/_view/bar`)).status, 507);
    assert.equal(((await call(`/${db}/_design/foo/_view/bar?stale=ok`)).json as { total_rows: number }).total_rows, 1);
  });

  test('block interactive database writes: 507 for every interactive write, not for replicated ones', async () => {
    const db = await freshDb();
    const created = await call(`/${db}/doc`, { method: 'PUT', json: { a: 1 } });
    const rev = (created.json as { rev: string }).rev;
    await setConfig('interactive_database_writes_threshold', '0');
    const post = await call(`/${db}`, { method: 'POST', json: { _id: 'foo' } });
    assert.deepEqual([post.status, post.json], [507, WRITES_FULL]);
    assert.equal((await call(`/${db}/doc`, { method: 'PUT', json: { _rev: rev, a: 2 } })).status, 507);
    assert.equal((await call(`/${db}/doc?rev=${rev}`, { method: 'DELETE' })).status, 507);
    assert.equal((await call(`/${db}/doc/att.txt?rev=${rev}`, { method: 'PUT', body: 'hello', contentType: 'text/plain' })).status, 507);
    assert.equal((await call(`/${db}/_design/d`, { method: 'PUT', json: MAP_DOC })).status, 507);
    assert.equal((await call(`/${db}/_local/checkpoint`, { method: 'PUT', json: { seq: 1 } })).status, 507);
    const bulk = await call(`/${db}/_bulk_docs`, { method: 'POST', json: { docs: [{ _id: 'b1' }, { _id: 'b2' }] } });
    assert.deepEqual([bulk.status, bulk.json], [201, [{ id: 'b1', ...WRITES_FULL }, { id: 'b2', ...WRITES_FULL }]]);
    // Replicated writes still go through, and reads answer.
    const replicated = await call(`/${db}/_bulk_docs`, { method: 'POST', json: { new_edits: false, docs: [{ _id: 'r1', _rev: '1-abc', v: 1 }] } });
    assert.deepEqual([replicated.status, replicated.json], [201, []]);
    assert.equal((await call(`/${db}/r1`)).status, 200);
    assert.equal(((await call(`/${db}/doc`)).json as { a: number }).a, 1);
    // The threshold is read live: 100 is never exceeded.
    await setConfig('interactive_database_writes_threshold', '100');
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'foo' } })).status, 201);
    await setConfig('interactive_database_writes_threshold', '0');
    // Deleting (and creating) a database is not a document write.
    assert.equal((await call(`/${db}`, { method: 'DELETE' })).status, 200);
    assert.equal((await call(`/${db}`, { method: 'PUT' })).status, 201);
  });

  test('enable = false (the default): thresholds are not looked at', async () => {
    await setConfig('interactive_database_writes_threshold', '0');
    await setConfig('interactive_view_indexing_threshold', '0');
    await setConfig('enable', 'false');
    const db = await freshDb();
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'foo' } })).status, 201);
    assert.equal((await call(`/${db}/_design/foo`, { method: 'PUT', json: MAP_DOC })).status, 201);
    assert.equal(((await call(`/${db}/_design/foo/_view/bar`)).json as { total_rows: number }).total_rows, 1);
    assert.equal((await call('/_node/_local/_config/disk_monitor/enable', { method: 'DELETE' })).status, 200);
    assert.equal((await call(`/${db}`, { method: 'POST', json: { _id: 'foo2' } })).status, 201);
  });
});
