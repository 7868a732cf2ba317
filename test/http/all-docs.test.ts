/**
 * `_all_docs` as CouchDB 3.x answers it beyond the basics of bulk.test.ts: `_local/` ids among the
 * `keys`, `offset` of a range, and `total_rows` counting only what the listing can show.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

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
});
