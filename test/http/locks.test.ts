/**
 * A document locked over KV (GET_LOCKED, src/engine/locks.ts) as the CouchDB face sees it: reads
 * go on, writes answer 409 conflict (CouchDB has no locks; a write it cannot apply to the current
 * revision is a conflict) until the lock is released or lapses. Both faces over real sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Status, decodeGetLockedResponse, encodeGetLockedRequest, encodeUnlockRequest } from '../../src/codec/index.js';
import { expectStatus, openBucket } from '../kv/raw-client.js';
import { createDb, obj, withCouch } from './helpers.js';

test('HTTP writes to a document locked over KV are 409 conflict until it is unlocked', () =>
  withCouch(async (f) => {
    await createDb(f);
    const rev = String(obj((await f.req('/db/doc', { method: 'PUT', json: { v: 1 } })).json).rev);
    const vbucket = f.engine.requireBucket('db').vbucketOf('doc');
    const kv = await openBucket(f.server.server.ports.kv, { bucket: 'db' });
    try {
      const lock = decodeGetLockedResponse(expectStatus(await kv.request(encodeGetLockedRequest({ key: 'doc', vbucket, lockTime: 30 })), Status.Success));

      const read = await f.req('/db/doc');
      assert.equal(read.status, 200);
      assert.equal(obj(read.json).v, 1);
      const put = await f.req('/db/doc', { method: 'PUT', json: { _rev: rev, v: 2 } });
      assert.equal(put.status, 409);
      assert.deepEqual(put.json, { error: 'conflict', reason: 'Document update conflict.' });
      assert.equal((await f.req(`/db/doc?rev=${rev}`, { method: 'DELETE' })).status, 409);
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'doc', _rev: rev, v: 3 }, { _id: 'other', v: 1 }] } });
      assert.equal(bulk.status, 201);
      const rows = (bulk.json as unknown[]).map(obj);
      assert.equal(rows[0]!.error, 'conflict');
      assert.equal(rows[1]!.ok, true, 'other documents are not affected');
      assert.equal(obj((await f.req('/db/doc')).json)._rev, rev, 'the locked document is unchanged');

      expectStatus(await kv.request(encodeUnlockRequest({ key: 'doc', cas: lock.cas, vbucket })), Status.Success);
      const after = await f.req('/db/doc', { method: 'PUT', json: { _rev: rev, v: 2 } });
      assert.equal(after.status, 201);
    } finally {
      kv.close();
    }
  }));
