import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createDb, obj, withCouch, type CouchFixture, type Resp } from './helpers.js';

// chttpd:json_body/1 decodes every JSON body through maybe_decompress/2: `Content-Encoding: gzip`
// is gunzipped, anything but gzip or identity is 415. IBM's Cloudant SDK, and so
// @cloudant/couchbackup, gzips every request body it sends.
function gz(f: CouchFixture, path: string, method: string, value: unknown, extra: Record<string, string> = {}): Promise<Resp> {
  return f.req(path, {
    method,
    body: gzipSync(Buffer.from(JSON.stringify(value))),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...extra },
  });
}

describe('gzip-encoded JSON request bodies', () => {
  test('documents, _bulk_docs, _bulk_get, _all_docs, _changes, _find, _local, _security and _session take gzip bodies', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await gz(f, '/db/a', 'PUT', { x: 1 });
      assert.equal(put.status, 201, put.body.toString());
      const post = await gz(f, '/db', 'POST', { _id: 'b', x: 2 });
      assert.equal(post.status, 201, post.body.toString());
      const bulk = await gz(f, '/db/_bulk_docs', 'POST', { docs: [{ _id: 'c', x: 3 }] });
      assert.equal(bulk.status, 201, bulk.body.toString());
      assert.equal(obj((await f.req('/db/a')).json).x, 1);
      // couchbackup probes _bulk_get with an empty docs list, then fetches with revs.
      const probe = await gz(f, '/db/_bulk_get', 'POST', { docs: [] });
      assert.equal(probe.status, 200, probe.body.toString());
      assert.deepEqual(probe.json, { results: [] });
      const got = await gz(f, '/db/_bulk_get?revs=true', 'POST', { docs: [{ id: 'a' }, { id: 'c' }] });
      assert.equal(got.status, 200);
      assert.equal((obj(got.json).results as unknown[]).length, 2);
      const all = await gz(f, '/db/_all_docs', 'POST', { keys: ['a', 'b'] });
      assert.deepEqual((obj(all.json).rows as { id: string }[]).map((r) => r.id), ['a', 'b']);
      const changes = await gz(f, '/db/_changes?filter=_doc_ids', 'POST', { doc_ids: ['c'] });
      assert.deepEqual((obj(changes.json).results as { id: string }[]).map((r) => r.id), ['c']);
      const find = await gz(f, '/db/_find', 'POST', { selector: { x: { $gt: 1 } } });
      assert.deepEqual((obj(find.json).docs as { _id: string }[]).map((d) => d._id), ['b', 'c']);
      assert.equal((await gz(f, '/db/_local/cp', 'PUT', { seq: 3 })).status, 201);
      assert.equal(obj((await f.req('/db/_local/cp')).json).seq, 3);
      assert.equal((await gz(f, '/db/_security', 'PUT', { admins: { names: [], roles: [] }, members: { names: ['x'], roles: [] } })).status, 200);
      const session = await gz(f, '/_session', 'POST', { name: 'Administrator', password: 'password' }, {});
      assert.equal(session.status, 200, session.body.toString());
      assert.deepEqual(session.json, { ok: true, name: 'Administrator', roles: ['_admin'] });
    }));

  test('a body that is not gzip is 400, an encoding other than gzip or identity 415, as maybe_decompress/2 answers', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bad = await f.req('/db/a', { method: 'PUT', body: '{"x":1}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json, { error: 'bad_request', reason: 'Request body is not properly gzipped.' });
      const deflate = await f.req('/db/_bulk_docs', { method: 'POST', body: '{"docs":[]}', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' } });
      assert.equal(deflate.status, 415);
      assert.deepEqual(deflate.json, { error: 'bad_content_type', reason: 'deflate is not a supported content encoding.' });
      const identity = await f.req('/db/a', { method: 'PUT', body: '{"x":1}', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
      assert.equal(identity.status, 201);
    }));
});
