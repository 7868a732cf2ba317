import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { StreamReader } from './stream-reader.js';

async function seed(f: CouchFixture, n: number): Promise<void> {
  await createDb(f);
  for (let i = 0; i < n; i++) {
    const r = await f.req(`/db/doc${i}`, { method: 'PUT', json: { i } });
    assert.equal(r.status, 201);
  }
}

/** Resolves once the face has `n` streaming responses open. */
async function feedsOpen(f: CouchFixture, n: number): Promise<void> {
  while (f.listener.face.openFeeds !== n) await new Promise((r) => setTimeout(r, 5));
}

describe('_changes feed=continuous', () => {
  test('existing rows as lines, then live rows; limit ends with a last_seq line', () =>
    withCouch(async (f) => {
      await seed(f, 2);
      const res = await f.stream('/db/_changes?feed=continuous&limit=3&heartbeat=10000');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const body = new StreamReader(res.body);
      await body.until((t) => t.split('\n').length > 2);
      assert.deepEqual(body.lines().map((l) => obj(JSON.parse(l)).id), ['doc0', 'doc1']);
      await f.req('/db/live', { method: 'PUT', json: { live: true } });
      const text = await body.rest();
      const lines = text.split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
      assert.deepEqual(lines.map((l) => l.id ?? 'end'), ['doc0', 'doc1', 'live', 'end']);
      assert.deepEqual(lines[3], { last_seq: 3, pending: 0 });
    }));

  test('timeout without heartbeat ends the feed with the last_seq line', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const r = await f.req('/db/_changes?feed=continuous&timeout=50');
      const lines = r.text.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 2);
      assert.deepEqual(JSON.parse(lines[1]!), { last_seq: 1, pending: 0 });
    }));

  test('heartbeats are newlines; a filtered feed ends with its advanced last_seq', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const res = await f.stream('/db/_changes?feed=continuous&since=now&heartbeat=20&filter=_doc_ids&doc_ids=%5B%22wanted%22%5D&limit=1');
      const body = new StreamReader(res.body);
      await body.until((t) => t.includes('\n\n'));
      assert.equal(body.text.trim(), '');
      await f.req('/db/other', { method: 'PUT', json: {} });
      await f.req('/db/wanted', { method: 'PUT', json: {} });
      const text = await body.rest();
      const lines = text.split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
      assert.deepEqual(lines.map((l) => l.id ?? 'end'), ['wanted', 'end']);
      assert.deepEqual(lines[1], { last_seq: 3, pending: 0 });
    }));

  test('a feed that waits before any row starts with a blank line (chttpd_db waiting_for_updates)', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const empty = await f.req('/db/_changes?feed=continuous&since=now&timeout=20');
      assert.equal(empty.text, '\n{"last_seq":1,"pending":0}\n');
      const res = await f.stream('/db/_changes?feed=continuous&since=now&heartbeat=60000');
      const body = new StreamReader(res.body);
      assert.equal(await body.until((t) => t.length > 0), '\n');
      res.body.destroy();
      // Rows before the first wait: no blank line.
      const rows = await f.req('/db/_changes?feed=continuous&timeout=20');
      assert.match(rows.text, /^\{"seq":1,"id":"doc0",[^\n]*\n\{"last_seq":1,"pending":0\}\n$/);
      const sse = await f.req('/db/_changes?feed=eventsource&since=now&timeout=20');
      assert.equal(sse.text, '\n');
    }));

  test('a client disconnect frees the feed at once', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const ac = new AbortController();
      const res = await f.stream('/db/_changes?feed=continuous&heartbeat=10000', { signal: ac.signal });
      const body = new StreamReader(res.body);
      await body.until((t) => t.includes('doc0'));
      assert.equal(f.listener.face.openFeeds, 1);
      ac.abort();
      await feedsOpen(f, 0);
      assert.equal(f.listener.face.stats.feedsClosed, f.listener.face.stats.feedsOpened);
    }));
});

describe('_changes feed=eventsource', () => {
  test('data/id events, heartbeat events, Last-Event-ID resumes, timeout ends without a last_seq event', () =>
    withCouch(async (f) => {
      await seed(f, 3);
      const r = await f.req('/db/_changes?feed=eventsource&timeout=30');
      assert.equal(r.headers['content-type'], 'text/event-stream');
      assert.equal(r.headers['cache-control'], 'no-cache');
      const events = r.text.split('\n\n').filter((e) => e.length > 0);
      assert.equal(events.length, 3);
      assert.match(events[0]!, /^data: \{"seq":1,"id":"doc0","changes":\[\{"rev":"1-[0-9a-f]{32}"\}\]\}\nid: 1$/);
      assert.equal(r.text.includes('last_seq'), false);
      const resumed = await f.req('/db/_changes?feed=eventsource&timeout=30&since=0', { headers: { 'last-event-id': '2' } });
      assert.deepEqual(resumed.text.split('\n\n').filter((e) => e.length > 0).map((e) => /id: (\d+)/.exec(e)?.[1]), ['3']);
      const res = await f.stream('/db/_changes?feed=eventsource&since=now&heartbeat=20&filter=_doc_ids&doc_ids=%5B%22x%22%5D');
      const body = new StreamReader(res.body);
      await body.until((t) => t.includes('event: heartbeat\ndata: \n\n'));
      await f.req('/db/unrelated', { method: 'PUT', json: {} });
      // The next heartbeat carries the scanned position, which moves the client's Last-Event-ID.
      await body.until((t) => t.includes('event: heartbeat\nid: 4\ndata: \n\n'));
      res.body.destroy();
    }));
});

describe('_changes feed=longpoll', () => {
  test('answers at once when there are changes', () =>
    withCouch(async (f) => {
      await seed(f, 2);
      const r = obj((await f.req('/db/_changes?feed=longpoll&since=1')).json);
      assert.deepEqual(arr(r.results).map((x) => obj(x).id), ['doc1']);
      assert.equal(r.last_seq, 2);
    }));

  test('wakes on a write made through the engine (KV side), with its computed revision', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const res = await f.stream('/db/_changes?feed=longpoll&since=now&include_docs=true');
      await feedsOpen(f, 1);
      const bucket = f.engine.requireBucket('db');
      await bucket.set('kvdoc', JSON.stringify({ from: 'kv' }));
      const r = obj(JSON.parse(await new StreamReader(res.body).rest()));
      const results = arr(r.results).map(obj);
      assert.equal(results.length, 1);
      assert.equal(results[0]!.id, 'kvdoc');
      assert.equal(r.last_seq, 2);
      const doc = obj(results[0]!.doc);
      assert.equal(doc.from, 'kv');
      assert.match(String(doc._rev), /^1-[0-9a-f]{32}$/);
      assert.equal(obj((await f.req('/db/kvdoc')).json)._rev, doc._rev);
    }));

  test('waiting with no row yet sends the opening and one newline at once (chttpd_db waiting_for_updates, CouchDB 3)', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const res = await f.stream('/db/_changes?feed=longpoll&since=now');
      const body = new StreamReader(res.body);
      // Before any change: the opening and the first wait's newline, nothing more.
      assert.equal(await body.until((t) => t.length >= '{"results":[\n\n'.length), '{"results":[\n\n');
      await f.req('/db/late', { method: 'PUT', json: {} });
      const text = await body.rest();
      assert.match(text, /^\{"results":\[\n\n\{"seq":2,"id":"late","changes":\[\{"rev":"1-[0-9a-f]{32}"\}\]\}\n\],\n"last_seq":2,"pending":0\}\n$/);
      // A longpoll that times out: the same newline, then the end.
      const timedOut = await f.req('/db/_changes?feed=longpoll&since=now&timeout=20');
      assert.equal(timedOut.text, '{"results":[\n\n\n],\n"last_seq":2,"pending":0}\n');
      // With rows at once there is no wait and no newline.
      const atOnce = await f.req('/db/_changes?feed=longpoll&since=1');
      assert.match(atOnce.text, /^\{"results":\[\n\{"seq":2,/);
    }));

  test('timeout answers with no rows and the current last_seq; heartbeats are JSON whitespace', () =>
    withCouch(async (f) => {
      await seed(f, 2);
      const r = await f.req('/db/_changes?feed=longpoll&since=2&timeout=30');
      assert.deepEqual(r.json, { results: [], last_seq: 2, pending: 0 });
      const res = await f.stream('/db/_changes?feed=longpoll&since=now&heartbeat=15');
      const body = new StreamReader(res.body);
      await body.until((t) => t.startsWith('{"results":[\n\n'));
      await f.req('/db/late', { method: 'PUT', json: {} });
      const parsed = obj(JSON.parse(await body.rest()));
      assert.deepEqual(arr(parsed.results).map((x) => obj(x).id), ['late']);
    }));

  test('a filtered longpoll reports progress over changes it drops, on the heartbeat', () =>
    withCouch(async (f) => {
      await seed(f, 1);
      const res = await f.stream('/db/_changes?feed=longpoll&since=now&heartbeat=20&filter=_doc_ids', {
        method: 'POST',
        json: { doc_ids: ['never'] },
      });
      await feedsOpen(f, 1);
      await f.req('/db/noise', { method: 'PUT', json: {} });
      const r = obj(JSON.parse(await new StreamReader(res.body).rest()));
      assert.deepEqual(r.results, []);
      assert.equal(r.last_seq, 2);
    }));
});
