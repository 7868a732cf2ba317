/**
 * `_all_docs` as CouchDB 3.x answers it beyond the basics of bulk.test.ts: `_local/` ids among the
 * `keys`, `offset` of a range, and `total_rows` counting only what the listing can show.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function listing(f: CouchFixture, qs: string): Promise<{ total: number; offset: unknown; ids: unknown[] }> {
  const r = obj((await f.req(`/db/_all_docs?${qs}`)).json);
  return { total: Number(r.total_rows), offset: r.offset, ids: arr(r.rows).map((x) => obj(x).id) };
}

describe('_all_docs', () => {
  test('keys: a _local/ id gives its local document (fabric:open_doc), as all_docs_test "_local_docs POST with keys and limit"', () =>
    withCouch(async (f) => {
      await createDb(f);
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: '_local/one', value: 'one' }, { _id: '_local/two', value: 'two' }, { _id: 'three', value: 'three' }] } });
      assert.equal(bulk.status, 201);
      const keys = ['_local/one', '_local/two', 'three', 'missing', '_local/missing'];
      const r = await f.req('/db/_all_docs', { method: 'POST', json: { keys, include_docs: true } });
      assert.equal(r.status, 200);
      assert.deepEqual(obj(r.json).rows, [
        { id: '_local/one', key: '_local/one', value: { rev: '0-1' }, doc: { _id: '_local/one', _rev: '0-1', value: 'one' } },
        { id: '_local/two', key: '_local/two', value: { rev: '0-1' }, doc: { _id: '_local/two', _rev: '0-1', value: 'two' } },
        { id: 'three', key: 'three', value: { rev: '1-878d3724976748bc881841046a276ceb' }, doc: { _id: 'three', _rev: '1-878d3724976748bc881841046a276ceb', value: 'three' } },
        { key: 'missing', error: 'not_found' },
        { key: '_local/missing', error: 'not_found' },
      ]);
      // Without include_docs, limit and skip apply as for any key; a deleted local document is gone.
      const limited = await f.req('/db/_all_docs?limit=1&skip=1', { method: 'POST', json: { keys } });
      assert.deepEqual(obj(limited.json).rows, [{ id: '_local/two', key: '_local/two', value: { rev: '0-1' } }]);
      assert.equal((await f.req('/db/_local/two?rev=0-1', { method: 'DELETE' })).status, 200);
      const gone = await f.req('/db/_all_docs', { method: 'POST', json: { keys: ['_local/two'] } });
      assert.deepEqual(obj(gone.json).rows, [{ key: '_local/two', error: 'not_found' }]);
      // Ranges still never list local documents.
      assert.deepEqual(arr(obj((await f.req('/db/_all_docs')).json).rows).map((x) => obj(x).id), ['three']);
    }));

  test('offset: the documents before the start key (after it, descending), plus skip, at most total_rows (CouchDB 3.x all_docs_test)', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['0', '3', '1', '2']) assert.equal((await f.req('/db', { method: 'POST', json: { _id: id } })).status, 201);
      assert.equal((await listing(f, 'startkey="2"')).offset, 2);
      assert.equal((await listing(f, 'start_key="2"')).offset, 2);
      assert.equal((await listing(f, 'key="3"')).offset, 3);
      assert.equal((await listing(f, 'startkey="1a"&limit=1')).offset, 2);
      assert.equal((await listing(f, '')).offset, 0);
      assert.equal((await listing(f, 'skip=1')).offset, 1);
      assert.equal((await listing(f, 'startkey="2"&skip=1')).offset, 3);
      assert.equal((await listing(f, 'startkey="2"&skip=10')).offset, 4);
      assert.equal((await listing(f, 'descending=true&startkey="1"')).offset, 2);
      assert.equal((await listing(f, 'descending=true')).offset, 0);
      // A key that is no string sorts before every id.
      assert.equal((await listing(f, 'startkey=[1,2]')).offset, 0);
      assert.equal((await listing(f, 'descending=true&startkey=1')).offset, 4);
      assert.equal((await listing(f, 'startkey="zz"')).offset, 4);
      // POSTed keys have none.
      assert.equal(obj((await f.req('/db/_all_docs', { method: 'POST', json: { keys: ['1'] } })).json).offset, null);
      // Deleted documents are not counted; design documents are.
      const one = obj((await f.req('/db/1')).json);
      assert.equal((await f.req(`/db/1?rev=${String(one._rev)}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: {} })).status, 201);
      assert.deepEqual(await listing(f, 'startkey="2"'), { total: 4, offset: 1, ids: ['2', '3', '_design/d'] });
      assert.equal((await listing(f, 'startkey="a"')).offset, 4);
      // _design_docs is the same fold from `_design/` (couch_db fold_design_docs): the documents
      // before it count, at most its total_rows, the design documents' count.
      const design = obj((await f.req('/db/_design_docs?skip=1')).json);
      assert.deepEqual([design.total_rows, design.offset, arr(design.rows).length], [1, 1, 0]);
    }));

  test('total_rows and doc_count count only what the CouchDB face shows: no _txn: records, no binary keys', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['a', 'b', '_design/d']) assert.equal((await f.req(`/db/${id}`, { method: 'PUT', json: {} })).status, 201);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('_txn:atr-1-#1', '{"attempts":{}}');
      await bucket.set('_txn:client-record', '{}');
      await bucket.set(Buffer.from([0x62, 0xff]), '{}');
      await bucket.set('_txn:gone', '{}');
      await bucket.delete('_txn:gone');
      await bucket.set('c', '{}');
      await bucket.quiesce();
      const all = await listing(f, '');
      assert.deepEqual(all.ids, ['_design/d', 'a', 'b', 'c']);
      assert.equal(all.total, 4);
      const info = obj((await f.req('/db')).json);
      assert.deepEqual([info.doc_count, info.doc_del_count], [4, 0]);
      // The bucket still counts every item (KV statistics are Couchbase's).
      assert.equal(bucket.docCounts().docCount, 7);
      assert.equal(bucket.docCounts().delCount, 1);
      // Offsets leave them out too: `b\xff` sorts between b and c, `_txn:` after `_design/`.
      assert.equal((await listing(f, 'startkey="c"')).offset, 3);
      assert.equal((await listing(f, 'descending=true&startkey="_design/d"')).offset, 3);
    }));

  test('offset follows writes across many chunks of the by-id index (counts kept per chunk)', () =>
    withCouch(async (f) => {
      await createDb(f);
      const id = (i: number): string => `d${String(i).padStart(5, '0')}`;
      const docs = Array.from({ length: 2500 }, (_, i) => ({ _id: id(i) }));
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
      const at = async (i: number): Promise<unknown> => (await listing(f, `startkey="${id(i)}"&limit=1`)).offset;
      assert.equal(await at(2000), 2000);
      assert.equal(await at(1999), 1999);
      assert.equal(await at(10), 10);
      // Deleting over HTTP and over KV, and writing new keys, move the counts of their chunks only.
      const first = arr(obj((await f.req('/db/_all_docs?limit=100')).json).rows);
      const revs = first.map((r) => ({ _id: obj(r).id, _rev: obj(obj(r).value).rev, _deleted: true }));
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: revs } })).status, 201);
      const bucket = f.engine.requireBucket('db');
      for (let i = 1000; i < 1010; i++) await bucket.delete(id(i));
      await bucket.set('d01500x', '{}');
      await bucket.set('a-first', '{}');
      await bucket.quiesce();
      assert.equal(await at(2000), 2000 - 100 - 10 + 2);
      assert.equal(await at(1000), 1000 - 100 + 1);
      assert.equal(await at(50), 1);
      assert.equal((await listing(f, `descending=true&startkey="${id(2000)}"&limit=1`)).offset, 499);
      // The last chunk is counted now: a start near its end subtracts the few keys after it.
      assert.equal(await at(2450), 2450 - 100 - 10 + 2);
      // Undeleted again: counted again.
      for (let i = 1000; i < 1005; i++) await bucket.set(id(i), '{}');
      await bucket.quiesce();
      assert.equal(await at(2000), 2000 - 100 - 5 + 2);
      // total_rows is doc_count, the engine's cached count, which may lag a moment behind writes
      // on a busy machine (engine/doc-counts.ts); offsets are exact at once.
      const deadline = Date.now() + 10_000;
      while ((await listing(f, 'limit=0')).total !== 2500 - 100 - 5 + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await listing(f, 'limit=0')).total, 2500 - 100 - 5 + 2);
    }));
  test('startkey_docid/endkey_docid bound the ids when no startkey/endkey is given (couch_mrview_util ad_skey_opts/ad_ekey_opts)', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['a', 'b', 'c', 'd']) assert.equal((await f.req('/db', { method: 'POST', json: { _id: id } })).status, 201);
      assert.deepEqual((await listing(f, 'startkey_docid=b')).ids, ['b', 'c', 'd']);
      assert.equal((await listing(f, 'startkey_docid=b')).offset, 1);
      assert.deepEqual((await listing(f, 'start_key_doc_id=b&endkey_docid=c')).ids, ['b', 'c']);
      assert.deepEqual((await listing(f, 'endkey_docid=c&inclusive_end=false')).ids, ['a', 'b']);
      assert.deepEqual((await listing(f, 'descending=true&startkey_docid=c&end_key_doc_id=b')).ids, ['c', 'b']);
      // A start key, when given, wins over the docid.
      assert.deepEqual((await listing(f, 'startkey="c"&startkey_docid=a')).ids, ['c', 'd']);
      const post = await f.req('/db/_all_docs', { method: 'POST', json: { startkey_docid: 'c' } });
      assert.deepEqual(arr(obj(post.json).rows).map((x) => obj(x).id), ['c', 'd']);
    }));
});
