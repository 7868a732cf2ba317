/**
 * Filtered replication with JavaScript filters (src/design/filters.ts): PouchDB pull and push with
 * a design-document filter, with and without `query_params`, and with `filter=_view`;
 * `_replicate` with `filter` and `query_params` from a local source and over HTTP;
 * `freshet replicate --filter --query-params` as a user runs it; and the replication id hashing
 * the filter's code and parameters, as couch_replicator_ids does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ADMIN } from '../helpers/server.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB, type PouchDatabase } from './pouch.js';
import { replicationIds } from '../../src/replicator/replication-id.js';

const APP = {
  _id: '_design/app',
  filters: {
    by_type: 'function (doc, req) { return doc.type === req.query.type; }',
    even: 'function (doc) { return typeof doc.n === "number" && doc.n % 2 === 0; }',
  },
  views: { only_a: { map: 'function (doc) { if (doc.type === "a") emit(doc._id, null); }' } },
};
const DOCS = Array.from({ length: 12 }, (_, n) => ({ _id: `d${String(n).padStart(2, '0')}`, n, type: n % 3 === 0 ? 'a' : 'b' }));
const idsWhere = (pred: (d: (typeof DOCS)[number]) => boolean): string[] => DOCS.filter(pred).map((d) => d._id);

async function seed(f: CouchFixture, name = 'db'): Promise<void> {
  await createDb(f, name);
  const r = await f.req(`/${name}/_bulk_docs`, { method: 'POST', json: { docs: [APP, ...DOCS] } });
  assert.equal(r.status, 201);
}

let counter = 0;
const local = (): PouchDatabase => new PouchDB(`filtered-${process.pid}-${++counter}`, { adapter: 'memory' });
const remote = (f: CouchFixture, name = 'db'): PouchDatabase =>
  new PouchDB(`${f.base}/${name}`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });

async function localIds(db: PouchDatabase): Promise<string[]> {
  const all = (await (db as unknown as { allDocs(): Promise<{ rows: Array<{ id: string }> }> }).allDocs()).rows;
  return all.map((r) => r.id).filter((id) => !id.startsWith('_design/'));
}

async function serverIds(f: CouchFixture, name: string): Promise<string[]> {
  const r = obj((await f.req(`/${name}/_all_docs`)).json);
  return arr(r.rows).map((row) => obj(row).id as string).filter((id) => !id.startsWith('_design/'));
}

describe('PouchDB filtered replication', () => {
  test('pull with a design filter, with and without query_params, and with filter=_view', () =>
    withCouch(async (f) => {
      await seed(f);
      const withParams = local();
      const r1 = await withParams.replicate.from(remote(f), { filter: 'app/by_type', query_params: { type: 'a' } });
      assert.equal(r1.ok, true);
      assert.deepEqual(await localIds(withParams), idsWhere((d) => d.type === 'a'));
      const noParams = local();
      await noParams.replicate.from(remote(f), { filter: 'app/even' });
      assert.deepEqual(await localIds(noParams), idsWhere((d) => d.n % 2 === 0));
      const byView = local();
      await byView.replicate.from(remote(f), { filter: '_view', view: 'app/only_a' });
      assert.deepEqual(await localIds(byView), idsWhere((d) => d.type === 'a'));
      await Promise.all([withParams.destroy(), noParams.destroy(), byView.destroy()]);
    }));

  test('push with a design filter, with and without query_params', () =>
    withCouch(async (f) => {
      await createDb(f, 'pa');
      await createDb(f, 'pb');
      const src = local();
      await src.bulkDocs([APP, ...DOCS]);
      await src.replicate.to(remote(f, 'pa'), { filter: 'app/by_type', query_params: { type: 'b' } });
      assert.deepEqual(await serverIds(f, 'pa'), idsWhere((d) => d.type === 'b'));
      await src.replicate.to(remote(f, 'pb'), { filter: 'app/even' });
      assert.deepEqual(await serverIds(f, 'pb'), idsWhere((d) => d.n % 2 === 0));
      await src.destroy();
    }));
});

describe('_replicate with filter and query_params', () => {
  test('from a local source and over HTTP; a missing filter fails the request with 404', () =>
    withCouch(async (f) => {
      await seed(f, 'src');
      const local1 = await f.req('/_replicate', { method: 'POST', json: { source: 'src', target: 'dst1', create_target: true, filter: 'app/by_type', query_params: { type: 'a' } } });
      assert.equal(local1.status, 200, local1.text);
      assert.deepEqual(await serverIds(f, 'dst1'), idsWhere((d) => d.type === 'a'));
      const url = `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${f.listener.port}`;
      const http = await f.req('/_replicate', { method: 'POST', json: { source: `${url}/src`, target: `${url}/dst2`, create_target: true, filter: 'app/even' } });
      assert.equal(http.status, 200, http.text);
      assert.deepEqual(await serverIds(f, 'dst2'), idsWhere((d) => d.n % 2 === 0));
      const missing = await f.req('/_replicate', { method: 'POST', json: { source: 'src', target: 'dst3', create_target: true, filter: 'app/nope' } });
      assert.ok(missing.status >= 400, missing.text);
      assert.match(missing.text, /missing json key: nope/);
    }));
});

describe('freshet replicate --filter', () => {
  test('--filter with --query-params copies only the passing documents', () =>
    withCouch(async (f) => {
      await seed(f, 'clisrc');
      const url = `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${f.listener.port}`;
      const args = ['--import', 'tsx', 'test/replicator/helpers/cli-main.ts', 'replicate', `${url}/clisrc`, `${url}/clidst`, '--create-target', '--filter', 'app/by_type', '--query-params', '{"type":"b"}'];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, err);
      const summary = obj(JSON.parse(out.trim().split('\n').pop()!));
      assert.equal(summary.docs_written, idsWhere((d) => d.type === 'b').length);
      assert.deepEqual(await serverIds(f, 'clidst'), idsWhere((d) => d.type === 'b'));
    }));
});

describe('replication id', () => {
  test("hashes the filter function's code and the query parameters", () => {
    const ep = { user: undefined, host: 'h', port: 'default' as const, path: '/s/', headers: [] };
    const tgt = { ...ep, path: '/t/' };
    const id = (code: string, queryParams?: Record<string, unknown>): string =>
      replicationIds({ nodeUuid: 'n', source: ep, target: tgt, filter: { name: 'app/f', code, ...(queryParams ? { queryParams } : {}) } }).baseId;
    assert.notEqual(id('function (d) { return true; }'), id('function (d) { return false; }'));
    assert.notEqual(id('function (d) { return true; }', { type: 'a' }), id('function (d) { return true; }', { type: 'b' }));
    // Surrounding whitespace is trimmed, as couch_replicator_ids does.
    assert.equal(id('  function (d) { return true; }\n'), id('function (d) { return true; }'));
  });
});
