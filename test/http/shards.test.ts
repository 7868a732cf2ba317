/**
 * `GET /{db}/_shards`, `GET /{db}/_shards/{docid}` and `POST /{db}/_sync_shards` (mem3_httpd):
 * a database's shards are its vbuckets, q ranges of the 32-bit ring held by this node, and a
 * document's range is its vbucket's.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { obj, withCouch } from './helpers.js';
import { vbucketOf } from '../../src/engine/vbucket-hash.js';

describe('_shards', () => {
  test('q ranges as mem3 splits the ring; a document in its vbucket; _sync_shards for admins', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/q4?q=4', { method: 'PUT' })).status, 201);
      const node = String(obj((await f.req('/_node/_local')).json).name);
      assert.deepEqual((await f.req('/q4/_shards')).json, {
        shards: { '00000000-3fffffff': [node], '40000000-7fffffff': [node], '80000000-bfffffff': [node], 'c0000000-ffffffff': [node] },
      });
      const ranges = ['00000000-3fffffff', '40000000-7fffffff', '80000000-bfffffff', 'c0000000-ffffffff'];
      for (const id of ['a', 'b', 'doc/with/slashes', 'ü']) {
        const r = await f.req(`/q4/_shards/${encodeURIComponent(id)}`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { range: ranges[vbucketOf(Buffer.from(id), 4)], nodes: [node] });
      }
      // q = 3 does not divide the ring: the last range runs to the top (mem3_util make_key_ranges).
      assert.equal((await f.req('/q3?q=3', { method: 'PUT' })).status, 201);
      assert.deepEqual(Object.keys(obj(obj((await f.req('/q3/_shards')).json).shards)), ['00000000-55555554', '55555555-aaaaaaa9', 'aaaaaaaa-ffffffff']);

      assert.equal((await f.req('/q4/_shards', { method: 'POST', json: {} })).status, 405);
      assert.deepEqual((await f.req('/missing/_shards')).json, { error: 'not_found', reason: 'Database does not exist.' });
      const sync = await f.req('/q4/_sync_shards', { method: 'POST', json: {} });
      assert.deepEqual([sync.status, sync.json], [202, { ok: true }]);
      assert.equal((await f.req('/q4/_sync_shards')).status, 405);
      assert.equal((await f.req('/q4/_sync_shards', { method: 'POST', json: {}, auth: null })).status, 401);
    }));
});
