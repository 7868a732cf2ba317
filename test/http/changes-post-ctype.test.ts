/**
 * `POST /{db}/_changes` checks the Content-Type before the body, as chttpd_db:handle_changes_req/2
 * calls chttpd:validate_ctype(Req, "application/json") first: an empty POST without it is 415, an
 * empty POST with it is the GET feed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('POST _changes Content-Type', () => {
  test('no Content-Type is 415 even without a body; application/json with an empty body is the feed', () =>
    withCouch(async (f) => {
      await createDb(f);
      assert.equal((await f.req('/db/a', { method: 'PUT', json: {} })).status, 201);
      const bare = await f.req('/db/_changes', { method: 'POST' });
      assert.equal(bare.status, 415);
      assert.deepEqual(bare.json, { error: 'bad_content_type', reason: 'Content-Type must be application/json' });
      const typed = await f.req('/db/_changes', { method: 'POST', headers: { 'content-type': 'application/json' } });
      assert.equal(typed.status, 200, typed.text);
      assert.deepEqual(arr(obj(typed.json).results).map((row) => obj(row).id), ['a']);
    }));
});
