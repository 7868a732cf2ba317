/**
 * `_changes` `timeout` and `heartbeat` are capped at the default timeout (`[chttpd]
 * changes_timeout`, else the face's `changesTimeoutMs`), as couch_changes:get_changes_timeout/2
 * takes `lists:min([DefaultTimeout, Timeout])`. Followers size their own inactivity timers from
 * what they asked for (cloudant-follow waits 1.25 × heartbeat for a byte), so a server that holds a
 * longpoll for the whole of a long `timeout` answers later than CouchDB would.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, obj, withCouch } from './helpers.js';
import { StreamReader } from './stream-reader.js';

describe('_changes timeout cap', () => {
  test('a longpoll timeout longer than the default answers at the default', () =>
    withCouch(async (f) => {
      await createDb(f);
      const t0 = Date.now();
      const r = await f.req('/db/_changes?feed=longpoll&since=now&timeout=600000');
      const took = Date.now() - t0;
      assert.equal(r.status, 200);
      assert.deepEqual(obj(r.json), { results: [], last_seq: 0, pending: 0 });
      assert.ok(took >= 250 && took < 10_000, `answered after ${took} ms`);
    }, { changesTimeoutMs: 300 }));

  test('a continuous heartbeat longer than the default beats at the default', () =>
    withCouch(async (f) => {
      await createDb(f);
      const ac = new AbortController();
      const res = await f.stream('/db/_changes?feed=continuous&since=now&heartbeat=600000', { signal: ac.signal });
      assert.equal(res.statusCode, 200);
      const body = new StreamReader(res.body);
      const t0 = Date.now();
      await body.until((t) => t.split('\n').length > 2);
      assert.equal(body.text.trim(), '');
      assert.ok(Date.now() - t0 < 10_000);
      ac.abort();
    }, { changesTimeoutMs: 300 }));

  test('[chttpd] changes_timeout set through _config is the default and the cap', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/_node/_local/_config/chttpd/changes_timeout', { method: 'PUT', json: '200' });
      assert.equal(put.status, 200);
      for (const path of ['/db/_changes?feed=longpoll&since=now', '/db/_changes?feed=longpoll&since=now&timeout=600000']) {
        const t0 = Date.now();
        const r = await f.req(path);
        assert.equal(r.status, 200);
        assert.deepEqual(obj(r.json).results, []);
        assert.ok(Date.now() - t0 < 10_000, path);
      }
      // A shorter timeout than the default is kept (a continuous feed ends with its last_seq line).
      const r = await f.req('/db/_changes?feed=continuous&since=now&timeout=20');
      assert.deepEqual(JSON.parse(r.text.trim()), { last_seq: 0, pending: 0 });
    }));
});
