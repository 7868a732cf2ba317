/**
 * Database names as CouchDB allows them (`^[a-z][a-z0-9_$()+/-]*$`, '/' URL-encoded), over
 * buckets whose names cannot hold `/ + $ ( )` (couchdb/keyspace.ts: bucket `a%2Fb` is database
 * `a/b`); `bucket.scope.collection` keyspaces keep working beside them.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch } from './helpers.js';

describe('database names', () => {
  test('/ + $ ( ) - _ in names: create, info, documents, _all_dbs, delete; the bucket name escapes them', () =>
    withCouch(async (f) => {
      for (const name of ['a/b', 'x+y', 'm$(n)', 'p-q_r/s/t']) {
        const path = `/${encodeURIComponent(name)}`;
        const created = await f.req(`${path}?q=4`, { method: 'PUT' });
        assert.equal(created.status, 201, `${name}: ${created.text}`);
        assert.equal(created.headers.location, path);
        assert.equal((await f.req(path, { method: 'PUT' })).status, 412);
        assert.equal(obj((await f.req(path)).json).db_name, name);
        const doc = await f.req(`${path}/d1`, { method: 'PUT', json: { v: name } });
        assert.equal(doc.status, 201);
        assert.equal(obj((await f.req(`${path}/d1`)).json).v, name);
        const bucket = f.engine.bucket(name.replace(/[/+$()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
        assert.ok(bucket, `bucket of ${name}`);
        assert.deepEqual(JSON.parse(bucket.get(bucket.toKey('d1')).value.toString()), { v: name });
      }
      const all = arr((await f.req('/_all_dbs')).json);
      for (const name of ['a/b', 'x+y', 'm$(n)', 'p-q_r/s/t']) assert.ok(all.includes(name), `${name} in ${JSON.stringify(all)}`);
      assert.equal(all.some((n) => String(n).includes('%')), false);
      assert.equal((await f.req('/a%2Fb', { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/a%2Fb')).status, 404);
    }));

  test('names outside the rule: 400 illegal_database_name with CouchDB reason; too long for a bucket: 400', () =>
    withCouch(async (f) => {
      for (const name of ['Abc', '9a', 'a.b', 'a b', '_x', 'a%b']) {
        const r = await f.req(`/${encodeURIComponent(name)}`, { method: 'PUT' });
        assert.equal(r.status, 400, name);
        assert.deepEqual(r.json, {
          error: 'illegal_database_name',
          reason: `Name: '${name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.`,
        });
      }
      const long = await f.req(`/${encodeURIComponent('a' + '/b'.repeat(40))}`, { method: 'PUT' });
      assert.equal(long.status, 400);
      assert.equal(obj(long.json).error, 'bad_request');
    }));

  test('keyspaces of a bucket whose database name has escaped characters', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/k%2Bv?q=4', { method: 'PUT' })).status, 201);
      const bucket = f.engine.bucket('k%2Bv')!;
      await bucket.createScope('s');
      await bucket.createCollection('s', 'c', {});
      const info = await f.req('/k%2Bv.s.c');
      assert.equal(info.status, 200, info.text);
      assert.equal(obj(info.json).db_name, 'k+v.s.c');
      assert.equal((await f.req('/k%2Bv.s.c/doc', { method: 'PUT', json: { in: 'c' } })).status, 201);
      assert.equal((await f.req('/k%2Bv/doc')).status, 404);
      assert.equal(obj((await f.req('/k%2Bv.s.c/doc')).json).in, 'c');
    }));
});
