/**
 * One bad document never breaks a response for others. Written as an attacker would: a KV client
 * (raw frames, datatype JSON) stores a 5,000-level-deep JSON value, an array, invalid JSON; an
 * HTTP client sends deep JSON and invalid UTF-8. Then every listing (`_all_docs`, `_bulk_get`,
 * `_changes` normal and continuous, `open_revs`) still answers 200 with the good documents intact,
 * a PouchDB replication still completes, and the server keeps serving.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Status, encodeGetRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { DATATYPE_JSON } from '../../src/engine/types.js';
import { ADMIN } from '../helpers/server.js';
import { expectStatus, openBucket, type RawKv } from '../kv/raw-client.js';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';

const DEEP = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
const NOT_JSON_OBJECT = 'not_json_object';

async function kvSet(f: CouchFixture, kv: RawKv, key: string, value: string | Buffer): Promise<void> {
  const vbucket = f.engine.requireBucket('default').vbucketOf(key);
  expectStatus(await kv.request(encodeStoreRequest({ key, value, datatype: 0x01, vbucket })), Status.Success, `SET ${key}`);
}

/** Good documents over HTTP, hostile ones over KV, all in `default`. */
async function seed(f: CouchFixture): Promise<RawKv> {
  for (const id of ['good1', 'good2']) assert.equal((await f.req(`/default/${id}`, { method: 'PUT', json: { id, n: 1 } })).status, 201);
  const kv = await openBucket(f.server.server.ports.kv);
  await kvSet(f, kv, 'deep', DEEP);
  await kvSet(f, kv, 'good3', JSON.stringify({ id: 'good3', n: 1 }));
  await kvSet(f, kv, 'list', '[1,2,3]');
  await kvSet(f, kv, 'broken', '{"no":');
  await f.engine.requireBucket('default').quiesce();
  return kv;
}

const HOSTILE = ['broken', 'deep', 'list'];
const GOOD = ['good1', 'good2', 'good3'];

function changesRows(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l.trim().startsWith('{"seq"')).map((l) => obj(JSON.parse(l)));
}

describe('hostile documents', () => {
  test('KV SET of 5,000-deep JSON: stored raw, bytes intact over KV; over HTTP a per-document error, never deleted', () =>
    withCouch(async (f) => {
      const kv = await seed(f);
      try {
        const got = expectStatus(await kv.request(encodeGetRequest({ key: 'deep', vbucket: f.engine.requireBucket('default').vbucketOf('deep') })), Status.Success);
        assert.equal(got.value.toString(), DEEP);
        assert.equal(got.datatype, 0);
      } finally {
        kv.close();
      }
      for (const id of HOSTILE) {
        const r = await f.req(`/default/${id}`);
        assert.equal(r.status, 406, `${id}: ${r.text}`);
        assert.equal(obj(r.json).error, NOT_JSON_OBJECT);
        assert.match(String(obj(r.json).reason), /not a JSON object/);
      }
      assert.equal(obj((await f.req('/default/good3')).json).n, 1);
      // Live documents, counted as such.
      const info = obj((await f.req('/default')).json);
      assert.equal(info.doc_count, 6);
      assert.equal(info.doc_del_count, 0);
    }));

  test('_all_docs, _bulk_get and open_revs answer 200: good documents intact, an error only on the bad rows', () =>
    withCouch(async (f) => {
      (await seed(f)).close();
      const all = await f.req('/default/_all_docs?include_docs=true');
      assert.equal(all.status, 200);
      const rows = arr(obj(all.json).rows).map(obj);
      assert.deepEqual(rows.map((r) => r.id), ['broken', 'deep', 'good1', 'good2', 'good3', 'list']);
      for (const r of rows) {
        if (GOOD.includes(String(r.id))) {
          assert.equal(obj(r.doc).n, 1);
          assert.equal(r.error, undefined);
        } else {
          assert.equal(r.doc, undefined);
          assert.equal(r.error, NOT_JSON_OBJECT);
          assert.match(String(obj(r.value).rev), /^1-/);
          assert.equal(obj(r.value).deleted, undefined);
        }
      }
      const keyed = await f.req('/default/_all_docs?include_docs=true', { method: 'POST', json: { keys: ['deep', 'good1', 'nope'] } });
      assert.equal(keyed.status, 200);
      assert.deepEqual(arr(obj(keyed.json).rows).map((r) => obj(r).error ?? obj(obj(r).doc).id), [NOT_JSON_OBJECT, 'good1', 'not_found']);

      const bulk = await f.req('/default/_bulk_get', { method: 'POST', json: { docs: [...GOOD, ...HOSTILE].map((id) => ({ id })) } });
      assert.equal(bulk.status, 200);
      for (const result of arr(obj(bulk.json).results).map(obj)) {
        const docs = arr(result.docs).map(obj);
        assert.equal(docs.length, 1);
        if (GOOD.includes(String(result.id))) assert.equal(obj(docs[0]!.ok).n, 1);
        else {
          const e = obj(docs[0]!.error);
          assert.equal(e.id, result.id);
          assert.equal(e.error, NOT_JSON_OBJECT);
          assert.match(String(e.rev), /^1-/);
        }
      }
      const revs = await f.req('/default/deep?open_revs=all', { headers: { accept: 'application/json' } });
      assert.equal(revs.status, 200);
      assert.equal(obj(obj(arr(revs.json)[0]).error).error, NOT_JSON_OBJECT);
      const mixed = await f.req('/default/deep?open_revs=all', { headers: { accept: 'multipart/mixed' } });
      assert.equal(mixed.status, 200);
      assert.match(mixed.text, /Content-Type: application\/json; error="true"\r\n\r\n\{"error":\{"id":"deep"/);
    }));

  test('_changes (normal and continuous, include_docs) leaves out documents with no JSON form; good rows intact', () =>
    withCouch(async (f) => {
      (await seed(f)).close();
      for (const path of ['/default/_changes?include_docs=true', '/default/_changes', '/default/_changes?feed=continuous&include_docs=true&timeout=50']) {
        const r = await f.req(path);
        assert.equal(r.status, 200, path);
        const rows = path.includes('continuous') ? changesRows(r.text) : arr(obj(r.json).results).map(obj);
        assert.deepEqual(rows.map((row) => row.id).sort(), GOOD, path);
        for (const row of rows) {
          assert.equal(row.deleted, undefined);
          if (path.includes('include_docs')) assert.equal(obj(row.doc).n, 1);
        }
      }
    }));

  test('a PouchDB replication from the database completes with every good document', () =>
    withCouch(async (f) => {
      (await seed(f)).close();
      const source = new PouchDB(`${f.base}/default`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
      const target = new PouchDB(`hostile-${process.pid}`, { adapter: 'memory' });
      try {
        const result = await source.replicate.to(target, { batch_size: 2 });
        assert.equal(result.ok, true);
        assert.equal(result.doc_write_failures, 0);
        for (const id of GOOD) assert.equal((await target.get(id)).n, 1);
        await assert.rejects(target.get('deep'), (err: unknown) => obj(err).status === 404);
      } finally {
        await target.destroy();
      }
    }));

  test('HTTP: deep JSON is 400 bad_request on PUT, POST and _bulk_docs; nothing is stored', () =>
    withCouch(async (f) => {
      const deepDoc = '{"_id":"d",' + '"a":['.repeat(200) + ']'.repeat(200) + '}';
      for (const [path, method, body] of [
        ['/default/d', 'PUT', DEEP],
        ['/default/d', 'PUT', deepDoc],
        ['/default', 'POST', deepDoc],
        ['/default/_bulk_docs', 'POST', `{"docs":[${deepDoc}]}`],
      ] as const) {
        const r = await f.req(path, { method, body, headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
        assert.equal(obj(r.json).error, 'bad_request');
        assert.match(String(obj(r.json).reason), /deeper than 100 levels/);
      }
      assert.deepEqual((await f.req('/default/d')).json, { error: 'not_found', reason: 'missing' });
      // At the limit a document is accepted.
      const ok = '{' + '"a":{'.repeat(99) + '}'.repeat(99) + '}';
      assert.equal((await f.req('/default/ok', { method: 'PUT', body: ok, headers: { 'content-type': 'application/json' } })).status, 201);
    }));

  test('HTTP: invalid UTF-8 in a JSON body is 400 "invalid UTF-8 JSON" on every JSON route; nothing is stored', () =>
    withCouch(async (f) => {
      const bad = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      const bulk = Buffer.concat([Buffer.from('{"docs":['), Buffer.from('{"_id":"u",'), bad.subarray(1), Buffer.from(']}')]);
      for (const [path, method, body] of [
        ['/default/u', 'PUT', bad],
        ['/default', 'POST', bad],
        ['/default/_bulk_docs', 'POST', bulk],
        ['/default/_local/u', 'PUT', bad],
      ] as const) {
        const r = await f.req(path, { method, body, headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
        assert.deepEqual(r.json, { error: 'bad_request', reason: 'invalid UTF-8 JSON' });
      }
      assert.equal((await f.req('/default/u')).status, 404);
      assert.equal((await f.req('/default/_local/u')).status, 404);
      assert.equal(obj((await f.req('/default')).json).doc_count, 0);
      // Valid UTF-8 still round-trips.
      assert.equal((await f.req('/default/u', { method: 'PUT', json: { name: 'é' } })).status, 201);
      assert.equal(obj((await f.req('/default/u')).json).name, 'é');
    }));

  test('HTTP: a number beyond a double (1e400) is 400 "invalid UTF-8 JSON" on every JSON route', () =>
    withCouch(async (f) => {
      const body = '{"a":1e400}';
      for (const [path, method] of [['/default/n', 'PUT'], ['/default', 'POST'], ['/default/_design/n', 'PUT']] as const) {
        const r = await f.req(path, { method, body, headers: { 'content-type': 'application/json' } });
        assert.deepEqual([r.status, r.json], [400, { error: 'bad_request', reason: 'invalid UTF-8 JSON' }], `${method} ${path}`);
      }
      // The whole body is invalid JSON to jiffy, so the whole request is refused.
      const bulk = await f.req('/default/_bulk_docs', { method: 'POST', body: '{"docs":[{"_id":"big","a":1e400},{"_id":"fine","a":1}]}', headers: { 'content-type': 'application/json' } });
      assert.deepEqual([bulk.status, bulk.json], [400, { error: 'bad_request', reason: 'invalid UTF-8 JSON' }]);
      assert.equal((await f.req('/default/big')).status, 404);
      assert.equal((await f.req('/default/fine')).status, 404);
      // Every JSON route reads bodies alike: `_local` and `_security` too (they stored null).
      for (const path of ['/default/_local/n', '/default/_security']) {
        const r = await f.req(path, { method: 'PUT', body: '{"members":{"names":[]},"a":1e400}', headers: { 'content-type': 'application/json' } });
        assert.deepEqual([r.status, r.json], [400, { error: 'bad_request', reason: 'invalid UTF-8 JSON' }], path);
      }
      // A string that merely looks like a big number is fine.
      assert.equal((await f.req('/default/s', { method: 'PUT', json: { s: '1e400', t: '9'.repeat(400) } })).status, 201);
    }));

  test('an opaque KV document can be overwritten over HTTP with its rev; a KV array is returned intact over KV', () =>
    withCouch(async (f) => {
      const kv = await seed(f);
      try {
        const got = expectStatus(await kv.request(encodeGetRequest({ key: 'list', vbucket: f.engine.requireBucket('default').vbucketOf('list') })), Status.Success);
        assert.equal(got.value.toString(), '[1,2,3]');
        assert.equal(got.datatype, 0x01);
      } finally {
        kv.close();
      }
      const rev = String(obj(obj(arr(obj((await f.req(`/default/_all_docs?keys=${encodeURIComponent('["list"]')}`)).json).rows)[0]).value).rev);
      const put = await f.req('/default/list', { method: 'PUT', json: { _rev: rev, now: 'an object' } });
      assert.equal(put.status, 201);
      assert.equal(obj((await f.req('/default/list')).json).now, 'an object');
      // Now a JSON object again, it is back in `_changes`.
      const ids = arr(obj((await f.req('/default/_changes')).json).results).map((r) => obj(r).id);
      assert.ok(ids.includes('list'));
    }));

  test('documents stored before this check (deep, flagged JSON) fail only their own row', () =>
    withCouch(async (f) => {
      const bucket = f.engine.requireBucket('default');
      assert.equal((await f.req('/default/good', { method: 'PUT', json: { n: 1 } })).status, 201);
      // As an older version stored a KV value: flagged JSON whatever its depth.
      await bucket.storeItem('set', 'old-kv', Buffer.from(DEEP), { datatype: DATATYPE_JSON });
      // As if written over HTTP by an older version: the recorded revision's body is 100,000 deep.
      assert.equal((await f.req('/default/old-http', { method: 'PUT', json: { n: 0 } })).status, 201);
      const item = bucket.get('old-http');
      const xattrs = obj(JSON.parse(item.xattrs!.toString()));
      obj(xattrs._sync).rs = item.revSeqno + 1;
      const veryDeep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
      await bucket.writeVersion('old-http', item.cas, { value: Buffer.from(veryDeep), deleted: false, xattrs: Buffer.from(JSON.stringify(xattrs)), datatype: DATATYPE_JSON });
      await bucket.quiesce();

      assert.equal((await f.req('/default/old-kv')).status, 406);
      const all = await f.req('/default/_all_docs?include_docs=true');
      assert.equal(all.status, 200);
      const rows = arr(obj(all.json).rows).map(obj);
      assert.equal(obj(rows.find((r) => r.id === 'good')!.doc).n, 1);
      assert.equal(rows.find((r) => r.id === 'old-kv')!.error, NOT_JSON_OBJECT);
      assert.equal(rows.find((r) => r.id === 'old-http')!.error, 'unknown_error');
      assert.match(String(rows.find((r) => r.id === 'old-http')!.reason), /cannot be serialized/);

      const changes = await f.req('/default/_changes?include_docs=true');
      assert.equal(changes.status, 200);
      const crow = arr(obj(changes.json).results).map(obj);
      assert.equal(obj(crow.find((r) => r.id === 'good')!.doc).n, 1);
      const oldHttp = crow.find((r) => r.id === 'old-http')!;
      assert.equal(oldHttp.doc, undefined);
      assert.equal(oldHttp.error, 'unknown_error');
      assert.equal(crow.find((r) => r.id === 'old-kv'), undefined);

      const bulk = await f.req('/default/_bulk_get', { method: 'POST', json: { docs: [{ id: 'good' }, { id: 'old-http' }] } });
      assert.equal(bulk.status, 200);
      const results = arr(obj(bulk.json).results).map(obj);
      assert.equal(obj(obj(arr(results[0]!.docs)[0]).ok).n, 1);
      assert.equal(obj(obj(arr(results[1]!.docs)[0]).error).error, 'unknown_error');
      // And the server keeps serving.
      assert.equal((await f.req('/default/after', { method: 'PUT', json: { ok: true } })).status, 201);
      assert.equal(obj((await f.req('/default/after')).json).ok, true);
    }));
});
