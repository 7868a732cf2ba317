/**
 * `_bulk_get` request parsing as chttpd_db does it: refused query parameters
 * (validate_query_param) and per-entry errors (bulk_get_parse_arg, parse_field) whose `rev` is the
 * value at fault, or null when the entry or its id is.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('_bulk_get arguments', () => {
  test('open_revs, new_edits, w, rev and atts_since in the query are 400', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const key of ['open_revs', 'new_edits', 'w', 'rev', 'atts_since']) {
        const r = await f.req(`/db/_bulk_get?${key}=1`, { method: 'POST', json: { docs: [] } });
        assert.equal(r.status, 400, key);
        assert.deepEqual(r.json, { error: 'bad_request', reason: `"${key}" query parameter is not acceptable` });
      }
      assert.equal((await f.req('/db/_bulk_get?revs=true&latest=true', { method: 'POST', json: { docs: [] } })).status, 200);
    }));

  test('entry errors: not an object, no id, a refused id, a bad rev, a bad atts_since', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/db/a', { method: 'PUT', json: { v: 1 } });
      const rev = String(obj(put.json).rev);
      const docs = [5, {}, { rev }, { id: '_bad' }, { id: '' }, { id: 'a', rev: 'bogus' }, { id: 'a', atts_since: 'x' }, { id: 'a', atts_since: [rev, 'nope'] }, { id: 'a', atts_since: [rev] }];
      const res = await f.req('/db/_bulk_get', { method: 'POST', json: { docs } });
      assert.equal(res.status, 200, res.text);
      const results = arr(obj(res.json).results).map(obj);
      const errorOf = (i: number): unknown => obj(arr(results[i]!.docs)[0]).error;
      const notObject = { id: null, rev: null, error: 'bad_request', reason: 'document must be a JSON object' };
      assert.deepEqual(errorOf(0), notObject);
      assert.deepEqual(errorOf(1), notObject);
      assert.equal(results[0]!.id, null);
      assert.deepEqual(errorOf(2), { id: null, rev: null, error: 'bad_request', reason: 'document id missed' });
      assert.deepEqual(errorOf(3), { id: '_bad', rev: null, error: 'illegal_docid', reason: 'Only reserved document ids may start with underscore.' });
      assert.deepEqual(errorOf(4), { id: '', rev: null, error: 'illegal_docid', reason: 'Document id must not be empty' });
      assert.deepEqual(errorOf(5), { id: 'a', rev: 'bogus', error: 'bad_request', reason: 'Invalid rev format' });
      assert.deepEqual(errorOf(6), { id: 'a', rev: 'x', error: 'bad_request', reason: 'att_since value must be array of revs.' });
      assert.deepEqual(errorOf(7), { id: 'a', rev: 'nope', error: 'bad_request', reason: 'Invalid rev format' });
      assert.equal(obj(obj(arr(results[8]!.docs)[0]).ok)._rev, rev);
    }));
});
