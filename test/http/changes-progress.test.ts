/**
 * Filtered `_changes` feeds still advance (issue 6 §3): every feed mode, over raw HTTP, reports
 * the position it scanned through while its filter drops every change, in a shape its clients
 * already understand (src/http/changes-feed.ts header): normal and longpoll through `last_seq`,
 * continuous through its final `last_seq` line (and, opt-in, `heartbeat_seq` progress rows),
 * eventsource through `id:` on heartbeats. Plus PouchDB's checkpoint moving over such a feed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN } from '../helpers/server.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';
import { StreamReader } from './stream-reader.js';

const NEVER = `filter=_doc_ids&doc_ids=${encodeURIComponent('["never"]')}`;

async function put(f: CouchFixture, id: string): Promise<void> {
  const r = await f.req(`/db/${encodeURIComponent(id)}`, { method: 'PUT', json: { id } });
  assert.equal(r.status, 201, r.text);
}

async function bulk(f: CouchFixture, prefix: string, n: number): Promise<void> {
  const docs = Array.from({ length: n }, (_, i) => ({ _id: `${prefix}${i}`, i }));
  const r = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } });
  assert.equal(r.status, 201, r.text);
}

async function updateSeq(f: CouchFixture): Promise<number> {
  return Number(obj((await f.req('/db')).json).update_seq);
}

/** Writes a non-matching document every few ms until stopped: a busy database, a silent feed. */
function noise(f: CouchFixture): { stop(): Promise<number> } {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      await put(f, `noise-${n++}`);
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return n;
    },
  };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.length > 0).map((l) => obj(JSON.parse(l)));
}

describe('filtered feed=normal', () => {
  test('no passing row: last_seq is the position scanned, across several engine pages', () =>
    withCouch(async (f) => {
      await createDb(f);
      await bulk(f, 'a', 1500);
      await bulk(f, 'b', 1500);
      const r = obj((await f.req(`/db/_changes?${NEVER}`)).json);
      assert.deepEqual(r.results, []);
      assert.equal(r.last_seq, 3000);
      const sel = obj((await f.req('/db/_changes?filter=_selector', { method: 'POST', json: { selector: { i: { $gt: 5000 } } } })).json);
      assert.deepEqual(sel.results, []);
      assert.equal(sel.last_seq, 3000);
    }));

  test('with limit reached, last_seq is the last row, so nothing after it is skipped', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'w1');
      await bulk(f, 'n', 20);
      await put(f, 'w2');
      await bulk(f, 'm', 20);
      const ids = encodeURIComponent('["w1","w2"]');
      const first = obj((await f.req(`/db/_changes?filter=_doc_ids&doc_ids=${ids}&limit=1`)).json);
      assert.deepEqual(arr(first.results).map((x) => obj(x).id), ['w1']);
      assert.equal(first.last_seq, 1);
      assert.equal(first.pending, 41);
      const rest = obj((await f.req(`/db/_changes?filter=_doc_ids&doc_ids=${ids}&since=${String(first.last_seq)}`)).json);
      assert.deepEqual(arr(rest.results).map((x) => obj(x).id), ['w2']);
      assert.equal(rest.last_seq, 42);
    }));
});

describe('filtered feed=longpoll', { timeout: 20_000 }, () => {
  test('timeout counts from the request, even while dropped changes keep waking the feed', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const res = await f.stream(`/db/_changes?feed=longpoll&since=now&timeout=300&${NEVER}`);
      const writer = noise(f);
      const r = obj(JSON.parse(await new StreamReader(res.body).rest()));
      const written = await writer.stop();
      assert.deepEqual(r.results, []);
      assert.equal(r.pending, 0);
      assert.ok(Number(r.last_seq) > 1, `last_seq ${String(r.last_seq)} did not advance`);
      assert.ok(Number(r.last_seq) <= 1 + written);
    }));

  test('with heartbeat, the reply ends with the advanced last_seq although changes keep coming', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const res = await f.stream(`/db/_changes?feed=longpoll&since=now&heartbeat=50&${NEVER}`);
      const writer = noise(f);
      const text = await new StreamReader(res.body).rest();
      await writer.stop();
      const r = obj(JSON.parse(text));
      assert.deepEqual(r.results, []);
      assert.ok(Number(r.last_seq) > 1);
    }));
});

describe('filtered feed=continuous', { timeout: 20_000 }, () => {
  test('default: CouchDB bytes only (blank heartbeats), then the final line carries the progress', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const res = await f.stream(`/db/_changes?feed=continuous&since=now&heartbeat=20&limit=1&filter=_doc_ids&doc_ids=${encodeURIComponent('["wanted"]')}`);
      const body = new StreamReader(res.body);
      const writer = noise(f);
      // Heartbeats keep coming while every change is dropped.
      await body.until((t) => t.split('\n').length > 4);
      const n = await writer.stop();
      assert.equal(body.text.trim(), '');
      await put(f, 'wanted');
      const lines = jsonLines(await body.rest());
      assert.deepEqual(lines.map((l) => l.id ?? 'end'), ['wanted', 'end']);
      assert.deepEqual(lines[1], { last_seq: n + 2, pending: 0 });
    }));

  test('timeout without heartbeat ends a silent feed with the advanced last_seq (what CouchDB\'s replicator checkpoints)', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const res = await f.stream(`/db/_changes?feed=continuous&since=now&timeout=300&${NEVER}`);
      const writer = noise(f);
      const text = await new StreamReader(res.body).rest();
      await writer.stop();
      const lines = jsonLines(text);
      assert.equal(lines.length, 1);
      assert.deepEqual(Object.keys(lines[0]!), ['last_seq', 'pending']);
      assert.ok(Number(lines[0]!.last_seq) > 1);
    }));

  test('heartbeat_seq=true: a heartbeat after dropped changes is a progress row; an idle one stays blank', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const res = await f.stream(`/db/_changes?feed=continuous&since=now&heartbeat=20&heartbeat_seq=true&limit=1&filter=_doc_ids&doc_ids=${encodeURIComponent('["wanted"]')}`);
      const body = new StreamReader(res.body);
      await body.until((t) => t.startsWith('\n\n'));
      await put(f, 'noise');
      await body.until((t) => t.includes('}\n'));
      const progress = jsonLines(body.text);
      assert.deepEqual(progress, [{ seq: 2, id: null, changes: [] }]);
      // Nothing moved since: the next heartbeats are blank again.
      const before = body.text.length;
      await body.until((t) => t.length > before + 1);
      assert.equal(body.text.slice(before).trim(), '');
      await put(f, 'wanted');
      const lines = jsonLines(await body.rest());
      assert.deepEqual(lines.map((l) => l.id === null ? 'progress' : l.id ?? 'end'), ['progress', 'wanted', 'end']);
      assert.deepEqual(lines[2], { last_seq: 3, pending: 0 });
    }));

  test('heartbeat_seq=<ms> reports progress under load on its own clock, without a heartbeat', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const ac = new AbortController();
      const res = await f.stream(`/db/_changes?feed=continuous&since=now&timeout=60000&heartbeat_seq=30&${NEVER}`, { signal: ac.signal });
      const body = new StreamReader(res.body);
      const writer = noise(f);
      // Three progress rows (after the blank line a feed starts with when it first waits).
      await body.until((t) => t.split('\n').filter((l) => l.length > 0).length > 3);
      await writer.stop();
      ac.abort();
      const lines = jsonLines(body.lines().join('\n'));
      assert.ok(lines.length >= 3);
      const seqs = lines.map((l) => {
        assert.deepEqual(Object.keys(l), ['seq', 'id', 'changes']);
        return Number(l.seq);
      });
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `progress went ${seqs[i - 1]} -> ${seqs[i]}`);
    }));

  test('a long silent catch-up scan sends progress between pages', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (let i = 0; i < 6; i++) await bulk(f, `p${i}-`, 1000);
      const ac = new AbortController();
      // heartbeat_seq=1: due after every page that the filter kept silent.
      const res = await f.stream(`/db/_changes?feed=continuous&since=0&heartbeat=60000&heartbeat_seq=1&${NEVER}`, { signal: ac.signal });
      const body = new StreamReader(res.body);
      await body.until((t) => t.includes('"seq":6000'));
      ac.abort();
      const seqs = jsonLines(body.lines().join('\n')).map((l) => Number(l.seq));
      assert.ok(seqs.length >= 2, `expected progress before the end of the scan, got ${JSON.stringify(seqs)}`);
      assert.ok(seqs[0]! < 6000);
    }));

  test('heartbeat_seq rejects bad values with a 400', () =>
    withCouch(async (f) => {
      await createDb(f);
      for (const bad of ['0', '-5', 'soon']) {
        const r = await f.req(`/db/_changes?feed=continuous&heartbeat_seq=${bad}`);
        assert.equal(r.status, 400, bad);
        assert.equal(obj(r.json).error, 'bad_request');
      }
    }));
});

describe('filtered feed=eventsource', { timeout: 20_000 }, () => {
  test('heartbeats carry id: once the scan moved, and only then', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'first');
      const ac = new AbortController();
      const res = await f.stream(`/db/_changes?feed=eventsource&since=now&heartbeat=20&${NEVER}`, { signal: ac.signal });
      const body = new StreamReader(res.body);
      // A blank line when the feed first waits (chttpd_db waiting_for_updates), then heartbeats.
      await body.until((t) => t.startsWith('\nevent: heartbeat\ndata: \n\n'));
      const writer = noise(f);
      await body.until((t) => /id: \d+/.test(t));
      await writer.stop();
      ac.abort();
      const events = body.text.slice(1).split('\n\n').filter((e) => e.length > 0);
      for (const e of events) assert.match(e, /^event: heartbeat\n(id: \d+\n)?data: $/);
      assert.equal(body.text.includes('data: {'), false);
    }));
});

describe('PouchDB over a filtered feed', () => {
  test('a one-shot filtered pull checkpoints the scanned-through last_seq', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, 'wanted');
      await bulk(f, 'n', 30);
      const src = new PouchDB(`${f.base}/db`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
      const dst = new PouchDB(`progress-${process.pid}`, { adapter: 'memory' });
      try {
        const first = (await dst.replicate.from(src, { doc_ids: ['wanted'] })) as unknown as { docs_written: number };
        assert.equal(first.docs_written, 1);
        await bulk(f, 'm', 30);
        // Nothing passes now: PouchDB writes the reply's last_seq as its checkpoint.
        const second = (await dst.replicate.from(src, { doc_ids: ['wanted'] })) as unknown as { docs_written: number; last_seq: unknown };
        assert.equal(second.docs_written, 0);
        assert.equal(second.last_seq, await updateSeq(f));
      } finally {
        await dst.destroy();
      }
    }));
});
