/**
 * What a document read carries besides the body, as chttpd_db db_doc_req and couch_db open_doc
 * give it: meta members (`_revs_info`, `_conflicts`, `_deleted_conflicts`, `_local_seq`) only on a
 * read of the winner (doc_meta_info/3; a named revision or `open_revs` goes through
 * open_doc_revs_int, which has none), the ETag only without meta (send_doc), a deleted winner on
 * `?deleted=true` (open_doc/3), and 200 for a deletion written by PUT (update_doc).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function put(f: CouchFixture, path: string, json: unknown): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

/** A document whose winner `2-…` has a live conflict `1-bbbb` and a deleted one `1-cccc`. */
async function conflicted(f: CouchFixture): Promise<{ winner: string; first: string }> {
  const first = await put(f, '/db/d', { n: 1 });
  const winner = await put(f, '/db/d', { _rev: first, n: 2 });
  const bulk = await f.req('/db/_bulk_docs', {
    method: 'POST',
    json: { new_edits: false, docs: [{ _id: 'd', _rev: '1-bbbb', n: 'b' }, { _id: 'd', _rev: '1-cccc', _deleted: true }] },
  });
  assert.equal(bulk.status, 201, bulk.text);
  return { winner, first };
}

describe('document read options', () => {
  test('meta options apply to the winner only; ?rev= and open_revs ignore them', () =>
    withCouch(async (f) => {
      await createDb(f);
      const { winner } = await conflicted(f);
      const all = 'revs_info=true&conflicts=true&deleted_conflicts=true&local_seq=true';
      const top = obj((await f.req(`/db/d?${all}`)).json);
      assert.deepEqual(top._conflicts, ['1-bbbb']);
      assert.deepEqual(top._deleted_conflicts, ['1-cccc']);
      assert.equal(arr(top._revs_info).length, 2);
      assert.equal(typeof top._local_seq, 'number');
      for (const rev of [winner, '1-bbbb']) {
        const named = await f.req(`/db/d?rev=${rev}&revs=true&${all}`);
        assert.equal(named.status, 200, named.text);
        const doc = obj(named.json);
        assert.equal(doc._rev, rev);
        assert.ok(doc._revisions !== undefined, 'revs still applies');
        for (const member of ['_revs_info', '_conflicts', '_deleted_conflicts', '_local_seq']) assert.equal(doc[member], undefined, `${member} with ?rev=${rev}`);
        assert.equal(named.headers.etag, `"${rev}"`);
      }
      // meta=true is revs_info, conflicts and deleted_conflicts (parse_doc_query).
      assert.equal(obj((await f.req(`/db/d?rev=${winner}&meta=true`)).json)._conflicts, undefined);
      const open = arr((await f.req(`/db/d?open_revs=all&${all}`)).json).map((e) => obj(obj(e).ok));
      assert.equal(open.length, 3);
      for (const doc of open) for (const member of ['_revs_info', '_conflicts', '_deleted_conflicts', '_local_seq']) assert.equal(doc[member], undefined);
    }));

  test('ETag and If-None-Match only when the winner read has no meta members', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = await put(f, '/db/plain', { x: 1 });
      const etag = `"${rev}"`;
      assert.equal((await f.req('/db/plain')).headers.etag, etag);
      assert.equal((await f.req('/db/plain', { headers: { 'if-none-match': etag } })).status, 304);
      // conflicts=true with no conflicts adds nothing: still an ETag.
      assert.equal((await f.req('/db/plain?conflicts=true', { headers: { 'if-none-match': etag } })).status, 304);
      for (const q of ['revs_info=true', 'local_seq=true', 'meta=true']) {
        const r = await f.req(`/db/plain?${q}`, { headers: { 'if-none-match': etag } });
        assert.equal(r.status, 200, q);
        assert.equal(r.headers.etag, undefined, q);
      }
      await createDb(f, 'db2');
      const winner = await put(f, '/db2/c', {});
      await f.req('/db2/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'c', _rev: '1-0000', n: 0 }] } });
      const withConflicts = await f.req('/db2/c?conflicts=true');
      assert.deepEqual(obj(withConflicts.json)._conflicts, ['1-0000']);
      assert.equal(withConflicts.headers.etag, undefined);
      assert.equal((await f.req(`/db2/c?rev=${winner}&conflicts=true`, { headers: { 'if-none-match': `"${winner}"` } })).status, 304);
    }));

  test('?deleted=true opens a deleted winner; without it 404 deleted', () =>
    withCouch(async (f) => {
      await createDb(f);
      const v1 = await put(f, '/db/gone', { a: 1 });
      const del = await f.req(`/db/gone?rev=${v1}`, { method: 'DELETE' });
      const tomb = String(obj(del.json).rev);
      assert.deepEqual((await f.req('/db/gone')).json, { error: 'not_found', reason: 'deleted' });
      const r = await f.req('/db/gone?deleted=true&revs=true');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { _id: 'gone', _rev: tomb, _deleted: true, _revisions: { start: 2, ids: [tomb.slice(2), v1.slice(2)] } });
      assert.equal(r.headers.etag, `"${tomb}"`);
      assert.deepEqual((await f.req('/db/missing?deleted=true')).json, { error: 'not_found', reason: 'missing' });
    }));

  test('PUT of a deletion answers 200 (update_doc: ok), a creation 201', () =>
    withCouch(async (f) => {
      await createDb(f);
      const v1 = await put(f, '/db/p', { a: 1 });
      const r = await f.req('/db/p', { method: 'PUT', json: { _rev: v1, _deleted: true, why: 'gone' } });
      assert.equal(r.status, 200, r.text);
      const rev = String(obj(r.json).rev);
      assert.deepEqual(r.json, { ok: true, id: 'p', rev });
      assert.equal(r.headers.etag, `"${rev}"`);
      assert.deepEqual((await f.req(`/db/p?rev=${rev}`)).json, { _id: 'p', _rev: rev, why: 'gone', _deleted: true });
    }));
});
