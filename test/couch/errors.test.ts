import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { COUCH_ERRORS, CouchError, couchError, isCouchError, type CouchErrorKind } from '../../src/couch/errors.js';

describe('error registry', () => {
  test('every entry has a CouchDB status and a snake_case error', () => {
    // 507 (RFC 4918 Insufficient Storage) is Freshet's answer to a full disk: CouchDB has none.
    // 503 is Mango's answer for an index type needing a search service (mango_error.erl
    // index_service_unavailable), whose `error` is CouchDB's one with spaces.
    const statuses = new Set([400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 416, 500, 501, 503, 507]);
    for (const [code, entry] of Object.entries(COUCH_ERRORS)) {
      assert.ok(statuses.has(entry.status), `${code}: status ${entry.status}`);
      if (code !== 'mango_index_service_unavailable') assert.match(entry.error, /^[a-z_]+$/, code);
      assert.ok(entry.reason.length > 0, code);
      assert.equal(new CouchError(code as CouchErrorKind).kind, code);
      assert.equal(new CouchError(code as CouchErrorKind).code, `COUCH_${code.toUpperCase()}`);
    }
    // Pin the size so that additions are deliberate (update docs and this count).
    assert.equal(Object.keys(COUCH_ERRORS).length, 130);
  });

  test('the strings clients depend on', () => {
    const body = (code: CouchErrorKind, params?: Record<string, string>) => {
      const e = couchError(code, params);
      return [e.status, JSON.stringify(e)];
    };
    assert.deepEqual(body('not_found'), [404, '{"error":"not_found","reason":"missing"}']);
    assert.deepEqual(body('not_found_deleted'), [404, '{"error":"not_found","reason":"deleted"}']);
    assert.deepEqual(body('local_bad_id'), [400, '{"error":"bad_request","reason":"Invalid _local document id."}']);
    assert.deepEqual(body('db_not_found'), [404, '{"error":"not_found","reason":"Database does not exist."}']);
    assert.deepEqual(body('conflict'), [409, '{"error":"conflict","reason":"Document update conflict."}']);
    assert.deepEqual(body('invalid_rev_format'), [400, '{"error":"bad_request","reason":"Invalid rev format"}']);
    assert.deepEqual(body('unauthorized'), [401, '{"error":"unauthorized","reason":"Name or password is incorrect."}']);
    assert.deepEqual(body('file_exists'), [
      412,
      '{"error":"file_exists","reason":"The database could not be created, the file already exists."}',
    ]);
    assert.deepEqual(body('method_not_allowed', { methods: 'GET,HEAD' }), [
      405,
      '{"error":"method_not_allowed","reason":"Only GET,HEAD allowed"}',
    ]);
    assert.deepEqual(body('bad_content_type', { type: 'application/json' }), [
      415,
      '{"error":"bad_content_type","reason":"Content-Type must be application/json"}',
    ]);
    assert.deepEqual(body('too_large'), [413, '{"error":"too_large","reason":"the request entity is too large"}']);
  });

  test('reason override, cause and type guard', () => {
    const cause = new Error('vdu');
    const e = new CouchError('forbidden', { reason: 'only admins', cause });
    assert.deepEqual(e.toJSON(), { error: 'forbidden', reason: 'only admins' });
    assert.equal(e.status, 403);
    assert.equal(e.cause, cause);
    assert.ok(isCouchError(e));
    assert.ok(!isCouchError(new Error('x')));
    assert.equal(couchError('missing_stub', { id: 'd' }).reason, 'Invalid attachment stub in d for {name}');
  });
});
