/**
 * PouchDB 9 (memory adapter) replicating a `bucket.scope.collection` keyspace both ways (issue 14
 * item 5), as it would with a Sync Gateway or Edge Server keyspace URL: pushed documents land in
 * that collection only, and a pull brings that collection's documents only, KV writes included.
 */
import { test, describe } from 'node:test';
import { travelSample } from './keyspace-fixture.js';
import assert from 'node:assert/strict';
import { ADMIN } from '../helpers/server.js';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB, stopLive, type PouchDatabase } from './pouch.js';

const AIRPORT = 'travel-sample.inventory.airport';
let counter = 0;

function local(): PouchDatabase {
  return new PouchDB(`ks-local-${process.pid}-${++counter}`, { adapter: 'memory' });
}

function remote(f: CouchFixture, name: string): PouchDatabase {
  return new PouchDB(`${f.base}/${name}`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
}


async function ids(f: CouchFixture, db: string): Promise<string[]> {
  return arr(obj((await f.req(`/${db}/_all_docs`)).json).rows).map((r) => obj(r).id as string);
}

async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await check();
      return;
    } catch (err) {
      if (i >= 300) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('PouchDB and keyspaces', () => {
  test('push into a keyspace, then pull it: only that collection travels', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await f.req('/travel-sample.inventory.hotel/hotel-1', { method: 'PUT', json: { hotel: true } });
      await f.req('/travel-sample/default-1', { method: 'PUT', json: { def: true } });
      const src = local();
      const a = await src.put({ _id: 'sfo', city: 'San Francisco' });
      await src.put({ _id: 'sfo', _rev: a.rev, city: 'SF' });
      await src.put({ _id: 'lax', _attachments: { 'map.txt': { content_type: 'text/plain', data: Buffer.from('runways') } } });
      const gone = await src.put({ _id: 'gone' });
      await src.remove('gone', gone.rev);
      const push = await src.replicate.to(remote(f, AIRPORT));
      assert.equal(push.ok, true);
      assert.equal(push.doc_write_failures, 0);
      assert.deepEqual(await ids(f, AIRPORT), ['lax', 'sfo']);
      assert.deepEqual(await ids(f, 'travel-sample.inventory.hotel'), ['hotel-1']);
      assert.deepEqual(await ids(f, 'travel-sample'), ['default-1']);
      assert.equal((await f.req(`/${AIRPORT}/lax/map.txt`)).text, 'runways');
      assert.equal(obj((await f.req(`/${AIRPORT}/gone`)).json).reason, 'deleted');

      // A KV write into the collection travels with the pull; the other collections' do not.
      const bucket = f.engine.requireBucket('travel-sample');
      await bucket.collectionByName('inventory', 'airport').set('kv-jfk', JSON.stringify({ city: 'New York' }));
      await bucket.collectionByName('inventory', 'hotel').set('kv-hotel', '{}');
      const dst = local();
      const pull = await dst.replicate.from(remote(f, AIRPORT));
      assert.equal(pull.ok, true);
      const all = await (dst as unknown as { allDocs(): Promise<{ rows: Array<{ id: string }> }> }).allDocs();
      assert.deepEqual(all.rows.map((r) => r.id), ['kv-jfk', 'lax', 'sfo']);
      assert.equal((await dst.get('sfo')).city, 'SF');
      assert.equal((await dst.get('sfo'))._rev, obj((await f.req(`/${AIRPORT}/sfo`)).json)._rev);
      const lax = await dst.get('lax', { attachments: true, binary: true });
      assert.equal(Buffer.from(lax._attachments!['map.txt']!.data).toString(), 'runways');
      // The checkpoint is a _local doc of the keyspace: a second pull has nothing to do.
      assert.equal(arr(obj((await f.req(`/${AIRPORT}/_local_docs`)).json).rows).length, 2);
      assert.equal(arr(obj((await f.req('/travel-sample/_local_docs')).json).rows).length, 0);
      const again = await dst.replicate.from(remote(f, AIRPORT));
      assert.equal(again.docs_written, 0);
    }));

  test('live pull of a keyspace sees its new writes and none of the other collections\'', () =>
    withCouch(async (f) => {
      await travelSample(f);
      const dst = local();
      const live = dst.replicate.from(remote(f, AIRPORT), { live: true, retry: true });
      try {
        const bucket = f.engine.requireBucket('travel-sample');
        await bucket.collectionByName('inventory', 'hotel').set('not-me', '{}');
        await bucket.set('not-me-either', '{}');
        await bucket.collectionByName('inventory', 'airport').set('me', JSON.stringify({ n: 1 }));
        await eventually(async () => assert.equal((await dst.get('me')).n, 1));
        await f.req(`/${AIRPORT}/me-too`, { method: 'PUT', json: { n: 2 } });
        await eventually(async () => assert.equal((await dst.get('me-too')).n, 2));
        await assert.rejects(dst.get('not-me'), (e: { status?: number }) => e.status === 404);
        await assert.rejects(dst.get('not-me-either'), (e: { status?: number }) => e.status === 404);
      } finally {
        await stopLive(live);
      }
    }));
});
