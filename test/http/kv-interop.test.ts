/**
 * Both faces describe one document: writes through the engine (the KV face's path) get revisions
 * on the HTTP side, and HTTP writes leave plain JSON in the item value. Writes go through the
 * engine's Bucket API directly.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('KV and HTTP faces share documents', () => {
  test('an HTTP write leaves the plain JSON body in the item, its tree in the _sync xattr', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = String(obj((await f.req('/db/a', { method: 'PUT', json: { x: 1, y: 'two' } })).json).rev);
      const item = f.engine.requireBucket('db').get('a');
      assert.equal(item.value.toString(), '{"x":1,"y":"two"}');
      assert.equal(item.datatype & 1, 1);
      const xattrs = obj(JSON.parse(item.xattrs!.toString()));
      assert.equal(obj(xattrs._sync).rev, rev);
    }));

  test('a KV key that is no CouchDB id (a leading _, as _txn: records) is in neither _all_docs nor _changes', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('_txn:atr-1-#1', '{"attempts":{}}');
      await bucket.set('plain', '{"a":1}');
      await bucket.quiesce();
      const all = obj((await f.req('/db/_all_docs')).json);
      assert.deepEqual(arr(all.rows).map((r) => obj(r).id), ['plain']);
      const changes = obj((await f.req('/db/_changes')).json);
      assert.deepEqual(arr(changes.results).map((r) => obj(r).id), ['plain']);
      assert.equal(changes.last_seq, bucket.persistedBucketSeq, 'the feed still moves past it');
      const keyed = obj((await f.req('/db/_all_docs', { method: 'POST', json: { keys: ['_txn:atr-1-#1'] } })).json);
      assert.deepEqual(arr(keyed.rows), [{ key: '_txn:atr-1-#1', error: 'not_found' }]);
    }));

  test('KV writes are new revisions on the winning branch; the next HTTP write makes them real', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bucket = f.engine.requireBucket('db');
      const r1 = String(obj((await f.req('/db/a', { method: 'PUT', json: { v: 1 } })).json).rev);
      await bucket.set('a', JSON.stringify({ v: 2, _id: 'ignored' }));
      const d2 = obj((await f.req('/db/a?revs=true')).json);
      assert.equal(d2.v, 2);
      assert.equal(d2._id, 'a');
      assert.match(String(d2._rev), /^2-[0-9a-f]{32}$/);
      assert.deepEqual(arr(obj(d2._revisions).ids).slice(1), [r1.slice(2)]);
      // Reading again gives the same computed rev (nothing is written back).
      assert.equal(obj((await f.req('/db/a')).json)._rev, d2._rev);
      await bucket.set('a', JSON.stringify({ v: 3 }));
      const d3 = obj((await f.req('/db/a?revs=true')).json);
      assert.match(String(d3._rev), /^3-/);
      assert.deepEqual(arr(obj(d3._revisions).ids).slice(1), [String(d2._rev).slice(2), r1.slice(2)]);
      assert.equal((await f.req('/db/a', { method: 'PUT', json: { _rev: d2._rev, v: 9 } })).status, 409);
      const w = await f.req('/db/a', { method: 'PUT', json: { _rev: d3._rev, v: 4 } });
      assert.equal(w.status, 201);
      const d4 = obj((await f.req('/db/a?revs=true')).json);
      assert.equal(arr(obj(d4._revisions).ids).length, 4);
      assert.equal(bucket.get('a').value.toString(), '{"v":4}');
    }));

  test('KV delete and expiry appear as deleted revisions that descend from the last KV version', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('k', JSON.stringify({ kv: true }));
      const seen = obj((await f.req('/db/k')).json);
      assert.match(String(seen._rev), /^1-/);
      await bucket.delete('k');
      const gone = await f.req('/db/k');
      assert.deepEqual(gone.json, { error: 'not_found', reason: 'deleted' });
      const leaves = arr((await f.req('/db/k?open_revs=all&revs=true')).json).map((r) => obj(obj(r).ok));
      assert.equal(leaves.length, 1);
      assert.equal(leaves[0]!._deleted, true);
      assert.match(String(leaves[0]!._rev), /^2-/);
      // The deletion is the child of the revision a peer saw before, so it replicates as a delete.
      assert.deepEqual(arr(obj(leaves[0]!._revisions).ids)[1], String(seen._rev).slice(2));
      const row = arr(obj((await f.req('/db/_changes')).json).results).map(obj).find((r) => r.id === 'k');
      assert.equal(row?.deleted, true);
      // Expiry: an absolute expiry in the past expires the item on its next access.
      await bucket.set('e', JSON.stringify({ temp: true }), { expiry: Math.floor(Date.now() / 1000) - 100 });
      assert.deepEqual((await f.req('/db/e')).json, { error: 'not_found', reason: 'deleted' });
      // That access queued the expiration; `_changes` shows it once it is durable.
      await bucket.quiesce();
      const changes = arr(obj((await f.req('/db/_changes')).json).results).map(obj);
      assert.equal(changes.find((r) => r.id === 'e')?.deleted, true);
    }));

  test('a KV value that is not a JSON object is a live document with no JSON form (never deleted); HTTP can overwrite it', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('bin', Buffer.from([0, 1, 2]));
      const read = await f.req('/db/bin');
      assert.equal(read.status, 406);
      assert.equal(obj(read.json).error, 'not_json_object');
      const info = obj((await f.req('/db')).json);
      assert.equal(info.doc_count, 1);
      assert.equal(info.doc_del_count, 0);
      // Without the current rev it is a conflict, as for any live document.
      assert.equal((await f.req('/db/bin', { method: 'PUT', json: { now: 'json' } })).status, 409);
      const rev = String(obj(obj(arr(obj((await f.req('/db/_all_docs')).json).rows)[0]).value).rev);
      assert.match(rev, /^1-/);
      const put = await f.req('/db/bin', { method: 'PUT', json: { _rev: rev, now: 'json' } });
      assert.equal(put.status, 201);
      assert.match(String(obj(put.json).rev), /^2-/);
    }));

  test('replicating a history onto a KV-written document merges with the computed revisions', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('r', JSON.stringify({ from: 'kv' }));
      const kvRev = String(obj((await f.req('/db/r')).json)._rev);
      const child = '2-' + 'e'.repeat(32);
      const push = await f.req('/db/_bulk_docs', {
        method: 'POST',
        json: { new_edits: false, docs: [{ _id: 'r', _rev: child, _revisions: { start: 2, ids: ['e'.repeat(32), kvRev.slice(2)] }, from: 'peer' }] },
      });
      assert.deepEqual(push.json, []);
      const doc = obj((await f.req('/db/r?conflicts=true')).json);
      assert.equal(doc._rev, child);
      assert.equal(doc._conflicts, undefined);
      assert.equal(bucket.get('r').value.toString(), '{"from":"peer"}');
    }));

  test('more KV writes than _revs_limit: the history is stemmed, the old winner is no leaf', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/_revs_limit', { method: 'PUT', body: '3' });
      const bucket = f.engine.requireBucket('db');
      const r1 = String(obj((await f.req('/db/s', { method: 'PUT', json: { v: 0 } })).json).rev);
      for (let i = 1; i <= 5; i++) await bucket.set('s', JSON.stringify({ v: i }));
      const doc = obj((await f.req('/db/s?revs=true&conflicts=true&deleted_conflicts=true')).json);
      assert.match(String(doc._rev), /^6-/);
      assert.equal(arr(obj(doc._revisions).ids).length, 3);
      assert.equal(doc._conflicts, undefined);
      const leaves = arr((await f.req('/db/s?open_revs=all')).json);
      assert.equal(leaves.length, 1);
      assert.notEqual(obj(obj(leaves[0]).ok)._rev, r1);
      const w = await f.req('/db/s', { method: 'PUT', json: { _rev: doc._rev, v: 'http' } });
      assert.equal(w.status, 201);
      assert.equal(arr(obj(obj((await f.req('/db/s?revs=true')).json)._revisions).ids).length, 3);
    }));

  test('HEAD and conditional GET of a document', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = String(obj((await f.req('/db/h', { method: 'PUT', json: { a: 1 } })).json).rev);
      const head = await f.req('/db/h', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.etag, `"${rev}"`);
      assert.equal(head.body.length, 0);
      const same = await f.req('/db/h', { headers: { 'if-none-match': `"${rev}"` } });
      assert.deepEqual([same.status, same.headers['content-length'], same.headers.etag], [304, '0', `"${rev}"`]);
      // couch_httpd etag_match: a list of tags, weak ones included.
      assert.equal((await f.req('/db/h', { headers: { 'if-none-match': `W/"${rev}"` } })).status, 304);
      assert.equal((await f.req('/db/h', { headers: { 'if-none-match': `"1-other", W/"${rev}"` } })).status, 304);
      assert.equal((await f.req('/db/h', { headers: { 'if-none-match': '"1-other"' } })).status, 200);
      assert.equal((await f.req('/db/nothing', { method: 'HEAD' })).status, 404);
    }));
});
