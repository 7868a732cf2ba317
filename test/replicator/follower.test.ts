/**
 * The changes follower against real feeds: paging, longpoll and continuous live modes, close() and
 * AbortSignal, durable checkpoints, reconnecting through an outage, and filters (server-side on
 * Freshet, client-side fallback on pouchdb-server, which lacks `_selector`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { startProxy } from './helpers/proxy.js';
import { db, ok, seedPlain } from './helpers/data.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ChangesFollower, followChanges } from '../../src/replicator/follower.js';
import { FileSeqStore, LocalDocSeqStore } from '../../src/replicator/seq-store.js';
import { DbClient } from '../../src/replicator/http-client.js';
import type { ChangeRow } from '../../src/replicator/changes-parse.js';

let p: PouchServer;
let f: TestServer;
before(async () => {
  [p, f] = await Promise.all([startPouchServer(), startTestServer()]);
});
after(async () => {
  await Promise.all([p?.stop(), f?.close()]);
});

async function take(follower: ChangesFollower, n: number): Promise<ChangeRow[]> {
  const rows: ChangeRow[] = [];
  for await (const row of follower) {
    rows.push(row);
    if (rows.length === n) break;
  }
  return rows;
}

describe('changes follower', () => {
  test('normal feed: pages of batchSize, then the iteration ends', async () => {
    const src = db(await p.createDb('fol-normal'));
    await seedPlain(src, 250);
    const follower = followChanges(src.url, { feed: 'normal', batchSize: 100 });
    const sizes: number[] = [];
    for await (const batch of follower.batches()) sizes.push(batch.results.length);
    assert.deepEqual(sizes, [100, 100, 50]);
    assert.equal(follower.since, 250);
    await follower.close();
  });

  for (const feed of ['longpoll', 'continuous'] as const) {
    test(`${feed}: changes made while following arrive; close() ends the iteration`, async () => {
      const src = db(await p.createDb(`fol-${feed}`));
      await seedPlain(src, 10);
      const follower = followChanges(src.url, { feed, heartbeatMs: 300, since: 0 });
      const rows = take(follower, 15);
      await new Promise((r) => setTimeout(r, 400));
      await seedPlain(src, 5, { start: 100 });
      const got = await rows;
      assert.deepEqual(got.slice(10).map((r) => r.id), ['doc-000100', 'doc-000101', 'doc-000102', 'doc-000103', 'doc-000104']);
      // A second iteration after close() ends at once, with no error.
      await follower.close();
      const after: ChangeRow[] = [];
      for await (const row of follower) after.push(row);
      assert.deepEqual(after, []);
    });
  }

  test('an AbortSignal stops a waiting live feed', async () => {
    const src = db(await p.createDb('fol-abort'));
    const ctl = new AbortController();
    const follower = followChanges(src.url, { feed: 'continuous', heartbeatMs: 200, signal: ctl.signal });
    const rows: ChangeRow[] = [];
    const loop = (async () => {
      for await (const row of follower) rows.push(row);
    })();
    setTimeout(() => ctl.abort(), 300);
    await loop;
    assert.deepEqual(rows, []);
  });

  test('durable checkpoints: a new follower resumes where the last one stopped (file and _local stores)', async () => {
    // Batch consumers: a batch is done once the next one is asked for.
    {
      const src0 = db(await p.createDb('fol-durable-batches'));
      await seedPlain(src0, 30);
      const dir0 = mkdtempSync(join(tmpdir(), 'freshet-follower-'));
      const store = new FileSeqStore(join(dir0, 'seq.json'));
      const one = followChanges(src0.url, { feed: 'normal', batchSize: 10, checkpoint: { store, everyMs: 0 } });
      for await (const batch of one.batches()) if (batch.results[0]!.id === 'doc-000010') break;
      assert.equal(await store.load(), 10, 'the batch being handled when the consumer stopped is not recorded');
      rmSync(dir0, { recursive: true, force: true });
    }
    const src = db(await p.createDb('fol-durable'));
    await seedPlain(src, 60);
    const dir = mkdtempSync(join(tmpdir(), 'freshet-follower-'));
    try {
      const client = new DbClient(src.url);
      const stores = [new FileSeqStore(join(dir, 'seq.json')), new LocalDocSeqStore(client, 'follower-x')];
      for (const store of stores) {
        const first = followChanges(src.url, { feed: 'normal', batchSize: 20, checkpoint: { store, everyMs: 0 } });
        const seen = await take(first, 20);
        assert.equal(seen.at(-1)!.id, 'doc-000019');
        await first.close();
        const second = followChanges(src.url, { feed: 'normal', batchSize: 20, checkpoint: { store } });
        const rest: ChangeRow[] = [];
        for await (const row of second) rest.push(row);
        // At least once: the row the consumer stopped on may not be processed, so it comes again.
        assert.equal(rest[0]!.id, 'doc-000019', `${store.constructor.name} resumes at the last row handed out`);
        assert.equal(rest.length, 41);
        assert.equal(await store.load(), 60);
      }
      await client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('reconnects with backoff after the connection drops, from the last seq', async () => {
    const src = db(await p.createDb('fol-reconnect'));
    await seedPlain(src, 5);
    const proxy = await startProxy(p.port);
    try {
      const reconnects: number[] = [];
      const follower = followChanges(proxy.url('/fol-reconnect'), {
        feed: 'continuous', heartbeatMs: 300,
        backoff: { initialMs: 50, maxMs: 200, retries: Infinity, jitter: 0 },
        onReconnect: (_err, attempt) => reconnects.push(attempt),
      });
      const rows = take(follower, 8);
      await new Promise((r) => setTimeout(r, 300));
      proxy.down();
      await seedPlain(src, 3, { start: 50 });
      await new Promise((r) => setTimeout(r, 300));
      proxy.up();
      const got = await rows;
      assert.deepEqual(got.slice(5).map((r) => r.id), ['doc-000050', 'doc-000051', 'doc-000052']);
      assert.ok(reconnects.length >= 1);
      await follower.close();
    } finally {
      await proxy.close();
    }
  });

  test('a missing database is a typed error, not a retry loop', async () => {
    const follower = followChanges(`${p.base}/no-such-db`, { feed: 'longpoll' });
    await assert.rejects(take(follower, 1), { code: 'REPLICATOR_HTTP', message: /404/ });
  });

  test('filters: doc_ids and selector, on the server (Freshet) or on the client (pouchdb-server)', async () => {
    const freshetUrl = `http://Administrator:password@127.0.0.1:${f.server.ports.http}/fol-filters`;
    await ok(db(freshetUrl), 'PUT', '');
    const pouchUrl = await p.createDb('fol-filters');
    for (const url of [freshetUrl, pouchUrl]) {
      await seedPlain(db(url), 30);
      const ids = followChanges(url, { feed: 'normal', filter: { docIds: ['doc-000004', 'doc-000021'] } });
      assert.deepEqual((await take(ids, 99)).map((r) => r.id).sort(), ['doc-000004', 'doc-000021'], url);
      const sel = followChanges(url, { feed: 'normal', batchSize: 7, filter: { selector: { n: { $gte: 25 } } } });
      const rows = await take(sel, 99);
      assert.deepEqual(rows.map((r) => r.id).sort(), ['doc-000025', 'doc-000026', 'doc-000027', 'doc-000028', 'doc-000029'], url);
      assert.equal(rows[0]!.doc, undefined, 'bodies fetched for client-side filtering are not handed out');
    }
  });
});
