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
    }));
});
