/**
 * `[couchdb] max_partition_size` (couch_db_updater, CouchDB's partition_size_limit tests): a full
 * partition refuses interactive writes that grow a document with 403 `partition_overflow`, and
 * lets through reads, deletions, shrinking updates, design documents, other partitions and
 * replicated writes; a purge or a higher limit lets writes in again.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';

const BIG = ' '.repeat(1023) + '0';

async function setLimit(f: CouchFixture, bytes: number): Promise<void> {
  assert.equal((await f.req('/_node/_local/_config/couchdb/max_partition_size', { method: 'PUT', json: String(bytes) })).status, 200);
}

/** Fill partition foo one document at a time until a write is refused; that answer. */
async function fill(f: CouchFixture, tag = ''): Promise<{ status: number; json: unknown; written: number }> {
  for (let i = 1; i <= 100; i++) {
    const r = await f.req('/pdb', { method: 'POST', json: { _id: `foo:${tag}${String(i).padStart(4, '0')}`, value: BIG } });
    if (r.status !== 201) return { status: r.status, json: r.json, written: i - 1 };
  }
  throw new Error('the partition never filled');
}

describe('max_partition_size', () => {
  test('a full partition refuses growing writes and takes everything else', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/pdb?partitioned=true', { method: 'PUT' })).status, 201);
      await setLimit(f, 10240);
      const refused = await fill(f);
      assert.equal(refused.status, 403);
      assert.equal(obj(refused.json).error, 'partition_overflow');
      assert.match(String(obj(refused.json).reason), /^Partition limit exceeded due to update on 'foo:\d{4}'$/);
      assert.ok(refused.written >= 9 && refused.written <= 11, `${refused.written} written`);
      assert.ok((obj(obj((await f.req('/pdb/_partition/foo')).json).sizes).external as number) >= 10240);
      assert.equal((await f.req('/pdb/foo:bar', { method: 'PUT', json: { value: 'stuff' } })).status, 403);
      const bulk = await f.req('/pdb/_bulk_docs', { method: 'POST', json: { docs: [{ _id: 'foo:bar' }, { _id: 'baz:bang' }] } });
      assert.equal(bulk.status, 201);
      assert.equal(obj(arr(bulk.json)[0]).error, 'partition_overflow');
      assert.equal(obj(arr(bulk.json)[1]).ok, true);
      // Reads, a shrinking update, a deletion, design documents, replicated writes.
      const first = obj((await f.req('/pdb/foo:0001')).json);
      assert.equal((await f.req('/pdb', { method: 'POST', json: { ...first, value: '' } })).status, 201);
      const second = obj((await f.req('/pdb/foo:0002')).json);
      assert.equal((await f.req(`/pdb/foo:0002?rev=${second._rev as string}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/pdb/_design/foo', { method: 'PUT', json: { value: BIG } })).status, 201);
      const replicated = await f.req('/pdb/foo:repl?new_edits=false', { method: 'PUT', json: { _id: 'foo:repl', _rev: '1-23202479633c2b380f79507a776743d5', value: BIG } });
      assert.equal(replicated.status, 201, replicated.text);
      // A partitioned view of the full partition still builds.
      assert.equal((await f.req('/pdb/_design/v', { method: 'PUT', json: { views: { bar: { map: 'function (doc) { emit(doc.group, 1); }' } } } })).status, 201);
      assert.ok(arr(obj((await f.req('/pdb/_partition/foo/_design/v/_view/bar')).json).rows).length > 0);
    }));

  test('a purge, or a higher limit, lets writes in again; a lower one stops them at once', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/pdb?partitioned=true', { method: 'PUT' })).status, 201);
      await setLimit(f, 10240);
      assert.equal((await fill(f)).status, 403);
      const rows = arr(obj((await f.req('/pdb/_partition/foo/_all_docs?limit=5')).json).rows).map(obj);
      const purge = Object.fromEntries(rows.map((r) => [r.id as string, [obj(r.value).rev]]));
      assert.equal((await f.req('/pdb/_purge', { method: 'POST', json: purge })).status, 201);
      assert.equal((await f.req('/pdb', { method: 'POST', json: { _id: 'foo:after-purge', value: 'x' } })).status, 201);
      assert.equal((await fill(f, 'again')).status, 403);
      await setLimit(f, 10_240_000);
      assert.equal((await f.req('/pdb', { method: 'POST', json: { _id: 'foo:raised', value: BIG } })).status, 201);
      await setLimit(f, 10240);
      assert.equal((await f.req('/pdb', { method: 'POST', json: { _id: 'foo:lowered', value: BIG } })).status, 403);
      await setLimit(f, 0);
      assert.equal((await f.req('/pdb', { method: 'POST', json: { _id: 'foo:unlimited', value: BIG } })).status, 201);
    }));
});
