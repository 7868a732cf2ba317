import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function put(f: CouchFixture, id: string, body: Record<string, unknown>): Promise<string> {
  const r = await f.req(`/db/${encodeURIComponent(id)}`, { method: 'PUT', json: body });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

describe('_bulk_docs', () => {
  test('interactive: one result per doc, conflicts reported per doc, non-atomic', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = await put(f, 'x', { v: 1 });
      const r = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: { docs: [{ _id: 'a', v: 1 }, { _id: 'x', v: 2 }, { _id: 'x', _rev: rev, v: 3 }, { v: 4 }] },
      });
      assert.equal(r.status, 201);
      const rows = arr(r.json).map(obj);
      assert.equal(rows[0]!.ok, true);
      assert.equal(rows[0]!.id, 'a');
      assert.deepEqual(rows[1], { id: 'x', error: 'conflict', reason: 'Document update conflict.' });
      assert.equal(rows[2]!.ok, true);
      assert.match(String(rows[2]!.rev), /^2-/);
      assert.match(String(rows[3]!.id), /^[0-9a-f]{32}$/);
      assert.equal(obj((await f.req('/db/x')).json).v, 3);
    }));

  test('new_edits:false answers only failures; body errors are 400', () =>
    withCouch(async (f) => {
      await createDb(f);
      const ok = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: { new_edits: false, docs: [{ _id: 'r', _rev: '1-' + 'a'.repeat(32), v: 1 }, { _id: 'q', _rev: '1-' + 'b'.repeat(32), v: 1 }] },
      });
      assert.equal(ok.status, 201);
      assert.deepEqual(ok.json, []);
      // Replaying the same revision is accepted and changes nothing.
      const again = await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'r', _rev: '1-' + 'a'.repeat(32), v: 9 }] } });
      assert.deepEqual(again.json, []);
      assert.equal(obj((await f.req('/db/r')).json).v, 1);
      const noDocs = await f.req('/db/_bulk_docs', { method: 'POST', json: {} });
      assert.deepEqual(noDocs.json, { error: 'bad_request', reason: 'POST body must include `docs` parameter.' });
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: 1 } })).status, 400);
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [], new_edits: 'no' } })).status, 400);
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', body: '{"docs":[', headers: { 'content-type': 'application/json' } })).status, 400);
    }));
});

describe('_bulk_docs request validation (CouchDB rejects the whole request)', () => {
  const cases: Array<{ name: string; body: Record<string, unknown>; error: string; reason: string }> = [
    { name: 'an unknown special member', body: { docs: [{ _id: 'ok1' }, { _zing: 4 }] }, error: 'doc_validation', reason: 'Bad special document member: _zing' },
    { name: 'a reserved _id', body: { docs: [{ _id: 'ok1' }, { _id: '_zing' }] }, error: 'illegal_docid', reason: 'Only reserved document ids may start with underscore.' },
    {
      name: 'new_edits:false without _rev',
      body: { new_edits: false, docs: [{ _id: 'ok1', _rev: '1-' + 'a'.repeat(32) }, { _id: 'norev', v: 1 }] },
      error: 'bad_request',
      reason: 'When `new_edits: false`, the document needs `_rev` or `_revisions` specified',
    },
    { name: 'a document that is no object', body: { docs: [{ _id: 'ok1' }, 'text'] }, error: 'bad_request', reason: 'Document must be a JSON object' },
  ];
  for (const c of cases) {
    test(`${c.name}: 400 ${c.error}, nothing written`, () =>
      withCouch(async (f) => {
        await createDb(f);
        const r = await f.req('/db/_bulk_docs', { method: 'POST', json: c.body });
        assert.equal(r.status, 400);
        assert.deepEqual(r.json, { error: c.error, reason: c.reason });
        assert.equal((await f.req('/db/ok1')).status, 404);
      }));
  }

  test('all_or_nothing is 417 not_implemented per document, and writes nothing', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { all_or_nothing: true, docs: [{ _id: 'x' }, { _id: 'y', _rev: '1-abc' }] } });
      assert.equal(r.status, 417);
      // fabric_doc_update validate_atomic_update: each row names the rev it was sent with, `0-` for none.
      const rows = [
        { id: 'x', rev: '0-' },
        { id: 'y', rev: '1-abc' },
      ];
      assert.deepEqual(r.json, rows.map((row) => ({ ...row, error: 'not_implemented', reason: 'all_or_nothing is not supported' })));
      assert.equal((await f.req('/db/x')).status, 404);
    }));

  test('new_edits:false without _id gets a generated id, as CouchDB', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _rev: '1-' + 'c'.repeat(32), v: 1 }] } });
      assert.equal(r.status, 201);
      assert.deepEqual(r.json, []);
      assert.equal(obj((await f.req('/db')).json).doc_count, 1);
    }));
});

describe('_all_docs', () => {
  test('keys with key, startkey or endkey is 400 query_parse_error (an empty keys is not)', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'a', {});
      const reason = '`keys` is incompatible with `key`, `start_key` and `end_key`';
      const keys = encodeURIComponent('["a"]');
      for (const range of ['key="a"', 'startkey="a"', 'endkey="b"', 'start_key="a"', 'end_key="b"']) {
        const get = await f.req(`/db/_all_docs?keys=${keys}&${range}`);
        assert.equal(get.status, 400, range);
        assert.deepEqual(get.json, { error: 'query_parse_error', reason });
        const post = await f.req(`/db/_all_docs?${range}`, { method: 'POST', json: { keys: ['a'] } });
        assert.equal(post.status, 400, range);
        assert.deepEqual(post.json, { error: 'query_parse_error', reason });
      }
      const empty = await f.req('/db/_all_docs?key="a"', { method: 'POST', json: { keys: [] } });
      assert.equal(empty.status, 200);
    }));

  test('range, keys, include_docs, limit, skip, descending, inclusive_end; deleted docs left out', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['b', 'a', 'd', 'c', 'e']) await put(f, id, { id });
      const delRev = await put(f, 'zz', {});
      await f.req(`/db/zz?rev=${delRev}`, { method: 'DELETE' });
      const all = obj((await f.req('/db/_all_docs')).json);
      assert.equal(all.total_rows, 5);
      assert.deepEqual(arr(all.rows).map((r) => obj(r).id), ['a', 'b', 'c', 'd', 'e']);
      const range = obj((await f.req('/db/_all_docs?startkey="b"&endkey="d"&inclusive_end=false')).json);
      assert.deepEqual(arr(range.rows).map((r) => obj(r).id), ['b', 'c']);
      const desc = obj((await f.req('/db/_all_docs?descending=true&limit=2&skip=1')).json);
      assert.deepEqual(arr(desc.rows).map((r) => obj(r).id), ['d', 'c']);
      const descFrom = obj((await f.req('/db/_all_docs?descending=true&startkey="c1"&endkey="b"')).json);
      assert.deepEqual(arr(descFrom.rows).map((r) => obj(r).id), ['c', 'b']);
      const withDocs = obj((await f.req('/db/_all_docs?key="c"&include_docs=true')).json);
      assert.equal(obj(obj(arr(withDocs.rows)[0]).doc).id, 'c');
      const keys = obj((await f.req('/db/_all_docs', { method: 'POST', json: { keys: ['e', 'zz', 'nope'] } })).json);
      const rows = arr(keys.rows).map(obj);
      assert.equal(rows[0]!.id, 'e');
      assert.equal(obj(rows[1]!.value).deleted, true);
      assert.deepEqual(rows[2], { key: 'nope', error: 'not_found' });
      const notJson = await f.req('/db/_all_docs?startkey=notjson');
      assert.deepEqual([notJson.status, obj(notJson.json).error], [400, 'bad_request']);
      const keysNotList = await f.req('/db/_all_docs', { method: 'POST', json: { keys: 1 } });
      assert.deepEqual([keysNotList.status, keysNotList.json], [400, { error: 'bad_request', reason: '`keys` body member must be an array.' }]);
      // A POST body carries any query parameter; the query string wins where both name one
      // (CouchDB's "colliding parameters" tests).
      const posted = obj((await f.req('/db/_all_docs?limit=1', { method: 'POST', json: { keys: ['a', 'b', 'c'], limit: 2, skip: 1, include_docs: true } })).json);
      assert.deepEqual(arr(posted.rows).map((r) => [obj(r).id, obj(obj(r).doc).id]), [['b', 'b']]);
      const postedRange = obj((await f.req('/db/_all_docs', { method: 'POST', json: { startkey: 'b', endkey: 'd', descending: false, inclusive_end: false } })).json);
      assert.deepEqual(arr(postedRange.rows).map((r) => obj(r).id), ['b', 'c']);
      // fabric_view_all_docs reverses the keys when descending, then skips and limits.
      const descKeys = obj((await f.req('/db/_all_docs?descending=true&limit=2', { method: 'POST', json: { keys: ['c', 'b', 'nope', 'a'] } })).json);
      assert.deepEqual(arr(descKeys.rows).map((r) => obj(r).key), ['a', 'nope']);
      const notObject = await f.req('/db/_all_docs', { method: 'POST', json: [] });
      assert.deepEqual([notObject.status, notObject.json], [400, { error: 'bad_request', reason: 'Request body must be a JSON object' }]);
      // Every id is a string, and every key that is not sorts before all of them (all_docs "ordering").
      const ids = async (qs: string): Promise<unknown[]> => arr(obj((await f.req(`/db/_all_docs?${qs}`)).json).rows).map((r) => obj(r).id);
      assert.deepEqual(await ids('end_key=0'), []);
      assert.deepEqual(await ids('startkey=0&endkey="b"'), ['a', 'b']);
      assert.deepEqual(await ids('startkey=[1,2]&endkey="b"'), ['a', 'b']);
      assert.deepEqual(await ids('startkey=false'), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(await ids('startkey="d"&endkey={}'), []);
      assert.deepEqual(await ids('descending=true&endkey={}'), ['e', 'd', 'c', 'b', 'a']);
      assert.deepEqual(await ids('descending=true&startkey=1'), []);
    }));
});

describe('_bulk_get, _revs_diff, _missing_revs', () => {
  test('_bulk_get returns requested revisions with _revisions, and errors per document', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, 'a', { v: 1 });
      const r2 = await put(f, 'a', { _rev: r1, v: 2 });
      const res = await f.req('/db/_bulk_get?revs=true', {
        method: 'POST',
        json: { docs: [{ id: 'a', rev: r2 }, { id: 'a' }, { id: 'a', rev: '9-zz' }, { id: 'missing' }, { rev: r1 }] },
      });
      assert.equal(res.status, 200);
      const results = arr(obj(res.json).results).map(obj);
      assert.equal(results.length, 5);
      const first = obj(obj(arr(results[0]!.docs)[0]).ok);
      assert.equal(first.v, 2);
      assert.deepEqual(obj(first._revisions).start, 2);
      assert.equal(arr(obj(first._revisions).ids).length, 2);
      assert.equal(obj(obj(arr(results[1]!.docs)[0]).ok)._rev, r2);
      assert.deepEqual(obj(arr(results[2]!.docs)[0]).error, { id: 'a', rev: '9-zz', error: 'not_found', reason: 'missing' });
      assert.equal(obj(obj(arr(results[3]!.docs)[0]).error).error, 'not_found');
      assert.equal(obj(obj(arr(results[4]!.docs)[0]).error).error, 'bad_request');
      // latest=true turns an old rev into the current leaf.
      const latest = await f.req('/db/_bulk_get?latest=true', { method: 'POST', json: { docs: [{ id: 'a', rev: r1 }] } });
      assert.equal(obj(obj(arr(obj(arr(obj(latest.json).results)[0]).docs)[0]).ok)._rev, r2);
      assert.equal((await f.req('/db/_bulk_get', { method: 'POST', json: {} })).status, 400);
      assert.equal((await f.req('/db/_bulk_get')).status, 405);
    }));

  test('_bulk_get without a rev gives every leaf, deleted ones included, as open_revs=all does (couchbackup reads deletions so)', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, 'gone', { v: 1 });
      const del = await f.req(`/db/gone?rev=${r1}`, { method: 'DELETE' });
      const delRev = String(obj(del.json).rev);
      const bulk = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: { new_edits: false, docs: [{ _id: 'c', _rev: '1-aaaa', v: 'a' }, { _id: 'c', _rev: '2-bbbb', _revisions: { start: 2, ids: ['bbbb', 'cccc'] }, _deleted: true }] },
      });
      assert.equal(bulk.status, 201);
      const res = await f.req('/db/_bulk_get?revs=true', { method: 'POST', json: { docs: [{ id: 'gone' }, { id: 'c' }, { id: 'nope' }] } });
      const results = arr(obj(res.json).results).map(obj);
      const gone = arr(results[0]!.docs).map((d) => obj(obj(d).ok));
      assert.deepEqual(gone, [{ _id: 'gone', _rev: delRev, _deleted: true, _revisions: { start: 2, ids: [delRev.slice(2), r1.slice(2)] } }]);
      const c = arr(results[1]!.docs).map((d) => obj(obj(d).ok));
      assert.deepEqual(c.map((d) => [d._rev, d._deleted ?? false]).sort(), [['1-aaaa', false], ['2-bbbb', true]]);
      // A missing document with no rev: `{ok, []}`, one entry whose rev is the atom `undefined`.
      assert.deepEqual(obj(arr(results[2]!.docs)[0]).error, { id: 'nope', rev: 'undefined', error: 'not_found', reason: 'missing' });
      // The same leaves as GET ?open_revs=all.
      const all = await f.req('/db/gone?open_revs=all', { headers: { accept: 'application/json' } });
      assert.deepEqual(arr(all.json).map((d) => obj(obj(d).ok)._rev), [delRev]);
    }));

  test('_revs_diff lists missing revs with possible_ancestors and leaves out complete ids', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, 'a', { v: 1 });
      await put(f, 'b', {});
      const diff = await f.req('/db/_revs_diff', {
        method: 'POST',
        json: { a: [r1, '2-' + 'f'.repeat(32)], b: [], c: ['1-' + 'e'.repeat(32)] },
      });
      assert.equal(diff.status, 200);
      assert.deepEqual(diff.json, {
        a: { missing: ['2-' + 'f'.repeat(32)], possible_ancestors: [r1] },
        c: { missing: ['1-' + 'e'.repeat(32)] },
      });
      assert.deepEqual((await f.req('/db/_revs_diff', { method: 'POST', json: { a: [r1] } })).json, {});
      assert.equal((await f.req('/db/_revs_diff', { method: 'POST', json: { a: ['bad'] } })).status, 400);
      const missing = await f.req('/db/_missing_revs', { method: 'POST', json: { a: [r1, '3-x'] } });
      assert.deepEqual(missing.json, { missing_revs: { a: ['3-x'] } });
    }));
});

describe('_local documents', () => {
  test('0-N revs, stale rev conflicts, delete gives 0-0, never in _changes or _all_docs', () =>
    withCouch(async (f) => {
      await createDb(f);
      const p1 = await f.req('/db/_local/cp', { method: 'PUT', json: { last_seq: 1 } });
      assert.equal(p1.status, 201);
      assert.deepEqual(p1.json, { ok: true, id: '_local/cp', rev: '0-1' });
      assert.equal((await f.req('/db/_local/cp', { method: 'PUT', json: { last_seq: 2 } })).status, 409);
      const p2 = await f.req('/db/_local/cp', { method: 'PUT', json: { _rev: '0-1', last_seq: 2 } });
      assert.equal(obj(p2.json).rev, '0-2');
      assert.deepEqual((await f.req('/db/_local%2Fcp')).json, { _id: '_local/cp', _rev: '0-2', last_seq: 2 });
      const viaBulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_local/b', x: 1 }] } });
      assert.deepEqual(viaBulk.json, [{ ok: true, id: '_local/b', rev: '0-1' }]);
      const list = obj((await f.req('/db/_local_docs?include_docs=true')).json);
      assert.deepEqual(arr(list.rows).map((r) => obj(r).id), ['_local/b', '_local/cp']);
      for (const limit of [0, 1]) {
        const byKeys = obj((await f.req(`/db/_local_docs?limit=${limit}`, { method: 'POST', json: { keys: ['_local/b', '_local/cp'] } })).json);
        assert.equal(arr(byKeys.rows).length, limit, 'limit applies to keys');
        const inBody = obj((await f.req('/db/_local_docs', { method: 'POST', json: { keys: ['_local/b', '_local/cp'], limit } })).json);
        assert.equal(arr(inBody.rows).length, limit, 'limit in the body');
      }
      assert.deepEqual(arr(obj((await f.req('/db/_changes')).json).results), []);
      assert.deepEqual(arr(obj((await f.req('/db/_all_docs')).json).rows), []);
      const del = await f.req('/db/_local/cp?rev=0-2', { method: 'DELETE' });
      assert.deepEqual(del.json, { ok: true, id: '_local/cp', rev: '0-0' });
      assert.equal((await f.req('/db/_local/cp')).status, 404);
      // Stored without its attachments; only the attachment routes are refused (as CouchDB).
      const withAtt = await f.req('/db/_local/att', { method: 'PUT', json: { v: 1, _attachments: { 'a.txt': { content_type: 'text/plain', data: 'aGk=' } } } });
      assert.equal(withAtt.status, 201);
      assert.deepEqual((await f.req('/db/_local/att')).json, { _id: '_local/att', _rev: '0-1', v: 1 });
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await f.req('/db/_local/att/a.txt?rev=0-1', { method, ...(method === 'PUT' ? { body: 'x', headers: { 'content-type': 'text/plain' } } : {}) });
        assert.equal(r.status, 400, method);
        assert.deepEqual(r.json, { error: 'bad_request', reason: '_local documents do not accept attachments.' });
      }
      const bulkAtt = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_local/batt', _attachments: { 'a.txt': { content_type: 'text/plain', data: 'aGk=' } } }] } });
      assert.deepEqual(bulkAtt.json, [{ ok: true, id: '_local/batt', rev: '0-1' }]);
    }));
});
