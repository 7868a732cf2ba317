/**
 * The cross-face case with the official Couchbase SDK on the KV port: a `_changes`
 * longpoll wakes on an SDK upsert, and SDK reads see the bodies HTTP wrote.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SDK_TEST_TIMEOUT, withCollection } from '../kv/sdk.js';
import { arr, createDb, obj, withCouch } from './helpers.js';
import { StreamReader } from './stream-reader.js';

describe('CouchDB face with the Couchbase SDK', () => {
  test('a longpoll wakes on an SDK upsert; SDK gets see HTTP writes', { timeout: SDK_TEST_TIMEOUT }, () =>
    withCouch(async (f) => {
      await createDb(f, 'shared');
      const put = await f.req('/shared/from-http', { method: 'PUT', json: { via: 'http' } });
      assert.equal(put.status, 201);
      await withCollection(f.server.server.ports.kv, 'shared', async (collection) => {
        const got = await collection.get('from-http');
        assert.deepEqual(got.content, { via: 'http' });
        const res = await f.stream('/shared/_changes?feed=longpoll&since=now&include_docs=true&timeout=30000');
        while (f.listener.face.openFeeds !== 1) await new Promise((r) => setTimeout(r, 5));
        await collection.upsert('from-sdk', { via: 'sdk' });
        const body = obj(JSON.parse(await new StreamReader(res.body).rest()));
        const rows = arr(body.results).map(obj);
        assert.deepEqual(rows.map((r) => r.id), ['from-sdk']);
        assert.equal(obj(rows[0]!.doc).via, 'sdk');
        await collection.remove('from-sdk');
        const gone = await f.req('/shared/from-sdk');
        assert.deepEqual(gone.json, { error: 'not_found', reason: 'deleted' });
      });
    }));
});
