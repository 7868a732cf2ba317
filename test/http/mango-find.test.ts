// `POST /db/_find` and `/db/_explain` over HTTP (undici, real server): every selector operator,
// sort/limit/skip/bookmark paging, fields, conflicts, request errors with Mango's texts, and the
// full scan over `_all_docs` with its warning.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const DOCS = [
  { _id: 'a', n: 1, s: 'apple', tags: ['x', 'y'], o: { k: 1 }, b: true },
  { _id: 'b', n: 2, s: 'banana', tags: ['y'], o: { k: 2, j: 0 }, b: false },
  { _id: 'c', n: 3, s: 'cherry', tags: [], o: {} },
  { _id: 'd', n: 4, s: 'date', tags: ['x', 'z'], nested: [{ v: 1 }, { v: 5 }] },
  { _id: 'e', n: 5.5, s: 'Elder', tags: ['z'], nested: [{ v: 5 }] },
  { _id: 'f', s: null, tags: 'not-an-array' },
];

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: DOCS } });
  assert.equal(r.status, 201, r.text);
}

async function find(f: CouchFixture, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await f.req('/db/_find', { method: 'POST', json: body });
  assert.equal(r.status, 200, r.text);
  return obj(r.json);
}

async function ids(f: CouchFixture, selector: Record<string, unknown>): Promise<string[]> {
  return arr((await find(f, { selector })).docs).map((d) => String(obj(d)._id));
}

describe('_find', () => {
  test('every selector operator', () =>
    withCouch(async (f) => {
      await seed(f);
      const cases: Array<[Record<string, unknown>, string[]]> = [
        [{ n: 2 }, ['b']],
        [{ n: { $eq: 3 } }, ['c']],
        [{ n: { $gt: 3 } }, ['d', 'e']],
        [{ n: { $gte: 3 } }, ['c', 'd', 'e']],
        [{ n: { $lt: 2 } }, ['a']],
        [{ n: { $lte: 2 } }, ['a', 'b']],
        [{ n: { $ne: 1 } }, ['b', 'c', 'd', 'e']],
        [{ n: { $exists: false } }, ['f']],
        [{ s: { $exists: true } }, ['a', 'b', 'c', 'd', 'e', 'f']],
        [{ s: { $type: 'null' } }, ['f']],
        [{ tags: { $type: 'array' } }, ['a', 'b', 'c', 'd', 'e']],
        [{ n: { $in: [1, 4, 9] } }, ['a', 'd']],
        [{ tags: { $in: ['z'] } }, ['d', 'e']],
        [{ n: { $nin: [1, 2] } }, ['c', 'd', 'e']],
        [{ tags: { $size: 2 } }, ['a', 'd']],
        [{ n: { $mod: [2, 0] } }, ['b', 'd']],
        [{ s: { $regex: '^[a-c]' } }, ['a', 'b', 'c']],
        [{ s: { $beginsWith: 'da' } }, ['d']],
        [{ $or: [{ n: 1 }, { s: 'date' }] }, ['a', 'd']],
        [{ $and: [{ n: { $gt: 1 } }, { n: { $lt: 4 } }] }, ['b', 'c']],
        [{ $nor: [{ n: 1 }, { n: 2 }], n: { $exists: true } }, ['c', 'd', 'e']],
        [{ n: { $not: { $gt: 2 } } }, ['a', 'b']],
        [{ tags: { $all: ['x', 'z'] } }, ['d']],
        [{ nested: { $elemMatch: { v: { $gt: 4 } } } }, ['d', 'e']],
        [{ nested: { $allMatch: { v: 5 } } }, ['e']],
        [{ o: { $keyMapMatch: { $eq: 'j' } } }, ['b']],
        [{ 'o.k': 2 }, ['b']],
        [{ s: { $gt: 'b', $lt: 'd' } }, ['b', 'c']],
      ];
      for (const [selector, expected] of cases) {
        assert.deepEqual(await ids(f, selector), expected, JSON.stringify(selector));
      }
    }));

  test('a full scan warns, and with execution_stats reports every document examined', () =>
    withCouch(async (f) => {
      await seed(f);
      const r = await find(f, { selector: { n: { $gt: 3 } }, execution_stats: true });
      assert.deepEqual(Object.keys(r), ['docs', 'bookmark', 'execution_stats', 'warning']);
      assert.equal(r.warning, 'No matching index found, create an index to optimize query time.');
      const stats = obj(r.execution_stats);
      // CouchDB 3.4 counts the `_all_docs` rows read as keys examined.
      assert.equal(stats.total_keys_examined, DOCS.length);
      assert.equal(stats.total_docs_examined, DOCS.length);
      assert.equal(stats.results_returned, 2);
      assert.equal(typeof stats.execution_time_ms, 'number');
    }));

  test('_view_cleanup keeps the indexes of Mango design documents', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.equal((await f.req('/db/_index', { method: 'POST', json: { index: { fields: ['n'] }, name: 'by-n' } })).status, 200);
      assert.deepEqual(await ids(f, { n: { $gt: 3 } }), ['d', 'e']);
      assert.equal((await f.req('/db/_view_cleanup', { method: 'POST', json: {} })).status, 202);
      // `update: false` reads the index as it is: still built after the cleanup.
      const r = await find(f, { selector: { n: { $gt: 3 } }, update: false, execution_stats: true });
      assert.deepEqual(arr(r.docs).map((d) => obj(d)._id), ['d', 'e']);
      assert.equal(obj(r.execution_stats).total_docs_examined, 2);
    }));

  test('$beginsWith narrows the scan to [prefix, prefix + U+FFFF], on _id and on a json index (mango_selector range)', () =>
    withCouch(async (f) => {
      await seed(f);
      await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'ab', s: 'apricot' }, { _id: 'b1', s: 'avocado' }] } });
      assert.deepEqual(await ids(f, { _id: { $beginsWith: 'a' } }), ['a', 'ab']);
      const e = obj((await f.req('/db/_explain', { method: 'POST', json: { selector: { _id: { $beginsWith: 'a' } } } })).json);
      assert.equal(obj(e.mrargs).start_key, 'a');
      assert.equal(obj(e.mrargs).end_key, 'a\uffff');
      assert.equal((await f.req('/db/_index', { method: 'POST', json: { index: { fields: ['s'] }, name: 'by-s' } })).status, 200);
      const r = await find(f, { selector: { s: { $beginsWith: 'a' } }, execution_stats: true });
      assert.deepEqual(arr(r.docs).map((d) => obj(d)._id).sort(), ['a', 'ab', 'b1']);
      assert.equal(obj(r.execution_stats).total_keys_examined, 3, 'only the prefix\'s keys are read');
    }));

  test('design documents are never results of a scan (11_ignore_design_docs)', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.equal((await f.req('/db/_index', { method: 'POST', json: { index: { fields: ['n'] }, name: 'by-n' } })).status, 200);
      const all = await ids(f, {});
      assert.equal(all.some((id) => id.startsWith('_design/')), false, all.join());
      assert.deepEqual(await ids(f, { language: 'query' }), []);
    }));

  test('fields, conflicts and _id ranges', () =>
    withCouch(async (f) => {
      await seed(f);
      const r = await find(f, { selector: { _id: { $gte: 'b', $lte: 'c' } }, fields: ['_id', 'o.k', 'missing'] });
      assert.deepEqual(r.docs, [{ _id: 'b', o: { k: 2 } }, { _id: 'c' }]);
      const all = await find(f, { selector: { _id: 'a' } });
      const doc = obj(arr(all.docs)[0]);
      assert.match(String(doc._rev), /^1-/);
      assert.deepEqual(doc.tags, ['x', 'y']);
      await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'a', _rev: '1-' + 'f'.repeat(32), n: 1 }] } });
      const c = await find(f, { selector: { _id: 'a' }, conflicts: true, fields: ['_id', '_conflicts'] });
      assert.equal(arr(obj(arr(c.docs)[0])._conflicts).length, 1);
    }));

  test('limit, skip and bookmark paging over _all_docs, ascending and by _id descending', () =>
    withCouch(async (f) => {
      await seed(f);
      const seen: string[] = [];
      let bookmark: unknown;
      for (let page = 0; page < 4; page++) {
        const r = await find(f, { selector: { tags: { $exists: true } }, limit: 2, ...(bookmark ? { bookmark } : {}) });
        seen.push(...arr(r.docs).map((d) => String(obj(d)._id)));
        bookmark = r.bookmark;
        assert.equal(typeof bookmark, 'string');
      }
      assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e', 'f']);
      const skipped = await find(f, { selector: {}, skip: 2, limit: 2 });
      assert.deepEqual(arr(skipped.docs).map((d) => obj(d)._id), ['c', 'd']);
      const desc = await find(f, { selector: { _id: { $gt: null } }, sort: [{ _id: 'desc' }], limit: 3 });
      assert.deepEqual(arr(desc.docs).map((d) => obj(d)._id), ['f', 'e', 'd']);
      const next = await find(f, { selector: { _id: { $gt: null } }, sort: [{ _id: 'desc' }], limit: 3, bookmark: desc.bookmark });
      assert.deepEqual(arr(next.docs).map((d) => obj(d)._id), ['c', 'b', 'a']);
      const none = await find(f, { selector: { n: 99 } });
      assert.deepEqual(none.docs, []);
      assert.equal(none.bookmark, 'nil');
    }));

  test('errors: method, content type, body, selector and sort, with Mango texts', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.equal((await f.req('/db/_find')).status, 405);
      assert.equal((await f.req('/db/_find', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } })).status, 415);
      const cases: Array<[unknown, number, string, string?]> = [
        [{}, 400, 'missing_required_key', 'Missing required key: selector'],
        [{ selector: {}, foo: 1 }, 400, 'invalid_key', 'Invalid key foo for this request.'],
        [{ selector: { n: { $nope: 1 } } }, 400, 'invalid_operator', 'Invalid operator: $nope'],
        [{ selector: {}, limit: 'x' }, 400, 'invalid_non_neg_integer'],
        [{ selector: { n: 1 }, sort: ['n'] }, 400, 'no_usable_index', 'No index exists for this sort, try indexing by the sort fields.'],
        [{ selector: {}, bookmark: 'not-a-bookmark' }, 400, 'invalid_bookmark'],
        [[1], 400, 'bad_request'],
      ];
      for (const [json, status, error, reason] of cases) {
        const r = await f.req('/db/_find', { method: 'POST', json });
        assert.equal(r.status, status, JSON.stringify(json) + r.text);
        assert.equal(obj(r.json).error, error);
        if (reason) assert.equal(obj(r.json).reason, reason);
      }
      assert.equal((await f.req('/nodb/_find', { method: 'POST', json: { selector: {} } })).status, 404);
    }));

  test('_explain of a full scan', () =>
    withCouch(async (f) => {
      await seed(f);
      const r = await f.req('/db/_explain', { method: 'POST', json: { selector: { _id: { $gt: 'b' }, n: 3 }, fields: ['n'], limit: 3 } });
      assert.equal(r.status, 200, r.text);
      const e = obj(r.json);
      assert.equal(e.dbname, 'db');
      assert.deepEqual(e.index, { ddoc: null, name: '_all_docs', type: 'special', def: { fields: [{ _id: 'asc' }] } });
      assert.deepEqual(e.selector, { $and: [{ _id: { $gt: 'b' } }, { n: { $eq: 3 } }] });
      assert.equal(e.limit, 3);
      assert.equal(e.skip, 0);
      assert.deepEqual(e.fields, ['n']);
      // CouchDB 3.4 mango_cursor:explain/1: `r` as an integer, every field as `fields: []`.
      assert.equal(obj(e.opts).r, 1);
      const all = obj((await f.req('/db/_explain', { method: 'POST', json: { selector: { n: 3 }, r: 2 } })).json);
      assert.deepEqual([all.fields, obj(all.opts).fields, obj(all.opts).r], [[], [], 2]);
      assert.equal(obj(e.opts).bookmark, 'nil');
      const mr = obj(e.mrargs);
      assert.equal(mr.start_key, 'b');
      assert.equal(mr.end_key, '<MAX>');
      assert.equal(mr.direction, 'fwd');
      assert.equal((await f.req('/db/_explain')).status, 405);
    }));
});
