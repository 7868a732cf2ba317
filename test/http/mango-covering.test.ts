// Covering json indexes (CouchDB 3.4 mango_cursor_view consider_index_coverage/3,
// mango_idx_view:covers/2; src/mango/covering.ts) and the execution statistics CouchDB 3.4
// reports (the mango suite's 15-execution-stats and 22-covering-index tests): `_explain`'s
// `covering` and `mrargs.include_docs`, answers identical to reading the documents, no document
// examined, keys examined, the read on to the next match past `limit`, `_all_docs` keys and
// design documents, and `r` > 1 as quorum reads.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture, postOk } from './helpers.js';

const post = postOk;

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const docs = Array.from({ length: 40 }, (_, i) => ({
    _id: `p${String(i).padStart(2, '0')}`,
    age: i % 10,
    name: { first: `F${i % 7}`, last: `L${i % 3}` },
    company: i % 4 === 0 ? null : `c${i % 5}`,
    manager: i % 2 === 0,
    tags: i % 3 === 0 ? ['x', 'y'] : ['z'],
    other: i,
  }));
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
  for (const [name, fields] of [['age', ['age']], ['name', ['name.last', 'name.first']], ['cm', ['company', 'manager']], ['manager', ['manager']], ['tags', ['tags']]] as const) {
    await post(f, '/db/_index', { index: { fields }, ddoc: name, name });
  }
}

describe('covering indexes', () => {
  test('_explain: covering and include_docs as CouchDB 3.4 decides them', () =>
    withCouch(async (f) => {
      await seed(f);
      const explain = (body: Record<string, unknown>): Promise<Record<string, unknown>> => post(f, '/db/_explain', body);
      const covered: Array<[Record<string, unknown>, string]> = [
        [{ selector: { age: { $gte: 3 } }, fields: ['_id'] }, 'age'],
        [{ selector: { age: { $gte: 3 } }, fields: ['age', '_id'] }, 'age'],
        [{ selector: { company: 'c1', manager: true }, fields: ['_id'] }, 'cm'],
        [{ selector: { company: { $exists: true }, manager: true }, fields: ['company'], use_index: 'cm' }, 'cm'],
        // `$exists` overlaps the selector as a range does (CouchDB 3.4): cm rather than manager.
        [{ selector: { company: { $exists: true }, manager: true }, fields: ['company'] }, 'cm'],
        [{ selector: { tags: { $elemMatch: { $eq: 'x' } } }, fields: ['tags'] }, 'tags'],
        [{ selector: { name: { first: 'F1', last: 'L1' } }, fields: ['_id'] }, 'name'],
      ];
      for (const [body, index] of covered) {
        const e = await explain(body);
        assert.equal(obj(e.index).name, index, JSON.stringify(body));
        assert.equal(e.covering, true, JSON.stringify(body));
        assert.equal(obj(e.mrargs).include_docs, false);
      }
      const notCovered: Array<Record<string, unknown>> = [
        { selector: {}, fields: ['_id'] }, // _all_docs
        { selector: { age: { $gte: 3 } }, fields: ['other'] },
        { selector: { age: { $gte: 3 } } }, // every field
        { selector: { age: { $gte: 3 } }, fields: ['_rev'] },
        { selector: { age: { $gte: 3 }, other: { $gt: 1 } }, fields: ['_id'] }, // the selector needs `other`
        { selector: { 'name.last': 'L1', 'name.first': 'F1' }, fields: ['name'] },
      ];
      for (const body of notCovered) {
        const e = await explain(body);
        assert.equal(e.covering, false, JSON.stringify(body));
        assert.equal(obj(e.mrargs).include_docs, true);
      }
      // r > 1 reads the documents at the coordinator: include_docs false without covering.
      const quorum = await explain({ selector: { age: 1 }, r: 2 });
      assert.deepEqual([quorum.covering, obj(quorum.mrargs).include_docs], [false, false]);
    }));

  test('a covered query answers as reading the documents does, and examines no document', () =>
    withCouch(async (f) => {
      await seed(f);
      // The same query with one more field no document has is not covered: its answers are
      // the documents' own.
      const queries: Array<Record<string, unknown>> = [
        { selector: { age: { $gte: 3, $lt: 6 } }, fields: ['_id', 'age'] },
        { selector: { age: { $gt: 2 } }, fields: ['age', '_id'], sort: [{ age: 'desc' }], skip: 3, limit: 7 },
        { selector: { 'name.last': 'L1', 'name.first': { $gt: 'F2' } }, fields: ['name.first', 'name.last', '_id'] },
        { selector: { name: { first: 'F1', last: 'L1' } }, fields: ['_id', 'name.last'] },
        { selector: { tags: { $elemMatch: { $eq: 'x' } } }, fields: ['tags', '_id'] },
        { selector: { company: { $exists: true }, manager: true }, fields: ['company'], use_index: 'cm', sort: [{ company: 'asc' }] },
        { selector: { company: { $in: ['c1', 'c3'] }, manager: { $ne: false } }, fields: ['company', 'manager', '_id'], use_index: 'cm' },
      ];
      for (const q of queries) {
        const covered = await post(f, '/db/_find', { ...q, execution_stats: true });
        const read = await post(f, '/db/_find', { ...q, fields: [...arr(q.fields), 'absent'], execution_stats: true });
        assert.ok(arr(covered.docs).length > 0, JSON.stringify(q));
        assert.deepEqual(covered.docs, read.docs, JSON.stringify(q));
        assert.equal(covered.bookmark, read.bookmark);
        const cs = obj(covered.execution_stats);
        const rs = obj(read.execution_stats);
        assert.equal(cs.total_docs_examined, 0, JSON.stringify(q));
        assert.equal(cs.total_keys_examined, rs.total_keys_examined);
        assert.ok(Number(rs.total_docs_examined) > 0);
      }
      // Bookmark pages of a covered query.
      const seen: string[] = [];
      let bookmark: unknown;
      for (let page = 0; page < 5; page++) {
        const r = await post(f, '/db/_find', { selector: { age: { $gte: 5 } }, fields: ['_id'], limit: 6, ...(bookmark ? { bookmark } : {}) });
        seen.push(...arr(r.docs).map((d) => String(obj(d)._id)));
        bookmark = r.bookmark;
      }
      assert.equal(seen.length, 20);
      assert.equal(new Set(seen).size, 20);
      // A document deleted while the index is stale is not answered (update: false reads it as is).
      const doc = obj((await f.req('/db/p05')).json);
      assert.equal((await f.req(`/db/p05?rev=${String(doc._rev)}`, { method: 'DELETE' })).status, 200);
      const stale = await post(f, '/db/_find', { selector: { age: 5 }, fields: ['_id'], update: false });
      assert.ok(!arr(stale.docs).some((d) => obj(d)._id === 'p05'));
      assert.equal(arr(stale.docs).length, 3);
    }));
});

describe('execution_stats (CouchDB 3.4)', () => {
  test('keys examined, the read on to the next match past limit, _all_docs design documents, quorum reads', () =>
    withCouch(async (f) => {
      await seed(f);
      const stats = async (body: Record<string, unknown>): Promise<[unknown, unknown, unknown, unknown]> => {
        const r = await post(f, '/db/_find', { ...body, execution_stats: true });
        const s = obj(r.execution_stats);
        assert.equal(s.results_returned, arr(r.docs).length);
        return [s.total_keys_examined, s.total_docs_examined, s.total_quorum_docs_examined, s.results_returned];
      };
      // age 0 and 1: 8 rows; limit 3 stops at the 4th match (15-execution-stats "with limit").
      assert.deepEqual(await stats({ selector: { age: { $lte: 1 } }, fields: ['other'], limit: 3 }), [4, 4, 0, 3]);
      assert.deepEqual(await stats({ selector: { age: { $lte: 1 } }, fields: ['other'], limit: 8 }), [8, 8, 0, 8]);
      // Covered: keys only.
      assert.deepEqual(await stats({ selector: { age: { $lte: 1 } }, fields: ['_id', 'age'] }), [8, 0, 0, 8]);
      // A full scan reads the 40 documents and the 5 index design documents, returning none of these.
      assert.deepEqual(await stats({ selector: { nothing: 1 } }), [45, 45, 0, 0]);
      assert.deepEqual(await stats({ selector: { other: { $gte: 0 } }, limit: 100 }), [45, 45, 0, 40]);
      // r > 1: every document is a quorum read at the coordinator, design documents excepted.
      assert.deepEqual(await stats({ selector: { age: { $lte: 1 } }, r: 2 }), [8, 0, 8, 8]);
      assert.deepEqual(await stats({ selector: { nothing: 1 }, r: 3 }), [45, 0, 40, 0]);
    }));
});
