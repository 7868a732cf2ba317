/**
 * A full disk is answered, not fatal (through the group committer's fault seam, no root needed):
 * the failing writes get KV TMPFAIL with the XERROR context and HTTP 507; reads, `_changes`, DCP
 * and another bucket keep working; the stats show the state; writes succeed again once the fault
 * clears, without a restart. test/server/full-disk.test.ts does the same on a real full tmpfs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { Status } from '../../src/codec/status.js';
import { openBucket, type RawKv } from '../kv/raw-client.js';
import { createDb, obj, withCouch, type CouchFixture } from '../http/helpers.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';

async function kvSet(kv: RawKv, vb: number, key: string, value: string): Promise<c.Packet> {
  return kv.request(c.encodeStoreRequest({ key: Buffer.from(key), value: Buffer.from(value), vbucket: vb }));
}

async function kvGet(kv: RawKv, vb: number, key: string): Promise<string> {
  const res = await kv.request(c.encodeGetRequest({ key: Buffer.from(key), vbucket: vb }));
  assert.equal(res.status, Status.Success, `GET ${key}`);
  return Buffer.from(c.decodeGetResponse(res).value).toString();
}

async function kvStats(kv: RawKv): Promise<Map<string, string>> {
  kv.send(c.encodeStatRequest({ group: '' }, { opaque: kv.opaque() }));
  const packets = await kv.collect((p) => p.status !== Status.Success || c.isStatTerminator(p));
  const out = new Map<string, string>();
  for (const p of packets.slice(0, -1)) {
    const e = c.decodeStatResponse(p);
    if (e) out.set(e.name, e.value);
  }
  return out;
}

async function nodeStorage(f: CouchFixture): Promise<Record<string, unknown>> {
  const r = await f.req('/_node/_local/_stats');
  assert.equal(r.status, 200, r.text);
  return obj(obj(obj(r.json).freshet).storage);
}

test('a full disk fails only the writes it hits; everything else keeps serving and writes recover', { timeout: 60_000 }, () =>
  withCouch(async (f) => {
    const db = await createDb(f, 'db');
    const bucket = f.engine.requireBucket(db);
    const port = f.server.server.ports.kv;
    const kv = await openBucket(port, { bucket: db });
    const other = await openBucket(port, { bucket: 'default' });
    const dcp = await DcpTestConsumer.open(f.server, { bucket: db });
    try {
      const vb = bucket.vbucketOf('k1');
      const otherVb = f.engine.requireBucket('default').vbucketOf('o1');
      assert.equal((await kvSet(kv, vb, 'k1', 'v1')).status, Status.Success);
      assert.equal((await kvSet(other, otherVb, 'o1', 'other')).status, Status.Success);
      assert.equal((await f.req(`/${db}/doc1`, { method: 'PUT', json: { n: 1 } })).status, 201);
      await dcp.streamFromZero(vb);
      await dcp.waitFor('k1 v1 over DCP', () => dcp.items(vb).some((e) => e.key.toString() === 'k1'));
      const before = await kvStats(kv);
      assert.equal(before.get('ep_storage_state'), 'healthy');
      assert.equal(before.get('ep_storage_write_failures'), '0');

      // The disk is full for the next two commits.
      f.engine.store.writer.failNextCommits(2);
      const failed = await kvSet(kv, vb, 'k1', 'v2');
      assert.equal(failed.status, Status.Etmpfail, 'KV SET on a full disk is a temporary failure');
      const context = JSON.parse(Buffer.from(failed.value).toString()) as { error: { context: string } };
      assert.match(context.error.context, /no space left on device/);
      const put = await f.req(`/${db}/doc2`, { method: 'PUT', json: { n: 2 } });
      assert.equal(put.status, 507, put.text);
      assert.equal(obj(put.json).error, 'insufficient_storage');
      assert.match(String(obj(put.json).reason), /no space left on device/);

      // Reads see the last stored value, never the one that was refused.
      assert.equal(await kvGet(kv, vb, 'k1'), 'v1');
      const doc1 = await f.req(`/${db}/doc1`);
      assert.equal(doc1.status, 200);
      assert.equal(obj(doc1.json).n, 1);
      assert.equal((await f.req(`/${db}/doc2`)).status, 404, 'the refused document does not exist');
      const changes = await f.req(`/${db}/_changes`);
      assert.equal(changes.status, 200);
      const ids = (obj(changes.json).results as Array<{ id: string }>).map((r) => r.id).sort();
      // k1 holds raw bytes, which `_changes` leaves out (README: non-object KV values over HTTP).
      assert.deepEqual(ids, ['doc1']);
      assert.equal(await kvGet(other, otherVb, 'o1'), 'other', 'another bucket still serves reads');
      const failing = await kvStats(kv);
      assert.equal(failing.get('ep_storage_state'), 'failing');
      assert.equal(failing.get('ep_storage_write_failures'), '2');
      assert.equal(failing.get('ep_storage_last_error'), 'ENOSPC');
      assert.deepEqual(await nodeStorage(f), { state: 'failing', write_failures: 2, recoveries: 0, last_error: 'ENOSPC' });
      assert.ok(!dcp.items(vb).some((e) => e.type === 'mutation' && e.value.toString() === 'v2'), 'DCP never sees a refused write');

      // Space is back: the same connections write again, no restart.
      assert.equal((await kvSet(kv, vb, 'k1', 'v3')).status, Status.Success);
      assert.equal(await kvGet(kv, vb, 'k1'), 'v3');
      assert.equal((await f.req(`/${db}/doc2`, { method: 'PUT', json: { n: 2 } })).status, 201);
      await dcp.waitFor('k1 v3 over DCP', () => dcp.items(vb).some((e) => e.type === 'mutation' && e.value.toString() === 'v3'));
      const healthy = await kvStats(kv);
      assert.equal(healthy.get('ep_storage_state'), 'healthy');
      assert.equal(healthy.get('ep_storage_write_failures'), '2');
      assert.equal(healthy.get('ep_storage_recoveries'), '1');
      assert.equal((await nodeStorage(f)).state, 'healthy');
    } finally {
      kv.close();
      other.close();
      await dcp.close();
    }
  }),
);

test('a failed commit rolls back only its own writes: a key written twice returns to its stored version', { timeout: 30_000 }, () =>
  withCouch(async (f) => {
    const bucket = f.engine.requireBucket('default');
    await bucket.set('a', 'stored');
    f.engine.store.writer.failNextCommits(1);
    // Both versions go into the same (failing) transaction; the key must come back to 'stored'.
    const results = await Promise.allSettled([bucket.set('a', 'lost-1'), bucket.set('a', 'lost-2'), bucket.set('fresh', 'lost')]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r.reason as { code?: string }).code, 'ENGINE_ENOSPC');
    }
    assert.equal(bucket.get('a').value.toString(), 'stored');
    assert.throws(() => bucket.get('fresh'), /key not found/);
    const after = await bucket.set('a', 'next');
    assert.equal(bucket.get('a').value.toString(), 'next');
    assert.ok(after.token.seqno > 0);
  }),
);
