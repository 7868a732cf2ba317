/**
 * Server-level listings as CouchDB 3 answers them (chttpd_misc.erl, mem3_httpd.erl):
 * `_all_dbs` with `_all_docs`' range parameters, `GET` and `POST /_dbs_info`, `_membership`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const alice = { user: 'alice', password: 'alice-secret' };

async function makeDbs(f: CouchFixture, names: string[]): Promise<void> {
  for (const name of names) await createDb(f, name);
}

const rows = (json: unknown): Array<Record<string, unknown>> => json as Array<Record<string, unknown>>;

describe('server listings', () => {
  test('_all_dbs takes startkey/endkey (and their aliases), inclusive_end, descending, skip and limit', () =>
    withCouch(async (f) => {
      await makeDbs(f, ['b1', 'b2', 'c1']);
      const all = async (qs: string): Promise<unknown> => (await f.req(`/_all_dbs?${qs}`)).json;
      assert.deepEqual(await all(''), ['b1', 'b2', 'c1', 'default']);
      assert.deepEqual(await all('startkey=%22b%22&endkey=%22c%22'), ['b1', 'b2']);
      assert.deepEqual(await all('start_key=%22b2%22&end_key=%22c1%22'), ['b2', 'c1']);
      assert.deepEqual(await all('endkey=%22c1%22&inclusive_end=false'), ['b1', 'b2']);
      // Descending: startkey is the upper bound, as in _all_docs.
      assert.deepEqual(await all('descending=true&startkey=%22c1%22&endkey=%22b2%22'), ['c1', 'b2']);
      assert.deepEqual(await all('descending=true&skip=1&limit=2'), ['c1', 'b2']);
      const bad = await f.req('/_all_dbs?descending=maybe');
      assert.equal(bad.status, 400);
      assert.equal(obj(bad.json).error, 'query_parse_error');
      const badKey = await f.req('/_all_dbs?startkey=b');
      assert.equal(badKey.status, 400);
      assert.equal(obj(badKey.json).error, 'bad_request');
    }));

  test('GET /_dbs_info: each listed database with the info GET /{db} gives, in the same range', () =>
    withCouch(async (f) => {
      await makeDbs(f, ['b1', 'b2']);
      assert.equal((await f.req('/b2/doc', { method: 'PUT', json: { a: 1 } })).status, 201);
      const r = await f.req('/_dbs_info?startkey=%22b%22&endkey=%22c%22');
      assert.equal(r.status, 200);
      const got = rows(r.json);
      assert.deepEqual(got.map((row) => row.key), ['b1', 'b2']);
      const b2 = obj(got[1]!.info);
      assert.equal(b2.db_name, 'b2');
      assert.equal(b2.doc_count, 1);
      const direct = obj((await f.req('/b2')).json);
      assert.deepEqual(b2, direct);
      assert.deepEqual(rows((await f.req('/_dbs_info?limit=1&descending=true')).json).map((row) => row.key), ['default']);
    }));

  test('POST /_dbs_info: a row per key, not_found for a missing database or a key that is no name', () =>
    withCouch(async (f) => {
      await makeDbs(f, ['b1']);
      const r = await f.req('/_dbs_info', { method: 'POST', json: { keys: ['b1', 'nope', 5] } });
      assert.equal(r.status, 200);
      const got = rows(r.json);
      assert.equal(got.length, 3);
      assert.equal(got[0]!.key, 'b1');
      assert.equal(obj(got[0]!.info).db_name, 'b1');
      assert.deepEqual(got[1], { key: 'nope', error: 'not_found' });
      assert.deepEqual(got[2], { key: 5, error: 'not_found' });
    }));

  test('POST /_dbs_info refuses what CouchDB refuses: no keys, keys not a list, over 100 keys, not JSON', () =>
    withCouch(async (f) => {
      const post = (json: unknown) => f.req('/_dbs_info', { method: 'POST', json });
      assert.deepEqual((await post({})).json, { error: 'bad_request', reason: '`keys` member must exist.' });
      assert.deepEqual((await post({ keys: 'b1' })).json, { error: 'bad_request', reason: '`keys` member must be an array.' });
      const many = await post({ keys: Array.from({ length: 101 }, (_, i) => `db${i}`) });
      assert.equal(many.status, 400);
      assert.deepEqual(many.json, { error: 'bad_request', reason: 'too_many_keys' });
      assert.equal((await post({ keys: Array.from({ length: 100 }, (_, i) => `db${i}`) })).status, 200);
      const form = await f.req('/_dbs_info', { method: 'POST', body: '{"keys":[]}', headers: { 'content-type': 'text/plain' } });
      assert.equal(form.status, 415);
      assert.equal(obj(form.json).error, 'bad_content_type');
      assert.equal((await f.req('/_dbs_info', { method: 'DELETE' })).status, 405);
    }));

  test('a bucket user sees only its own databases in _all_dbs and _dbs_info', () =>
    withCouch(async (f) => {
      await makeDbs(f, ['mine', 'theirs']);
      await f.server.server.users.setBucketUser(alice.user, alice.password, ['mine']);
      assert.deepEqual((await f.req('/_all_dbs', { auth: alice })).json, ['mine']);
      assert.deepEqual(rows((await f.req('/_dbs_info', { auth: alice })).json).map((row) => row.key), ['mine']);
      const posted = rows((await f.req('/_dbs_info', { method: 'POST', json: { keys: ['mine', 'theirs'] }, auth: alice })).json);
      assert.equal(obj(posted[0]!.info).db_name, 'mine');
      assert.deepEqual(posted[1], { key: 'theirs', error: 'not_found' });
      assert.equal((await f.req('/_dbs_info', { auth: null })).status, 401);
    }));

  test('_membership names this node, for the server admin only', () =>
    withCouch(async (f) => {
      const r = await f.req('/_membership');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { all_nodes: ['freshet@127.0.0.1'], cluster_nodes: ['freshet@127.0.0.1'] });
      await f.server.server.users.setBucketUser(alice.user, alice.password, ['default']);
      assert.equal((await f.req('/_membership', { auth: alice })).status, 401);
      assert.equal((await f.req('/_membership', { auth: null })).status, 401);
      // The node it names is the one /_node/{node} answers for.
      assert.equal((await f.req('/_node/freshet@127.0.0.1/_stats')).status, 200);
    }));
});
