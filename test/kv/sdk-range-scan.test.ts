/**
 * The official `couchbase` SDK's `collection.scan()` (Couchbase 7.6 KV range scans) against
 * Freshet: the SDK finds `rangeScan` in the bucket capabilities, then creates, continues and
 * completes a scan on every vbucket (an empty one answers KeyEnoent, which it skips).
 *
 * The SDK starts a scan with a synchronous native call that waits for the server's answers, so it
 * runs in a child process (test/fixtures/sdk-scan-client.mjs) against the in-process server.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { SDK_TEST_TIMEOUT, connectSdk } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };
const CLIENT = new URL('../fixtures/sdk-scan-client.mjs', import.meta.url).pathname;

interface Row {
  id: string;
  content?: unknown;
  cas?: string | null;
}

/** Runs the scans in the client process; each result is its rows or `{error}`. */
async function scans(t: TestServer, plan: object[]): Promise<Array<Row[] | { error: string }>> {
  const child = spawn(process.execPath, [CLIENT, String(t.server.ports.kv), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, 'the scan client exited cleanly');
  return JSON.parse(out) as Array<Row[] | { error: string }>;
}

const ids = (r: Row[] | { error: string }): string[] => {
  assert.ok(Array.isArray(r), JSON.stringify(r));
  return r.map((row) => row.id).sort();
};

describe('SDK range scans', () => {
  test('range, exclusive bounds, prefix and sampling scans over the default collection', opts, async () => {
    const t = await startTestServer();
    try {
      const cluster = await connectSdk(t.server.ports.kv);
      try {
        const coll = cluster.bucket('default').defaultCollection();
        for (let i = 0; i < 40; i++) await coll.upsert(`k${String(i).padStart(2, '0')}`, { i });
        await coll.upsert('other', 'x');
        await coll.remove('k07');
      } finally {
        await cluster.close();
      }
      const [range, exclusive, prefix, all, docs, sample] = await scans(t, [
        { type: 'range', from: 'k05', to: 'k09', idsOnly: true },
        { type: 'range', from: 'k05', exclFrom: true, to: 'k09', exclTo: true, idsOnly: true },
        { type: 'prefix', prefix: 'k3', idsOnly: true },
        { type: 'range', idsOnly: true, batchItemLimit: 2 },
        { type: 'prefix', prefix: 'k1' },
        { type: 'sampling', limit: 5, seed: 7, idsOnly: true },
      ]);
      assert.deepEqual(ids(range!), ['k05', 'k06', 'k08', 'k09']);
      assert.deepEqual(ids(exclusive!), ['k06', 'k08']);
      assert.deepEqual(ids(prefix!), Array.from({ length: 10 }, (_, i) => `k3${i}`));
      assert.equal(ids(all!).length, 40);
      assert.ok(Array.isArray(docs));
      assert.equal(docs.length, 10);
      for (const d of docs) {
        assert.deepEqual(d.content, { i: Number(d.id.slice(1)) });
        assert.equal(d.cas, t.server.engine.requireBucket('default').get(d.id).cas.toString());
      }
      assert.equal(new Set(ids(sample!)).size, 5);
    } finally {
      await t.close();
    }
  });

  test('a scan of a named collection returns its documents only', opts, async () => {
    const t = await startTestServer();
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('inventory');
      await bucket.createCollection('inventory', 'airport');
      const airport = bucket.collectionByName('inventory', 'airport');
      await airport.set('SFO', JSON.stringify({ city: 'San Francisco' }));
      await airport.set('OAK', JSON.stringify({ city: 'Oakland' }));
      await bucket.set('SFO', JSON.stringify('not an airport'));
      const [all] = await scans(t, [{ scope: 'inventory', collection: 'airport', type: 'range' }]);
      assert.ok(Array.isArray(all));
      assert.deepEqual(all.map((r) => [r.id, r.content]).sort(), [['OAK', { city: 'Oakland' }], ['SFO', { city: 'San Francisco' }]]);
    } finally {
      await t.close();
    }
  });
});
