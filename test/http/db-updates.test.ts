/**
 * `/_db_updates` and the `_global_changes` database behind it (src/couchdb/global-changes.ts,
 * src/http/db-updates.ts), against CouchDB's global_changes_httpd / global_changes_listener.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, obj, withCouch, type CouchFixture } from './helpers.js';
import { StreamReader } from './stream-reader.js';

interface Row {
  db_name: string;
  type: string;
  seq: number;
}

async function put(f: CouchFixture, path: string, json?: unknown): Promise<void> {
  const r = await f.req(path, { method: 'PUT', ...(json === undefined ? {} : { json }) });
  assert.equal(r.status, 201, `${path}: ${r.text}`);
}

async function updates(f: CouchFixture, query = ''): Promise<{ results: Row[]; last_seq: number }> {
  const r = await f.req(`/_db_updates${query}`);
  assert.equal(r.status, 200, r.text);
  const body = obj(r.json);
  return { results: arr(body.results) as Row[], last_seq: body.last_seq as number };
}

const events = (rows: readonly Row[]): string[] => rows.map((r) => `${r.type}:${r.db_name}`).sort();

/** Poll until the feed holds every event of `want` (the recorder writes in batches, 500 ms apart). */
async function waitFor(f: CouchFixture, want: readonly string[]): Promise<{ results: Row[]; last_seq: number }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await updates(f);
    const have = new Set(events(got.results));
    if (want.every((e) => have.has(e))) return got;
    if (Date.now() > deadline) assert.fail(`waited for ${want.join(', ')}; have ${[...have].join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('/_db_updates without _global_changes', () => {
  test('404 for every feed, after the admin check; parameters are checked first', () =>
    withCouch(async (f) => {
      for (const feed of ['normal', 'longpoll', 'continuous', 'eventsource']) {
        const r = await f.req(`/_db_updates?feed=${feed}`);
        assert.equal(r.status, 404, feed);
        assert.deepEqual(r.json, { error: 'not_found', reason: 'Database does not exist.' });
      }
      const anon = await f.req('/_db_updates', { auth: null });
      assert.equal(anon.status, 401);
      assert.deepEqual(anon.json, { error: 'unauthorized', reason: 'You are not a server admin.' });
      // global_changes_httpd parses the query before allowed_owner/1, and checks `feed` after it.
      for (const q of ['limit=x', 'limit=-1', 'timeout=1.5', 'heartbeat=abc']) {
        const bad = await f.req(`/_db_updates?${q}`, { auth: null });
        assert.equal(bad.status, 400, q);
        assert.deepEqual(bad.json, { error: 'bad_request', reason: 'invalid_integer' });
      }
      assert.equal((await f.req('/_db_updates?feed=bogus', { auth: null })).status, 401);
      const feed = await f.req('/_db_updates?feed=live');
      assert.equal(feed.status, 400);
      assert.deepEqual(feed.json, { error: 'bad_request', reason: 'Supported `feed` types: normal, continuous, longpoll, eventsource' });
      assert.equal((await f.req('/_db_updates', { method: 'POST', json: {} })).status, 405);
    }));
});

describe('/_db_updates', () => {
  test('created, updated and deleted events, one row per (type, database), none for _global_changes', () =>
    withCouch(async (f) => {
      await put(f, '/early'); // before _global_changes exists: not recorded
      await put(f, '/_global_changes');
      await put(f, '/a');
      for (let i = 0; i < 5; i++) await put(f, `/a/doc${i}`, { i });
      await put(f, '/b');
      assert.equal((await f.req('/b', { method: 'DELETE' })).status, 200);
      const got = await waitFor(f, ['created:a', 'updated:a', 'created:b', 'deleted:b']);
      const names = events(got.results);
      assert.equal(names.filter((e) => e === 'updated:a').length, 1, names.join());
      assert.ok(!names.some((e) => e.endsWith(':_global_changes') || e.endsWith(':early')), names.join());
      for (const row of got.results) {
        assert.deepEqual(Object.keys(row), ['db_name', 'type', 'seq']);
        assert.equal(typeof row.seq, 'number');
      }
      assert.equal(got.last_seq, Math.max(...got.results.map((r) => r.seq)));
      // The events are `_global_changes` documents `<type>:<dbname>`, with empty bodies.
      const doc = await f.req('/_global_changes/created:a');
      assert.equal(doc.status, 200);
      assert.deepEqual(Object.keys(obj(doc.json)).sort(), ['_id', '_rev']);
    }));

  test('normal feed bytes, ETag and 304; since, limit and descending', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      await put(f, '/one');
      await put(f, '/two');
      await waitFor(f, ['created:one', 'created:two']);
      const r = await f.req('/_db_updates');
      assert.match(r.text, /^\{"results":\[\n\{"db_name":"[a-z]+","type":"created","seq":\d+\},\r\n\{"db_name":"[a-z]+","type":"created","seq":\d+\}\n\],\n"last_seq":\d+\}\n$/);
      const etag = r.headers.etag;
      assert.equal(typeof etag, 'string');
      assert.equal((await f.req('/_db_updates', { headers: { 'if-none-match': String(etag) } })).status, 304);
      const all = (await updates(f)).results;
      assert.deepEqual((await updates(f, '?limit=1')).results, all.slice(0, 1));
      const zero = await updates(f, '?limit=0');
      assert.deepEqual(zero.results, []);
      assert.deepEqual((await updates(f, `?since=${all[0]!.seq}`)).results, all.slice(1));
      assert.deepEqual((await updates(f, '?since=now')).results, []);
      assert.deepEqual((await updates(f, '?descending=true')).results, [...all].reverse());
    }));

  test('feed=longpoll waits for the next database event', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      const { last_seq: since } = await updates(f);
      const pending = f.req(`/_db_updates?feed=longpoll&since=${since}`);
      await new Promise((r) => setTimeout(r, 100));
      await put(f, '/fresh');
      const r = await pending;
      assert.equal(r.status, 200);
      const body = obj(r.json);
      assert.deepEqual(events(arr(body.results) as Row[]), ['created:fresh']);
      assert.match(r.text, /^\{"results":\[\n\{"db_name":"fresh","type":"created","seq":\d+\}\n\],\n"last_seq":\d+\}\n$/);
      assert.equal(r.headers.etag, undefined);
    }));

  test('feed=continuous: heartbeat newlines, rows as lines, a last_seq line at the end', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      const res = await f.stream('/_db_updates?feed=continuous&since=now&heartbeat=20&limit=1');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const body = new StreamReader(res.body);
      await body.until((t) => t.includes('\n'));
      assert.equal(body.text.trim(), '');
      await put(f, '/cont');
      const lines = (await body.rest()).split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
      assert.equal(lines.length, 2);
      assert.deepEqual({ ...lines[0], seq: 0 }, { db_name: 'cont', type: 'created', seq: 0 });
      assert.deepEqual(lines[1], { last_seq: lines[0]!.seq });
    }));

  test('feed=continuous ends on its timeout with last_seq only', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      const r = await f.req('/_db_updates?feed=continuous&since=now&timeout=50');
      assert.equal(r.status, 200);
      assert.match(r.text, /^\{"last_seq":\d+\}\n$/);
    }));

  test('feed=eventsource: the _global_changes change as data, its seq as id', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      await put(f, '/sse');
      await waitFor(f, ['created:sse']);
      const r = await f.req('/_db_updates?feed=eventsource&limit=1');
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/event-stream/);
      assert.equal(r.headers['cache-control'], 'no-cache');
      const m = /^data: (.*)\nid: (\d+)\n\n$/.exec(r.text);
      assert.ok(m, JSON.stringify(r.text));
      // global_changes_httpd's eventsource clause sends the change without transform_change.
      const change = obj(JSON.parse(m[1]!));
      assert.equal(change.id, 'created:sse');
      assert.equal(change.seq, Number(m[2]));
      assert.equal(arr(change.changes).length, 1);
    }));

  test('a write outside the HTTP API (engine/KV) is an update too', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      await put(f, '/kv');
      const { last_seq: since } = await waitFor(f, ['created:kv']);
      await f.engine.requireBucket('kv').set('k', JSON.stringify({ from: 'kv' }));
      const r = await f.req(`/_db_updates?feed=longpoll&since=${since}`);
      assert.deepEqual(events(arr(obj(r.json).results) as Row[]), ['updated:kv']);
    }));

  test('a _users user that is no server admin gets 401', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      assert.equal((await f.req('/_node/_local/_config/chttpd_auth/iterations', { method: 'PUT', json: '1000' })).status, 200);
      await put(f, '/_users');
      await put(f, '/_users/org.couchdb.user:dave', { name: 'dave', password: 'dave-secret', roles: [], type: 'user' });
      const r = await f.req('/_db_updates', { auth: { user: 'dave', password: 'dave-secret' } });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { error: 'unauthorized', reason: 'You are not a server admin.' });
    }));

  test('deleting _global_changes stops the recording; re-created, it starts empty', () =>
    withCouch(async (f) => {
      await put(f, '/_global_changes');
      await put(f, '/x');
      await waitFor(f, ['created:x']);
      assert.equal((await f.req('/_global_changes', { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/_db_updates')).status, 404);
      await put(f, '/_global_changes');
      await put(f, '/y');
      const got = await waitFor(f, ['created:y']);
      assert.deepEqual(events(got.results), ['created:y']);
    }));
});
