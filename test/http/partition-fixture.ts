/** The partitioned database the partition tests share (CouchDB's partition_helpers create_partition_docs). */
import assert from 'node:assert/strict';
import type { CouchFixture } from './helpers.js';

/** A partitioned database of 100 documents: even `i` in partition foo, odd in bar (CouchDB's create_partition_docs). */
export async function seedPartitioned(f: CouchFixture, name = 'pdb'): Promise<void> {
  const created = await f.req(`/${name}?partitioned=true&q=4`, { method: 'PUT' });
  assert.equal(created.status, 201, created.text);
  const docs = Array.from({ length: 100 }, (_, n) => {
    const i = n + 1;
    return { _id: `${i % 2 === 0 ? 'foo' : 'bar'}:${i}`, value: i, some: 'field', group: i % 3 === 0 ? 'one' : 'two' };
  });
  const r = await f.req(`/${name}/_bulk_docs`, { method: 'POST', json: { docs } });
  assert.equal(r.status, 201, r.text);
}

