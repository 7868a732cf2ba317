import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch } from './helpers.js';

describe('server endpoints', () => {
  test('GET / carries a uuid that is stable across requests and equal to the engine uuid', () =>
    withCouch(async (f) => {
      const a = await f.req('/', { auth: null });
      const b = await f.req('/');
      assert.equal(a.status, 200);
      assert.equal(obj(a.json).couchdb, 'Welcome');
      assert.equal(obj(a.json).uuid, f.engine.uuid);
      assert.equal(obj(b.json).uuid, obj(a.json).uuid);
      // chttpd's per-response headers, on errors too.
      assert.match(String(a.headers['x-couch-request-id']), /^[0-9a-f]{10}$/);
      assert.notEqual(a.headers['x-couch-request-id'], b.headers['x-couch-request-id']);
      assert.equal((await f.req('/nosuchdb')).headers['x-couchdb-body-time'], '0');
      // CouchDB's product token first (COUCHDB-379), Freshet's in the comment.
      assert.match(String(a.headers.server), /^CouchDB\/3\.3\.3 \(Freshet\/\d+\.\d+\.\d+\)$/);
      assert.match(String((await f.req('/nosuchdb')).headers.server), /^CouchDB\//);
    }));

  test('a client may name the request id (X-Couch-Request-ID, CouchDB 3.4.3+); an unfit one is replaced', () =>
    withCouch(async (f) => {
      const uuid = 'E7498DE1-B661-42FA-943D-17F890143068';
      assert.equal((await f.req('/', { headers: { 'x-couch-request-id': uuid } })).headers['x-couch-request-id'], uuid);
      const onError = await f.req('/nosuchdb', { headers: { 'x-couch-request-id': 'trace_1' } });
      assert.deepEqual([onError.status, onError.headers['x-couch-request-id']], [404, 'trace_1']);
      for (const bad of ['a'.repeat(37), 'has space', 'semi;colon']) {
        assert.match(String((await f.req('/', { headers: { 'x-couch-request-id': bad } })).headers['x-couch-request-id']), /^[0-9a-f]{10}$/, bad);
      }
    }));

  test('_uuids: count of them, different each time, never cached', () =>
    withCouch(async (f) => {
      const r = await f.req('/_uuids?count=3');
      const list = obj(r.json).uuids as string[];
      assert.equal(list.length, 3);
      assert.equal(new Set(list).size, 3);
      assert.equal(r.headers['cache-control'], 'must-revalidate, no-cache');
      assert.equal(r.headers.pragma, 'no-cache');
      assert.match(String(r.headers.etag), /^"[0-9a-f]{32}"$/);
      assert.notEqual((await f.req('/_uuids')).headers.etag, r.headers.etag);
      assert.equal((await f.req('/_uuids?count=1001')).status, 400);
    }));

  test('[uuids] algorithm: sequential by default, random, utc_random, utc_id; POST /db and _bulk_docs ids follow it', () =>
    withCouch(async (f) => {
      const cfg = '/_node/_local/_config/uuids';
      const get = async (n: number): Promise<string[]> => obj((await f.req(`/_uuids?count=${n}`)).json).uuids as string[];
      assert.equal((await f.req(`${cfg}/algorithm`)).json, 'sequential');
      // couch_uuids sequential: one 26-hex prefix, a 6-hex counter that only grows.
      const seq = await get(1000);
      assert.ok(seq.every((u, i) => /^[0-9a-f]{32}$/.test(u) && (i === 0 || seq[i - 1]! < u)), 'sequential');
      assert.equal(new Set(seq.map((u) => u.slice(0, 26))).size <= 2, true);
      await createDb(f);
      const posted = String(obj((await f.req('/db', { method: 'POST', json: {} })).json).id);
      const bulk = (await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{}, {}] } })).json as Array<{ id: string }>;
      const next = (await get(1))[0]!;
      assert.ok(posted < bulk[0]!.id && bulk[0]!.id < bulk[1]!.id && bulk[1]!.id < next, 'document ids come from the same sequence');
      assert.equal((await f.req(`${cfg}/algorithm`, { method: 'PUT', json: 'random' })).json, 'sequential');
      const random = await get(100);
      assert.ok(random.every((u) => /^[0-9a-f]{32}$/.test(u)));
      assert.ok(random.some((u, i) => i > 0 && u < random[i - 1]!), 'random is not ordered');
      await f.req(`${cfg}/algorithm`, { method: 'PUT', json: 'utc_random' });
      const utc = await get(1000);
      assert.equal(new Set(utc).size, 1000);
      assert.ok(utc.every((u, i) => u.length === 32 && (i === 0 || utc[i - 1]!.slice(0, 14) < u.slice(0, 14))), 'utc time prefixes grow');
      const micros = parseInt(utc[0]!.slice(0, 14), 16);
      assert.ok(Math.abs(micros / 1000 - Date.now()) < 60_000, 'microseconds since 1970');
      await f.req(`${cfg}/algorithm`, { method: 'PUT', json: 'utc_id' });
      await f.req(`${cfg}/utc_id_suffix`, { method: 'PUT', json: 'frog' });
      const ids = await get(10);
      assert.ok(ids.every((u, i) => u.length === 18 && u.endsWith('frog') && (i === 0 || ids[i - 1]! < u)), ids.join());
      assert.equal((await f.req(`${cfg}/algorithm`, { method: 'PUT', json: 'v7' })).status, 400);
      await f.req(`${cfg}/max_count`, { method: 'PUT', json: '5' });
      assert.equal((await f.req('/_uuids?count=6')).status, 400);
      assert.equal((await get(5)).length, 5);
    }));

  test('_all_dbs lists databases; PUT, GET, HEAD, DELETE of a database', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/mydb?q=4', { method: 'PUT' })).status, 201);
      const dup = await f.req('/mydb', { method: 'PUT' });
      assert.equal(dup.status, 412);
      assert.deepEqual(dup.json, { error: 'file_exists', reason: 'The database could not be created, the file already exists.' });
      const all = await f.req('/_all_dbs');
      assert.deepEqual(all.json, ['default', 'mydb']);
      const info = obj((await f.req('/mydb')).json);
      assert.equal(info.db_name, 'mydb');
      assert.equal(info.instance_start_time, '0');
      assert.equal(info.update_seq, 0);
      assert.equal(info.doc_count, 0);
      assert.deepEqual(info.cluster, { q: 4, n: 1, w: 1, r: 1 });
      // sizes (couch_db:get_size_info): external is the live bodies, active the current records
      // holding them (with their headers and revision trees), file the pages holding those.
      const body = { text: 'x'.repeat(100_000) };
      await f.req('/mydb/big', { method: 'PUT', json: body });
      await f.engine.requireBucket('mydb').quiesce();
      const sizes = obj(obj((await f.req('/mydb')).json).sizes);
      assert.equal(sizes.external, Buffer.byteLength(JSON.stringify(body)), JSON.stringify(sizes));
      assert.ok(Number(sizes.active) > Number(sizes.external) && Number(sizes.file) > Number(sizes.active), JSON.stringify(sizes));
      // A deletion leaves a tombstone, and the old body in the revision history until compaction.
      const rev = obj((await f.req('/mydb/big')).json)._rev as string;
      await f.req(`/mydb/big?rev=${rev}`, { method: 'DELETE' });
      await f.engine.requireBucket('mydb').quiesce();
      const gone = obj(obj((await f.req('/mydb')).json).sizes);
      assert.ok(gone.external === 0 && Number(gone.active) > Number(sizes.external) && Number(gone.file) > Number(gone.active), JSON.stringify(gone));
      // An attachment's length counts in its document's sizes, as couch_att adds it.
      const att = await f.req('/mydb/withatt/file.bin', { method: 'PUT', body: Buffer.alloc(10_000, 7), headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(att.status, 201);
      await f.engine.requireBucket('mydb').quiesce();
      const withAtt = obj(obj((await f.req('/mydb')).json).sizes);
      assert.equal(withAtt.external, 10_000 + 2, JSON.stringify(withAtt)); // the body is {}
      const head = await f.req('/mydb', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      const withRev = await f.req('/mydb?rev=1-x', { method: 'DELETE' });
      assert.deepEqual([withRev.status, obj(withRev.json).reason], [400, 'You tried to DELETE a database with a ?=rev parameter. Did you mean to DELETE a document instead?']);
      assert.equal((await f.req('/mydb', { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/mydb')).status, 404);
      assert.equal((await f.req('/mydb', { method: 'HEAD' })).status, 404);
      assert.deepEqual((await f.req('/mydb')).json, { error: 'not_found', reason: 'Database does not exist.' });
    }));

  test('database names are validated', () =>
    withCouch(async (f) => {
      const r = await f.req('/Bad%20Name', { method: 'PUT' });
      assert.equal(r.status, 400);
      assert.equal(obj(r.json).error, 'illegal_database_name');
    }));

  test('the keyspace form db._default._default names the database; other keyspaces do not exist', () =>
    withCouch(async (f) => {
      await createDb(f, 'ks');
      assert.equal((await f.req('/ks._default._default/doc1', { method: 'PUT', json: { a: 1 } })).status, 201);
      const got = await f.req('/ks/doc1');
      assert.equal(got.status, 200);
      assert.equal(obj(got.json).a, 1);
      assert.equal((await f.req('/ks._default/doc1')).status, 200);
      const other = await f.req('/ks.inventory.airport/doc1');
      assert.equal(other.status, 404);
    }));

  test('_ensure_full_commit, _revs_limit, unknown paths and methods', () =>
    withCouch(async (f) => {
      await createDb(f);
      const c = await f.req('/db/_ensure_full_commit', { method: 'POST', json: {} });
      assert.equal(c.status, 201);
      assert.deepEqual(c.json, { ok: true, instance_start_time: '0' });
      const wrong = await f.req('/db/_ensure_full_commit');
      assert.equal(wrong.status, 405);
      assert.equal(obj(wrong.json).error, 'method_not_allowed');
      assert.equal((await f.req('/db/_revs_limit')).json, 1000);
      assert.equal((await f.req('/db/_revs_limit', { method: 'PUT', body: '5' })).status, 200);
      assert.equal((await f.req('/db/_revs_limit')).json, 5);
      assert.equal((await f.req('/db/_revs_limit', { method: 'PUT', body: '"x"' })).status, 400);
    }));
});
