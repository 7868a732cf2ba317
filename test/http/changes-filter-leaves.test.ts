/**
 * What a `_changes` filter tests, as couch_changes filter/3 does: the winner opened with its
 * `_conflicts` (open_revs/3 with [deleted, conflicts]), or with `style=all_docs` every leaf on its
 * own, the row then listing only the leaves that passed (filter_revs/2) and dropped when none did.
 * The included document stays the winner's.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

type Row = Record<string, unknown>;

/** The rows, by id (the order of the two documents' writes in one _bulk_docs is not the point). */
function rows(json: unknown): Row[] {
  return arr(obj(json).results).map(obj).sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

function revs(row: Row): string[] {
  return arr(row.changes).map((c) => String(obj(c).rev));
}

/** `x`: winner 1-bbb {v:2} and conflict 1-aaa {v:1}; `plain`: one leaf {v:1}. */
async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const r = await f.req('/db/_bulk_docs', {
    method: 'POST',
    json: { new_edits: false, docs: [{ _id: 'x', _rev: '1-aaa', v: 1 }, { _id: 'x', _rev: '1-bbb', v: 2 }, { _id: 'plain', _rev: '1-ccc', v: 1 }] },
  });
  assert.equal(r.status, 201, r.text);
  const ddoc = {
    filters: {
      v: 'function(doc, req) { return doc.v == req.query.v; }',
      conflicted: 'function(doc, req) { return !!doc._conflicts; }',
    },
    views: { one: { map: 'function(doc) { if (doc.v === 1) emit(doc._id); }' } },
  };
  assert.equal((await f.req('/db/_design/app', { method: 'PUT', json: ddoc })).status, 201);
}

async function selector(f: CouchFixture, qs: string, sel: unknown): Promise<Row[]> {
  const r = await f.req(`/db/_changes?filter=_selector&${qs}`, { method: 'POST', json: { selector: sel } });
  assert.equal(r.status, 200, r.text);
  return rows(r.json);
}

describe('_changes filters and leaves', () => {
  test('style=all_docs lists only the leaves that pass a selector, JavaScript or view filter', () =>
    withCouch(async (f) => {
      await seed(f);
      // Only the conflict (not the winner) has v=1: the row lists it alone.
      const sel = await selector(f, 'style=all_docs&include_docs=true', { v: 1 });
      assert.deepEqual(sel.map((r) => [r.id, revs(r)]), [['plain', ['1-ccc']], ['x', ['1-aaa']]]);
      // The included document is still the winner.
      assert.equal(obj(sel[1]!.doc)._rev, '1-bbb');
      const js = rows((await f.req('/db/_changes?filter=app/v&v=1&style=all_docs')).json);
      assert.deepEqual(js.map((r) => [r.id, revs(r)]), [['plain', ['1-ccc']], ['x', ['1-aaa']]]);
      const view = rows((await f.req('/db/_changes?filter=_view&view=app/one&style=all_docs')).json);
      assert.deepEqual(view.map((r) => [r.id, revs(r)]), [['plain', ['1-ccc']], ['x', ['1-aaa']]]);
      // main_only tests the winner alone: x (winner v=2) is not listed.
      assert.deepEqual((await selector(f, '', { v: 1 })).map((r) => r.id), ['plain']);
      assert.deepEqual(rows((await f.req('/db/_changes?filter=app/v&v=1')).json).map((r) => r.id), ['plain']);
      // Both leaves pass: both are listed, winner first.
      const both = await selector(f, 'style=all_docs', { v: { $gt: 0 } });
      assert.deepEqual(both.map((r) => [r.id, revs(r)]), [['plain', ['1-ccc']], ['x', ['1-bbb', '1-aaa']]]);
    }));

  test('the winner a filter tests carries its _conflicts; leaves tested one by one do not', () =>
    withCouch(async (f) => {
      await seed(f);
      assert.deepEqual(rows((await f.req('/db/_changes?filter=app/conflicted')).json).map((r) => r.id), ['x']);
      assert.deepEqual((await selector(f, '', { _conflicts: { $exists: true } })).map((r) => r.id), ['x']);
      assert.deepEqual(rows((await f.req('/db/_changes?filter=app/conflicted&style=all_docs')).json), []);
      // include_docs still shows _conflicts only when asked for.
      const [row] = await selector(f, 'include_docs=true', { _conflicts: { $exists: true } });
      assert.equal(obj(row!.doc)._conflicts, undefined);
    }));
});
