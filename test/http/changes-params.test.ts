/**
 * `_changes` parameters as chttpd_db:parse_changes_query/1 reads them: names in any case
 * (`string:to_lower(Key)`), and of a name given twice the last value (a fold over the pairs).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';

describe('_changes parameter names', () => {
  test('any case; the last of a repeated name wins', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const id of ['a', 'b', 'c']) assert.equal((await f.req(`/db/${id}`, { method: 'PUT', json: { id } })).status, 201);
      const upper = await f.req('/db/_changes?LIMIT=1&Include_Docs=true&DESCENDING=true');
      assert.equal(upper.status, 200, upper.text);
      const [row] = arr(obj(upper.json).results).map(obj);
      assert.equal(row!.id, 'c');
      assert.equal(obj(row!.doc).id, 'c');
      const repeated = await f.req('/db/_changes?limit=3&limit=2');
      assert.equal(arr(obj(repeated.json).results).length, 2);
      // A bad value under any spelling is still refused.
      assert.equal((await f.req('/db/_changes?Feed=nope')).status, 400);
    }));
});
