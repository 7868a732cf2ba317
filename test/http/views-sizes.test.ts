/**
 * A view index's `_info` sizes (src/views/index-store.ts): `external` and `active` follow the live
 * rows (they grow, stay put when documents are rewritten with the same data, drop to 0 when every
 * document is gone), `file` is the LMDB pages the index takes, above `active`, and nothing
 * changes with `_compact/{ddoc}` (LMDB reuses freed pages; elixir view_compaction_test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';

const DDOC = {
  _id: '_design/foo',
  language: 'javascript',
  views: {
    view1: { map: 'function(doc) { emit(doc._id, doc.value) }' },
    view2: { map: "function(doc) { if (typeof(doc.integer) === 'number') {emit(doc._id, doc.integer);} }", reduce: 'function(keys, values, rereduce) { return sum(values); }' },
  },
};

type Sizes = { file: number; active: number; external: number };

async function sizes(f: CouchFixture): Promise<Sizes> {
  assert.equal((await f.req('/db/_design/foo/_view/view1?limit=1')).status, 200);
  return obj(obj((await f.req('/db/_design/foo/_info')).json).view_index).sizes as Sizes;
}

async function save(f: CouchFixture, docs: Array<Record<string, unknown>>): Promise<Array<Record<string, unknown>>> {
  const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } });
  assert.equal(r.status, 201, r.text);
  const revs = arr(r.json).map(obj);
  return docs.map((d, i) => ({ ...d, _rev: revs[i]!.rev }));
}

test('view _info sizes: live bytes as active/external, LMDB pages as file', async () => {
  await withCouch(async (f) => {
    assert.equal((await f.req('/db', { method: 'PUT' })).status, 201);
    assert.equal((await f.req('/db/_design/foo', { method: 'PUT', json: DDOC })).status, 201);
    const empty = await sizes(f);
    assert.deepEqual([empty.active, empty.external], [0, 0]);

    let docs = await save(f, Array.from({ length: 300 }, (_, i) => ({ _id: String(i), integer: i, value: `v${i}` })));
    const first = await sizes(f);
    for (const v of Object.values(first)) assert.ok(Number.isInteger(v) && v > 0, JSON.stringify(first));
    // Each row's external size: JSON of its key and value (the second view emits only integers).
    const external = docs.reduce((n, d) => n + 2 * Buffer.byteLength(JSON.stringify(d._id)) + JSON.stringify(d.value).length + JSON.stringify(d.integer).length, 0);
    assert.equal(first.external, external);
    assert.ok(first.external < first.active && first.active < first.file, JSON.stringify(first));

    // The same rows written again: the live size is unchanged (CouchDB's file would grow).
    docs = await save(f, docs);
    const again = await sizes(f);
    assert.equal(again.active, first.active);
    assert.equal(again.external, first.external);

    const compact = await f.req('/db/_compact/foo', { method: 'POST', json: {} });
    assert.equal(compact.status, 202);
    const compacted = obj(obj((await f.req('/db/_design/foo/_info')).json).view_index);
    assert.equal(compacted.compact_running, false);
    assert.equal((compacted.sizes as Sizes).active, first.active);

    await save(f, docs.map((d) => ({ _id: d._id, _rev: d._rev, _deleted: true })));
    const gone = await sizes(f);
    assert.deepEqual([gone.active, gone.external], [0, 0]);
  });
});
