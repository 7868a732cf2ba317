/**
 * `_replicator` documents are validated on write as CouchDB's `_design/_replicator`
 * validate_doc_update does (couch_replicator_js_functions.hrl): 403 `forbidden` for a document no
 * job could run, and, for a non-admin writer, for a `user_ctx` that would run the job as someone
 * else or with roles the writer lacks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, ok, type Db } from './helpers/data.js';

let s: TestServer;
let admin: Db;
let bob: Db;
before(async () => {
  s = await startTestServer();
  const port = s.server.ports.http;
  admin = db(`http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${port}`);
  bob = db(`http://bob:bobsecret@127.0.0.1:${port}`);
  await ok(admin, 'PUT', '/_users');
  await ok(admin, 'PUT', '/_users/org.couchdb.user:bob', { name: 'bob', password: 'bobsecret', roles: ['ops'], type: 'user' });
  await ok(admin, 'PUT', '/_replicator');
  await ok(admin, 'PUT', '/_replicator/_security', { admins: { names: [], roles: [] }, members: { names: ['bob'], roles: [] } });
});
after(async () => {
  await s?.close();
});

async function forbidden(d: Db, method: string, path: string, body: unknown, reason: string): Promise<void> {
  const r = await call(d, method, path, body);
  assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.json)}`);
  assert.deepEqual(r.json, { error: 'forbidden', reason });
}

describe('_replicator validate_doc_update', () => {
  test('documents no job could run are refused, for admins too', async () => {
    await forbidden(admin, 'PUT', '/_replicator/v1', { target: 'b' }, "The `source' property must exist and be either a string or an object.");
    await forbidden(admin, 'PUT', '/_replicator/v2', { source: 'a', target: { url: '' } }, "The url property must exist in the `target' field and must be a non-empty string.");
    await forbidden(admin, 'PUT', '/_replicator/v3', { source: 'a', target: 'b', continuous: 'yes' }, "The `continuous' field must be a boolean.");
    await forbidden(admin, 'PUT', '/_replicator/v4', { source: 'a', target: 'b', doc_ids: 'x' }, "The `doc_ids' field must be an array of strings.");
    await forbidden(admin, 'PUT', '/_replicator/v5', { source: 'a', target: 'b', filter: 'd/f', selector: {} }, "`filter' field is incompatible with `selector' and `doc_ids'.");
    await forbidden(admin, 'POST', '/_replicator', { source: 'a', target: 'b', create_target: 1 }, "The `create_target' field must be a boolean.");
    const bulk = (await ok(admin, 'POST', '/_replicator/_bulk_docs', { docs: [{ _id: 'v6', source: 5, target: 'b' }] })) as Array<Record<string, unknown>>;
    assert.deepEqual(bulk, [{ id: 'v6', error: 'forbidden', reason: "The `source' property must exist and be either a string or an object." }]);
    // A failed document is not checked (the replicator ignores it), and admins may omit user_ctx.
    await ok(admin, 'PUT', '/_replicator/v7', { source: 5, _replication_state: 'failed' });
    await ok(admin, 'PUT', '/_replicator/v8', { source: 'http://127.0.0.1:1/a', target: 'http://127.0.0.1:1/b' });
  });

  test('a non-admin cannot run a job as someone else or with roles it lacks', async () => {
    const job = { source: 'http://127.0.0.1:1/a', target: 'http://127.0.0.1:1/b' };
    await forbidden(bob, 'PUT', '/_replicator/b1', job, "The `user_ctx' property is missing (it is optional for admins only).");
    await forbidden(bob, 'PUT', '/_replicator/b2', { ...job, user_ctx: { name: 'bob', roles: ['_admin'] } }, "Invalid role (`_admin') in the `user_ctx'");
    await forbidden(bob, 'PUT', '/_replicator/b3', { ...job, user_ctx: { name: ADMIN.username, roles: [] } }, "The given `user_ctx.name' is not valid");
    const mine = (await ok(bob, 'PUT', '/_replicator/b4', { ...job, user_ctx: { name: 'bob', roles: ['ops'] } })) as { rev: string };
    // Deleting: the owner may, another non-admin may not (the admin's v8 has no user_ctx).
    const v8 = (await ok(admin, 'GET', '/_replicator/v8')) as { _rev: string };
    await forbidden(bob, 'DELETE', `/_replicator/v8?rev=${v8._rev}`, undefined, 'Replication documents can only be deleted by admins or by the users who created them.');
    const current = (await ok(bob, 'GET', '/_replicator/b4')) as { _rev: string };
    assert.ok(current._rev.length > 0 && mine.rev.length > 0);
    await ok(bob, 'DELETE', `/_replicator/b4?rev=${current._rev}`);
  });
});
