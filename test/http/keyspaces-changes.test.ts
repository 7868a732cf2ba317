/**
 * A keyspace's `_changes` lists its own collection only (issue 14 item 5), in every feed mode, and
 * moves past other collections' changes: a KV write into `inventory.airport` shows in
 * `/travel-sample.inventory.airport/_changes` and in no other keyspace's feed.
 */
import { test, describe } from 'node:test';
import { AIRPORT, HOTEL, DEFAULT, travelSample, put } from './keyspace-fixture.js';
import assert from 'node:assert/strict';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';
import { StreamReader } from './stream-reader.js';




function ids(json: unknown): string[] {
  return arr(obj(json).results).map((r) => obj(r).id as string);
}

async function feedsOpen(f: CouchFixture, n: number): Promise<void> {
  while (f.listener.face.openFeeds !== n) await new Promise((r) => setTimeout(r, 5));
}

describe('keyspace _changes', () => {
  test('normal feeds are isolated per keyspace; a KV write into a collection shows in its feed only', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await put(f, `${AIRPORT}/http-air`, { n: 1 });
      await put(f, `${HOTEL}/http-hotel`, { n: 2 });
      await put(f, `${DEFAULT}/http-default`, { n: 3 });
      const bucket = f.engine.requireBucket('travel-sample');
      await bucket.collectionByName('inventory', 'airport').set('kv-air', JSON.stringify({ from: 'kv' }));
      await bucket.set('kv-default', JSON.stringify({ from: 'kv' }));
      assert.deepEqual(ids((await f.req(`${AIRPORT}/_changes`)).json), ['http-air', 'kv-air']);
      assert.deepEqual(ids((await f.req(`${HOTEL}/_changes`)).json), ['http-hotel']);
      assert.deepEqual(ids((await f.req(`${DEFAULT}/_changes`)).json), ['http-default', 'kv-default']);
      // Rows of a named collection go through the full row path: include_docs, style, filters.
      const docs = await f.req(`${AIRPORT}/_changes?include_docs=true&style=all_docs`);
      const rows = arr(obj(docs.json).results).map(obj);
      assert.equal(obj(rows[1]!.doc).from, 'kv');
      assert.equal(obj(rows[0]!.doc)._id, 'http-air');
      const filtered = await f.req(`${AIRPORT}/_changes?filter=_doc_ids`, { method: 'POST', json: { doc_ids: ['kv-air', 'http-hotel'] } });
      assert.deepEqual(ids(filtered.json), ['kv-air']);
      const selected = await f.req(`${AIRPORT}/_changes?filter=_selector`, { method: 'POST', json: { selector: { from: 'kv' } } });
      assert.deepEqual(ids(selected.json), ['kv-air']);
      // Deletions of the keyspace show as deleted rows of it.
      await bucket.collectionByName('inventory', 'airport').delete('kv-air');
      const after = arr(obj((await f.req(`${AIRPORT}/_changes`)).json).results).map(obj);
      assert.deepEqual(after.map((r) => [r.id, r.deleted ?? false]), [['http-air', false], ['kv-air', true]]);
      // last_seq is the bucket-wide position; since=now starts there and shows nothing old.
      const now = await f.req(`${AIRPORT}/_changes?since=now`);
      assert.deepEqual(ids(now.json), []);
      assert.equal(obj(now.json).last_seq, obj((await f.req(AIRPORT)).json).update_seq);
    }));

  test('a feed moves past pages full of other collections\' changes', () =>
    withCouch(async (f) => {
      await travelSample(f);
      // More than a page (1000 index entries) of hotel changes before and after one airport change.
      const docs = (prefix: string, n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ _id: `${prefix}${i}` }));
      assert.equal((await f.req(`${HOTEL}/_bulk_docs`, { method: 'POST', json: { docs: docs('h', 1100) } })).status, 201);
      await put(f, `${AIRPORT}/only`, {});
      assert.equal((await f.req(`${HOTEL}/_bulk_docs`, { method: 'POST', json: { docs: docs('g', 1100) } })).status, 201);
      const res = await f.req(`${AIRPORT}/_changes`);
      assert.deepEqual(ids(res.json), ['only']);
      const lastSeq = obj(res.json).last_seq as number;
      assert.ok(lastSeq >= 2201, `last_seq ${lastSeq} reached the end of the index`);
      assert.deepEqual(ids((await f.req(`${AIRPORT}/_changes?since=${lastSeq}`)).json), []);
      // With a limit, `pending` counts the keyspace's own rows only.
      const limited = obj((await f.req(`${HOTEL}/_changes?limit=2000`)).json);
      assert.equal(arr(limited.results).length, 2000);
      assert.equal(limited.pending, 200);
      // Descending, from the newest: the airport row is found among the hotel ones.
      assert.deepEqual(ids((await f.req(`${AIRPORT}/_changes?descending=true`)).json), ['only']);
    }));

  test('longpoll waits through other collections\' writes and answers with its own', () =>
    withCouch(async (f) => {
      await travelSample(f);
      const since = obj((await f.req(`${AIRPORT}/_changes?since=now`)).json).last_seq as number;
      const poll = f.req(`${AIRPORT}/_changes?feed=longpoll&since=${since}&timeout=10000`);
      await feedsOpen(f, 1);
      const bucket = f.engine.requireBucket('travel-sample');
      await bucket.collectionByName('inventory', 'hotel').set('noise', '{}');
      await bucket.set('noise', '{}');
      await new Promise((r) => setTimeout(r, 50));
      await bucket.collectionByName('inventory', 'airport').set('wanted', '{"w":1}');
      const res = await poll;
      assert.equal(res.status, 200);
      assert.deepEqual(ids(res.json), ['wanted']);
    }));

  test('continuous and eventsource feeds of a keyspace carry only its rows', () =>
    withCouch(async (f) => {
      await travelSample(f);
      await put(f, `${AIRPORT}/old`, {});
      await put(f, `${HOTEL}/old-hotel`, {});
      const cont = await f.stream(`${AIRPORT}/_changes?feed=continuous&limit=3&heartbeat=10000`);
      const sse = await f.stream(`${HOTEL}/_changes?feed=eventsource&heartbeat=10000&limit=2`);
      const body = new StreamReader(cont.body);
      const events = new StreamReader(sse.body);
      await body.until((t) => t.includes('"old"'));
      const bucket = f.engine.requireBucket('travel-sample');
      await bucket.set('default-live', '{}');
      await bucket.collectionByName('inventory', 'hotel').set('hotel-live', '{}');
      await bucket.collectionByName('inventory', 'airport').set('air-live-1', '{}');
      await put(f, `${AIRPORT}/air-live-2`, {});
      const lines = (await body.rest()).split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
      assert.deepEqual(lines.map((l) => l.id ?? 'end'), ['old', 'air-live-1', 'air-live-2', 'end']);
      const text = await events.rest();
      const dataIds = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => obj(JSON.parse(l.slice(6))).id);
      assert.deepEqual(dataIds, ['old-hotel', 'hotel-live']);
    }));
});
