/**
 * `bucket.scope.collection` keyspaces as CouchDB databases (issue 14 item 5): routing and its 404s,
 * documents, `_all_docs`, the bulk endpoints, `_local` docs, attachments and settings kept per
 * keyspace, database info counting one collection, and a dropped collection's keyspace.
 * Collections are created through the engine API (the management REST is another face's).
 */
import { test, describe } from 'node:test';
import { AIRPORT, HOTEL, DEFAULT, travelSample, put } from './keyspace-fixture.js';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch } from './helpers.js';
import { KeyspaceSide } from '../../src/couchdb/side-store.js';




function rowIds(json: unknown): string[] {
  return arr(obj(json).rows).map((r) => obj(r).id as string);
}

describe('keyspace databases', () => {
  test('documents live in their collection only; the same id in two keyspaces holds two documents', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await put(f, `${AIRPORT}/sfo`, { city: 'San Francisco' });
      await put(f, `${HOTEL}/sfo`, { name: 'a hotel' });
      await put(f, `${DEFAULT}/plain`, { in: 'default' });
      assert.equal(obj((await f.req(`${AIRPORT}/sfo`)).json).city, 'San Francisco');
      assert.equal(obj((await f.req(`${HOTEL}/sfo`)).json).name, 'a hotel');
      assert.equal((await f.req(`${DEFAULT}/sfo`)).status, 404);
      assert.equal((await f.req(`${AIRPORT}/plain`)).status, 404);
      // `bucket._default._default` spelled out is the default database.
      assert.equal(obj((await f.req('/travel-sample._default._default/plain')).json).in, 'default');
      // The engine sees each write in its own collection.
      const bucket = f.engine.requireBucket('travel-sample');
      assert.equal(JSON.parse(bucket.collectionByName('inventory', 'airport').get('sfo').value.toString()).city, 'San Francisco');
      assert.throws(() => bucket.get('sfo'));
      // Updates and deletes stay in the keyspace.
      const rev = obj((await f.req(`${AIRPORT}/sfo`)).json)._rev as string;
      assert.equal((await f.req(`${AIRPORT}/sfo?rev=${rev}`, { method: 'DELETE' })).status, 200);
      assert.equal((await f.req(`${AIRPORT}/sfo`)).status, 404);
      assert.equal((await f.req(`${HOTEL}/sfo`)).status, 200);
      // POST /{keyspace} creates a document there.
      const posted = await f.req(AIRPORT, { method: 'POST', json: { _id: 'lax' } });
      assert.equal(posted.status, 201);
      assert.equal((await f.req(`${AIRPORT}/lax`)).status, 200);
    }));

  test('GET /{keyspace} counts that collection; the bucket alone counts its default collection', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await put(f, `${AIRPORT}/a1`, {});
      await put(f, `${AIRPORT}/a2`, {});
      const r3 = await put(f, `${AIRPORT}/a3`, {});
      await f.req(`${AIRPORT}/a3?rev=${r3}`, { method: 'DELETE' });
      await put(f, `${HOTEL}/h1`, {});
      await put(f, `${DEFAULT}/d1`, {});
      const air = obj((await f.req(AIRPORT)).json);
      assert.equal(air.db_name, 'travel-sample.inventory.airport');
      assert.equal(air.doc_count, 2);
      assert.equal(air.doc_del_count, 1);
      assert.equal(air.instance_start_time, '0');
      assert.equal(typeof air.update_seq, 'number');
      const def = obj((await f.req(DEFAULT)).json);
      assert.equal(def.db_name, 'travel-sample');
      assert.equal(def.doc_count, 1);
      assert.equal(def.doc_del_count, 0);
      assert.equal(obj((await f.req(HOTEL)).json).doc_count, 1);
      // _all_docs of each: its own ids only, total_rows its own count.
      const all = await f.req(`${AIRPORT}/_all_docs`);
      assert.deepEqual(rowIds(all.json), ['a1', 'a2']);
      assert.equal(obj(all.json).total_rows, 2);
      assert.deepEqual(rowIds((await f.req(`${DEFAULT}/_all_docs`)).json), ['d1']);
      const keys = await f.req(`${HOTEL}/_all_docs?include_docs=true`, { method: 'POST', json: { keys: ['h1', 'a1'] } });
      const rows = arr(obj(keys.json).rows).map(obj);
      assert.equal(rows[0]!.id, 'h1');
      assert.equal(obj(rows[0]!.doc)._id, 'h1');
      assert.deepEqual(rows[1], { key: 'a1', error: 'not_found' });
    }));

  test('unknown keyspaces are 404 with a CouchDB body; PUT and DELETE of keyspaces', () =>
    withCouch(async (f) => {
      await travelSample(f);
      const missingColl = await f.req('/travel-sample.inventory.nope');
      assert.equal(missingColl.status, 404);
      assert.equal(obj(missingColl.json).error, 'not_found');
      assert.match(String(obj(missingColl.json).reason), /keyspace travel-sample\.inventory\.nope not found/);
      assert.equal((await f.req('/travel-sample.nope.airport/x')).status, 404);
      assert.deepEqual((await f.req('/nobucket.inventory.airport')).json, { error: 'not_found', reason: 'Database does not exist.' });
      // Two parts name a collection of the bucket's only scope (Sync Gateway); with two scopes it is ambiguous.
      const two = await f.req('/travel-sample.airport');
      assert.equal(two.status, 404);
      assert.match(String(obj(two.json).reason), /several scopes/);
      await createDb(f, 'solo');
      await put(f, '/solo._default/x', { v: 1 });
      assert.equal(obj((await f.req('/solo/x')).json).v, 1);
      // PUT of an existing keyspace: 412 as for an existing database; of a missing collection: 404.
      assert.equal((await f.req(AIRPORT, { method: 'PUT' })).status, 412);
      const create = await f.req('/travel-sample.inventory.nope', { method: 'PUT' });
      assert.equal(create.status, 404);
      assert.match(String(obj(create.json).reason), /management API/);
      // DELETE of a keyspace does not delete the bucket.
      const del = await f.req(AIRPORT, { method: 'DELETE' });
      assert.equal(del.status, 400);
      assert.equal(obj(del.json).error, 'bad_request');
      assert.equal((await f.req('/travel-sample._default._default', { method: 'DELETE' })).status, 400);
      assert.equal((await f.req(AIRPORT)).status, 200);
    }));

  test('bucket names with dots: the whole name first, then bucket.scope.collection', () =>
    withCouch(async (f) => {
      await f.engine.createBucket('dot.ted', { numVBuckets: 4 });
      const bucket = f.engine.requireBucket('dot.ted');
      await bucket.createScope('s');
      await bucket.createCollection('s', 'c');
      await put(f, '/dot.ted/d', { where: 'default' });
      await put(f, '/dot.ted.s.c/d', { where: 'c' });
      assert.equal(obj((await f.req('/dot.ted/d')).json).where, 'default');
      assert.equal(obj((await f.req('/dot.ted.s.c/d')).json).where, 'c');
      assert.equal(obj((await f.req('/dot.ted.s.c')).json).db_name, 'dot.ted.s.c');
    }));

  test('_bulk_docs, _bulk_get, _revs_diff and _missing_revs act on the keyspace', () =>
    withCouch(async (f) => {
      await travelSample(f);
      const bulk = await f.req(`${AIRPORT}/_bulk_docs`, { method: 'POST', json: { docs: [{ _id: 'b1', n: 1 }, { _id: 'b2', n: 2 }] } });
      assert.equal(bulk.status, 201);
      const revs = arr(bulk.json).map((r) => obj(r).rev as string);
      assert.equal((await f.req(`${DEFAULT}/b1`)).status, 404);
      const got = await f.req(`${AIRPORT}/_bulk_get`, { method: 'POST', json: { docs: [{ id: 'b1' }, { id: 'b2', rev: revs[1] }] } });
      const results = arr(obj(got.json).results).map((r) => obj(arr(obj(r).docs)[0]));
      assert.equal(obj(results[0]!.ok).n, 1);
      assert.equal(obj(results[1]!.ok).n, 2);
      const inHotel = await f.req(`${HOTEL}/_bulk_get`, { method: 'POST', json: { docs: [{ id: 'b1' }] } });
      assert.ok(obj(arr(obj(arr(obj(inHotel.json).results)[0]).docs)[0]).error);
      const diff = await f.req(`${AIRPORT}/_revs_diff`, { method: 'POST', json: { b1: [revs[0], '9-x'] } });
      assert.deepEqual(obj(obj(diff.json).b1).missing, ['9-x']);
      const diffHotel = await f.req(`${HOTEL}/_revs_diff`, { method: 'POST', json: { b1: [revs[0]] } });
      assert.deepEqual(obj(obj(diffHotel.json).b1).missing, [revs[0]]);
      const missing = await f.req(`${HOTEL}/_missing_revs`, { method: 'POST', json: { b1: [revs[0]] } });
      assert.deepEqual(obj(obj(missing.json).missing_revs).b1, [revs[0]]);
      assert.equal((await f.req(`${AIRPORT}/_ensure_full_commit`, { method: 'POST', json: {} })).status, 201);
    }));

  test('_local docs, attachments and _revs_limit are kept per keyspace', () =>
    withCouch(async (f) => {
      await travelSample(f);
      assert.equal((await f.req(`${AIRPORT}/_local/ckpt`, { method: 'PUT', json: { seq: 7 } })).status, 201);
      assert.equal(obj((await f.req(`${AIRPORT}/_local/ckpt`)).json).seq, 7);
      assert.equal((await f.req(`${HOTEL}/_local/ckpt`)).status, 404);
      assert.equal((await f.req(`${DEFAULT}/_local/ckpt`)).status, 404);
      assert.equal((await f.req(`${DEFAULT}/_local/ckpt`, { method: 'PUT', json: { seq: 1 } })).status, 201);
      assert.equal(obj((await f.req(`${AIRPORT}/_local/ckpt`)).json).seq, 7);
      assert.deepEqual(rowIds((await f.req(`${AIRPORT}/_local_docs`)).json), ['_local/ckpt']);
      assert.deepEqual(rowIds((await f.req(`${HOTEL}/_local_docs`)).json), []);
      // Attachments: the same id and name in two keyspaces, different bytes.
      const attPut = (path: string, text: string): Promise<unknown> =>
        f.req(`${path}/doc/note.txt`, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain' } });
      await attPut(AIRPORT, 'airport bytes');
      await attPut(HOTEL, 'hotel bytes');
      assert.equal((await f.req(`${AIRPORT}/doc/note.txt`)).text, 'airport bytes');
      assert.equal((await f.req(`${HOTEL}/doc/note.txt`)).text, 'hotel bytes');
      assert.equal((await f.req(`${DEFAULT}/doc/note.txt`)).status, 404);
      const withAtt = obj((await f.req(`${AIRPORT}/doc?attachments=true`)).json);
      assert.equal(Buffer.from(String(obj(obj(withAtt._attachments)['note.txt']).data), 'base64').toString(), 'airport bytes');
      // The bytes are stored under the keyspace: the default database's store does not hold them.
      const bucket = f.engine.requireBucket('travel-sample');
      const digest = String(obj(obj(withAtt._attachments)['note.txt']).digest);
      const airportId = bucket.manifest.collectionByPath('inventory', 'airport')!.id;
      assert.ok(new KeyspaceSide(bucket, 'couch_att', airportId).has(digest));
      assert.equal(new KeyspaceSide(bucket, 'couch_att', 0).has(digest), false);
      // _revs_limit
      assert.equal((await f.req(`${AIRPORT}/_revs_limit`, { method: 'PUT', body: '7' })).status, 200);
      assert.equal((await f.req(`${AIRPORT}/_revs_limit`)).json, 7);
      assert.equal((await f.req(`${HOTEL}/_revs_limit`)).json, 1000);
      assert.equal((await f.req(`${DEFAULT}/_revs_limit`)).json, 1000);
    }));

  test('a dropped collection: its keyspace answers 404 and its side data is removed', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await put(f, `${AIRPORT}/x`, { a: 1 });
      assert.equal((await f.req(`${AIRPORT}/_local/ckpt`, { method: 'PUT', json: { seq: 1 } })).status, 201);
      const bucket = f.engine.requireBucket('travel-sample');
      const id = bucket.manifest.collectionByPath('inventory', 'airport')!.id;
      const local = new KeyspaceSide(bucket, 'couch_local', id);
      assert.ok(local.has('ckpt'));
      await bucket.dropCollection('inventory', 'airport');
      for (const path of [AIRPORT, `${AIRPORT}/x`, `${AIRPORT}/_changes`, `${AIRPORT}/_all_docs`, `${AIRPORT}/_local/ckpt`]) {
        const r = await f.req(path);
        assert.equal(r.status, 404, path);
        assert.equal(obj(r.json).error, 'not_found');
      }
      assert.equal((await f.req(HOTEL)).status, 200);
      for (let i = 0; local.has('ckpt'); i++) {
        if (i > 200) assert.fail('the dropped collection kept its _local docs');
        await new Promise((r) => setTimeout(r, 10));
      }
      // Re-created under the same name, it is a new, empty collection.
      await bucket.createCollection('inventory', 'airport');
      assert.equal(obj((await f.req(AIRPORT)).json).doc_count, 0);
      assert.equal((await f.req(`${AIRPORT}/_local/ckpt`)).status, 404);
    }));
});
