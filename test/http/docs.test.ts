import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('documents', () => {
  test('create, read, update, delete, re-create, with CouchDB revision ids', () =>
    withCouch(async (f) => {
      await createDb(f);
      const created = await f.req('/db/empty', { method: 'PUT', json: {} });
      assert.equal(created.status, 201);
      // The same rev CouchDB gives an empty document (couch_db:new_revid/1).
      assert.deepEqual(created.json, { ok: true, id: 'empty', rev: '1-967a00dff5e02add41819138abb3284d' });
      assert.equal(created.headers.etag, '"1-967a00dff5e02add41819138abb3284d"');
      const put = obj((await f.req('/db/a', { method: 'PUT', json: { n: 1 } })).json);
      const got = await f.req('/db/a');
      assert.deepEqual(got.json, { _id: 'a', _rev: put.rev, n: 1 });
      const stale = await f.req('/db/a', { method: 'PUT', json: { n: 2 } });
      assert.equal(stale.status, 409);
      assert.deepEqual(stale.json, { error: 'conflict', reason: 'Document update conflict.' });
      const v2 = obj((await f.req('/db/a', { method: 'PUT', json: { _rev: put.rev, n: 2 } })).json);
      assert.match(String(v2.rev), /^2-[0-9a-f]{32}$/);
      assert.equal((await f.req(`/db/a?rev=${String(put.rev)}`, { method: 'PUT', json: { n: 3 } })).status, 409);
      const del = await f.req(`/db/a?rev=${String(v2.rev)}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      const delRev = String(obj(del.json).rev);
      assert.match(delRev, /^3-/);
      const gone = await f.req('/db/a');
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json, { error: 'not_found', reason: 'deleted' });
      const tomb = await f.req(`/db/a?rev=${delRev}`);
      assert.deepEqual(tomb.json, { _id: 'a', _rev: delRev, _deleted: true });
      const again = obj((await f.req('/db/a', { method: 'PUT', json: { n: 4 } })).json);
      assert.match(String(again.rev), /^4-/);
      const missing = await f.req('/db/nope');
      assert.deepEqual(missing.json, { error: 'not_found', reason: 'missing' });
      // chttpd_db opens the document before a DELETE: missing or deleted is 404, rev or not.
      const delMissing = await f.req('/db/nope', { method: 'DELETE' });
      assert.equal(delMissing.status, 404);
      assert.deepEqual(delMissing.json, { error: 'not_found', reason: 'missing' });
      assert.equal((await f.req('/db/a', { method: 'DELETE' })).status, 409, 'a live document without a rev conflicts');
      await f.req(`/db/a?rev=${String(again.rev)}`, { method: 'DELETE' });
      assert.deepEqual((await f.req('/db/a', { method: 'DELETE' })).json, { error: 'not_found', reason: 'deleted' });
    }));

  test("a deleted document conflicts on its tombstone's rev and on an older one; it is re-created without a rev (COUCHDB-292, apache/couchdb#3177)", () =>
    withCouch(async (f) => {
      await createDb(f);
      const v1 = String(obj((await f.req('/db/t', { method: 'PUT', json: { n: 1 } })).json).rev);
      const v2 = String(obj((await f.req(`/db/t?rev=${v1}`, { method: 'DELETE' })).json).rev);
      assert.equal((await f.req('/db/t', { method: 'PUT', json: { _rev: v1, n: 2 } })).status, 409);
      const onTombstone = await f.req('/db/t', { method: 'PUT', json: { _rev: v2, n: 3 } });
      assert.equal(onTombstone.status, 409, onTombstone.text);
      assert.deepEqual(onTombstone.json, { error: 'conflict', reason: 'Document update conflict.' });
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 't', _rev: v2, n: 3 }] } });
      assert.deepEqual(bulk.json, [{ id: 't', error: 'conflict', reason: 'Document update conflict.' }]);
      const recreated = await f.req('/db/t', { method: 'PUT', json: { n: 3 } });
      assert.equal(recreated.status, 201, recreated.text);
      assert.match(String(obj(recreated.json).rev), /^3-/);
      const doc = obj((await f.req('/db/t?revs=true')).json);
      assert.equal(doc.n, 3);
      assert.deepEqual(obj(doc._revisions).ids, [String(obj(recreated.json).rev).slice(2), v2.slice(2), v1.slice(2)]);
    }));

  test('Location: the host the client used, X-Forwarded-Host and -Proto first; attachments have one too', () =>
    withCouch(async (f) => {
      await createDb(f);
      const plain = await f.req('/db/q', { method: 'PUT', json: { v: 1 } });
      assert.match(String(plain.headers.location), /^http:\/\/127\.0\.0\.1:\d+\/db\/q$/);
      const proxied = await f.req('/db/p', { method: 'PUT', json: { v: 1 }, headers: { 'x-forwarded-host': 'couch.example:8443', 'x-forwarded-proto': 'https' } });
      assert.equal(proxied.headers.location, 'https://couch.example:8443/db/p');
      const att = await f.req(`/db/p/some%20file.txt?rev=${String(obj(proxied.json).rev)}`, { method: 'PUT', body: 'hi', headers: { 'content-type': 'text/plain', 'x-forwarded-host': 'couch.example' } });
      assert.equal(att.status, 201);
      assert.equal(att.headers.location, 'http://couch.example/db/p/some%20file.txt');
    }));

  test('x_forwarded_host/_proto/_ssl name other headers, in [chttpd] or, as CouchDB falls back, [httpd]', () =>
    withCouch(async (f) => {
      await createDb(f);
      const cfg = '/_node/_local/_config';
      assert.equal((await f.req(`${cfg}/httpd/x_forwarded_host`, { method: 'PUT', json: 'X-Host' })).status, 200);
      const viaHttpd = await f.req('/db/t3', { method: 'PUT', json: {}, headers: { 'x-host': 'mysite2.com', 'x-forwarded-host': 'ignored.example' } });
      assert.equal(viaHttpd.headers.location, 'http://mysite2.com/db/t3');
      // [chttpd] wins over [httpd] (chttpd_util:get_chttpd_config/1).
      await f.req(`${cfg}/chttpd/x_forwarded_host`, { method: 'PUT', json: 'X-Front' });
      await f.req(`${cfg}/chttpd/x_forwarded_proto`, { method: 'PUT', json: 'X-Scheme' });
      const viaChttpd = await f.req('/db/t4', { method: 'PUT', json: {}, headers: { 'x-host': 'no.example', 'x-front': 'front.example', 'x-scheme': 'https' } });
      assert.equal(viaChttpd.headers.location, 'https://front.example/db/t4');
      await f.req(`${cfg}/httpd/x_forwarded_ssl`, { method: 'PUT', json: 'X-Tls' });
      const ssl = await f.req('/db/t5', { method: 'PUT', json: {}, headers: { 'x-front': 'front.example', 'x-tls': 'on' } });
      assert.equal(ssl.headers.location, 'https://front.example/db/t5');
    }));

  test('batch=ok answers 202 {ok, id} whatever becomes of the write (chttpd_db)', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (let i = 0; i < 2; i++) {
        const r = await f.req('/db/same?batch=ok', { method: 'PUT', json: { a: i } });
        assert.deepEqual([r.status, r.json], [202, { ok: true, id: 'same' }]);
      }
      assert.equal(obj((await f.req('/db/same')).json).a, 0, 'the second was a conflict, silently');
      const posted = await f.req('/db?batch=ok', { method: 'POST', json: { _id: 'p', a: 1 } });
      assert.deepEqual([posted.status, posted.json], [202, { ok: true, id: 'p' }]);
      // validate_revs/2 comes before the batch is queued: new_edits=false needs a rev, else 400.
      const noRev = await f.req('/db/r?batch=ok&new_edits=false', { method: 'PUT', json: { a: 1 } });
      assert.equal(noRev.status, 400);
      assert.equal(obj(noRev.json).reason, 'When `new_edits: false`, the document needs `_rev` or `_revisions` specified');
      const withRev = await f.req('/db/r?batch=ok&new_edits=false&rev=1-abc', { method: 'PUT', json: { a: 1 } });
      assert.equal(withRev.status, 202);
      assert.equal(obj((await f.req('/db/r')).json)._rev, '1-abc');
    }));

  test('POST /db generates ids; If-Match names the rev; ids with slashes', () =>
    withCouch(async (f) => {
      await createDb(f);
      const posted = await f.req('/db', { method: 'POST', json: { x: 1 } });
      assert.equal(posted.status, 201);
      const id = String(obj(posted.json).id);
      assert.match(id, /^[0-9a-f]{32}$/);
      const noType = await f.req('/db', { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'text/plain' } });
      assert.equal(noType.status, 415);
      assert.deepEqual(noType.json, { error: 'bad_content_type', reason: 'Content-Type must be application/json' });
      const rev = String(obj(posted.json).rev);
      const upd = await f.req(`/db/${id}`, { method: 'PUT', json: { x: 2 }, headers: { 'if-match': `"${rev}"` } });
      assert.equal(upd.status, 201);
      const mismatch = await f.req(`/db/${id}?rev=${rev}`, { method: 'PUT', json: { _rev: String(obj(upd.json).rev), x: 3 } });
      assert.deepEqual([mismatch.status, obj(mismatch.json).reason], [400, 'Document rev from request body and query string have different values']);
      // chttpd_db extract_header_rev: If-Match against the body's rev, or the query's.
      for (const where of [{ json: { _rev: rev, x: 3 } }, { query: `?rev=${rev}`, json: { x: 3 } }]) {
        const r = await f.req(`/db/${id}${where.query ?? ''}`, { method: 'PUT', json: where.json, headers: { 'if-match': '"1-0123456789abcdef0123456789abcdef"' } });
        assert.deepEqual([r.status, obj(r.json).reason], [400, 'Document rev and etag have different values']);
      }
      assert.equal((await f.req('/db/a%2Fb', { method: 'PUT', json: { s: 1 } })).status, 201);
      assert.equal(obj((await f.req('/db/a%2Fb')).json)._id, 'a/b');
      assert.equal((await f.req('/db/_design/dd', { method: 'PUT', json: { views: {} } })).status, 201);
      assert.equal(obj((await f.req('/db/_design%2Fdd')).json)._id, '_design/dd');
    }));

  test('COPY writes the source, attachments included, under the Destination id; ?rev= there overwrites', () =>
    withCouch(async (f) => {
      await createDb(f);
      const src = await f.req('/db/src', { method: 'PUT', json: { v: 1, _attachments: { 'a.txt': { content_type: 'text/plain', data: Buffer.from('hello').toString('base64') } } } });
      assert.equal(src.status, 201);
      const copy = await f.req('/db/src', { method: 'COPY', headers: { destination: 'dst' } });
      assert.equal(copy.status, 201);
      assert.equal(obj(copy.json).id, 'dst');
      assert.equal(copy.headers.etag, `"${String(obj(copy.json).rev)}"`);
      const dst = obj((await f.req('/db/dst')).json);
      assert.equal(dst.v, 1);
      assert.equal((await f.req('/db/dst/a.txt')).text, 'hello');
      // Onto an existing document: 409 without its rev, a new revision with it.
      assert.equal((await f.req('/db/src', { method: 'COPY', headers: { destination: 'dst' } })).status, 409);
      await f.req(`/db/src?rev=${String(obj(src.json).rev)}`, { method: 'PUT', json: { v: 2 } });
      const over = await f.req(`/db/src?rev=${String(obj(src.json).rev)}`, { method: 'COPY', headers: { destination: `dst?rev=${String(dst._rev)}` } });
      assert.equal(over.status, 201);
      assert.match(String(obj(over.json).rev), /^2-/);
      assert.equal(obj((await f.req('/db/dst')).json).v, 1, 'the ?rev= of the source picks the copied revision');
      assert.equal((await f.req('/db/src', { method: 'COPY' })).status, 400);
      assert.equal((await f.req('/db/src', { method: 'COPY', headers: { destination: '_local/x' } })).status, 400);
      assert.equal((await f.req('/db/src', { method: 'COPY', headers: { destination: '_bad' } })).status, 400);
      const absolute = await f.req('/db/src', { method: 'COPY', headers: { destination: 'http://elsewhere/db/x' } });
      assert.deepEqual([absolute.status, absolute.json], [400, { error: 'bad_request', reason: 'Destination URL must be relative.' }]);
      assert.equal((await f.req('/db/nope', { method: 'COPY', headers: { destination: 'x' } })).status, 404);
    }));

  test('COPY: the Destination id is unquoted; If-Match names the source rev, and must agree with ?rev= (chttpd_db)', () =>
    withCouch(async (f) => {
      await createDb(f);
      const v1 = String(obj((await f.req('/db/src', { method: 'PUT', json: { v: 1 } })).json).rev);
      const v2 = String(obj((await f.req('/db/src', { method: 'PUT', json: { _rev: v1, v: 2 } })).json).rev);
      const spaced = await f.req('/db/src', { method: 'COPY', headers: { destination: 'a%20b%2Fc+d' } });
      assert.equal(spaced.status, 201, spaced.text);
      assert.equal(obj(spaced.json).id, 'a b/c d');
      assert.equal(obj((await f.req('/db/a%20b%2Fc%20d')).json).v, 2);
      const old = await f.req('/db/src', { method: 'COPY', headers: { destination: 'old', 'if-match': `"${v1}"` } });
      assert.equal(old.status, 201, old.text);
      assert.equal(obj((await f.req('/db/old')).json).v, 1);
      const clash = await f.req(`/db/src?rev=${v2}`, { method: 'COPY', headers: { destination: 'x', 'if-match': `"${v1}"` } });
      assert.deepEqual([clash.status, clash.json], [400, { error: 'bad_request', reason: 'Document rev and etag have different values' }]);
      assert.equal((await f.req('/db/src', { method: 'COPY', headers: { destination: 'y', 'if-match': '"1-abc"' } })).status, 404);
    }));

  test('malformed input gets CouchDB errors', () =>
    withCouch(async (f) => {
      await createDb(f);
      const badJson = await f.req('/db/x', { method: 'PUT', body: '{"a":', headers: { 'content-type': 'application/json' } });
      assert.equal(badJson.status, 400);
      assert.deepEqual(badJson.json, { error: 'bad_request', reason: 'invalid UTF-8 JSON' });
      const notObject = await f.req('/db/x', { method: 'PUT', json: [1, 2] });
      assert.equal(notObject.status, 400);
      assert.equal(obj(notObject.json).reason, 'Document must be a JSON object');
      const badRev = await f.req('/db/x', { method: 'PUT', json: { _rev: 'banana' } });
      assert.equal(badRev.status, 400);
      assert.deepEqual(badRev.json, { error: 'bad_request', reason: 'Invalid rev format' });
      const badQueryRev = await f.req('/db/x?rev=12');
      assert.equal(badQueryRev.status, 400);
      const special = await f.req('/db/x', { method: 'PUT', json: { _foo: 1 } });
      assert.deepEqual(special.json, { error: 'doc_validation', reason: 'Bad special document member: _foo' });
      const underscore = await f.req('/db/_x', { method: 'PUT', json: {} });
      assert.equal(underscore.status, 400);
      assert.equal(obj(underscore.json).error, 'illegal_docid');
      const badBool = await f.req('/db/x?revs=maybe');
      assert.equal(badBool.status, 400);
      assert.equal(obj(badBool.json).error, 'query_parse_error');
      const badBase64 = await f.req('/db/y', { method: 'PUT', json: { _attachments: { 'a.txt': { data: '***' } } } });
      assert.equal(badBase64.status, 400);
      const missingStub = await f.req('/db/z', { method: 'PUT', json: { _attachments: { 'a.txt': { stub: true } } } });
      assert.equal(missingStub.status, 412);
      assert.equal(obj(missingStub.json).error, 'missing_stub');
    }));

  test('conflicts: deterministic winner, _conflicts, open_revs, revs, revs_info, deleting the winner', () =>
    withCouch(async (f) => {
      await createDb(f);
      const a = 'a'.repeat(32);
      const b = 'b'.repeat(32);
      const root = 'c'.repeat(32);
      const push = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: {
          new_edits: false,
          docs: [
            { _id: 'd', _rev: `2-${a}`, _revisions: { start: 2, ids: [a, root] }, side: 'a' },
            { _id: 'd', _rev: `2-${b}`, _revisions: { start: 2, ids: [b, root] }, side: 'b' },
          ],
        },
      });
      assert.equal(push.status, 201);
      assert.deepEqual(push.json, []);
      const doc = obj((await f.req('/db/d?conflicts=true&revs=true&revs_info=true')).json);
      assert.equal(doc._rev, `2-${b}`);
      assert.equal(doc.side, 'b');
      assert.deepEqual(doc._conflicts, [`2-${a}`]);
      assert.deepEqual(doc._revisions, { start: 2, ids: [b, root] });
      assert.deepEqual(doc._revs_info, [
        { rev: `2-${b}`, status: 'available' },
        { rev: `1-${root}`, status: 'missing' },
      ]);
      const all = arr((await f.req('/db/d?open_revs=all', { headers: { accept: 'application/json' } })).json);
      assert.deepEqual(all.map((r) => obj(obj(r).ok)._rev).sort(), [`2-${a}`, `2-${b}`]);
      const some = arr((await f.req(`/db/d?open_revs=${encodeURIComponent(JSON.stringify([`2-${a}`, '9-x']))}&revs=true`)).json);
      assert.equal(obj(obj(some[0]).ok).side, 'a');
      assert.deepEqual(obj(obj(some[0]).ok)._revisions, { start: 2, ids: [a, root] });
      assert.deepEqual(some[1], { missing: '9-x' });
      const latest = arr((await f.req(`/db/d?open_revs=${encodeURIComponent(JSON.stringify([`1-${root}`]))}&latest=true`)).json);
      assert.equal(latest.length, 2);
      const del = await f.req(`/db/d?rev=2-${b}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      const after = obj((await f.req('/db/d?conflicts=true&deleted_conflicts=true')).json);
      assert.equal(after._rev, `2-${a}`);
      assert.equal(after._conflicts, undefined);
      assert.deepEqual(after._deleted_conflicts, [String(obj(del.json).rev)]);
    }));
});
