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

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
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

      // The disk is full until the fault is cleared.
      f.engine.store.writer.failNextCommits(1_000_000);
      // A plain write is acknowledged from memory (issue #16): the flusher keeps it through the
      // failed commits and retries it, so it is readable and, once the disk has room, stored.
      assert.equal((await kvSet(kv, vb, 'k1', 'v2')).status, Status.Success);
      await until(async () => (await kvStats(kv)).get('ep_storage_state') === 'failing');
      // While the disk fails, writes wait for it and fail with it.
      const failed = await kvSet(kv, vb, 'k1', 'v3');
      assert.equal(failed.status, Status.Etmpfail, 'KV SET on a full disk is a temporary failure');
      const context = JSON.parse(Buffer.from(failed.value).toString()) as { error: { context: string } };
      assert.match(context.error.context, /no space left on device/);
      const put = await f.req(`/${db}/doc2`, { method: 'PUT', json: { n: 2 } });
      assert.equal(put.status, 507, put.text);
      assert.equal(obj(put.json).error, 'insufficient_storage');
      assert.match(String(obj(put.json).reason), /no space left on device/);

      // Reads see the kept write, never the refused ones.
      assert.equal(await kvGet(kv, vb, 'k1'), 'v2');
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
      assert.ok(Number(failing.get('ep_storage_write_failures')) >= 2);
      assert.equal(failing.get('ep_storage_last_error'), 'ENOSPC');
      const node = await nodeStorage(f);
      assert.deepEqual([node.state, node.recoveries, node.last_error], ['failing', 0, 'ENOSPC']);
      assert.ok(!dcp.items(vb).some((e) => e.type === 'mutation' && e.value.toString() === 'v3'), 'DCP never sees a refused write');

      // Space is back: the kept write reaches the disk, the same connections write again, no restart.
      f.engine.store.writer.failNextCommits(0);
      await until(async () => (await kvStats(kv)).get('ep_storage_state') === 'healthy');
      assert.ok(bucket.vbucketInfo(vb).persistedSeqno >= bucket.getMeta('k1').seqno, 'the kept write is on disk');
      assert.equal((await kvSet(kv, vb, 'k1', 'v4')).status, Status.Success);
      assert.equal(await kvGet(kv, vb, 'k1'), 'v4');
      assert.equal((await f.req(`/${db}/doc2`, { method: 'PUT', json: { n: 2 } })).status, 201);
      await dcp.waitFor('k1 v4 over DCP', () => dcp.items(vb).some((e) => e.type === 'mutation' && e.value.toString() === 'v4'));
      const healthy = await kvStats(kv);
      assert.equal(healthy.get('ep_storage_state'), 'healthy');
      assert.equal(healthy.get('ep_storage_recoveries'), '1');
      assert.ok(Number(healthy.get('ep_storage_kept_retries')) >= 1, 'the kept write was retried');
      assert.equal(healthy.get('ep_storage_kept_abandoned'), '0');
      assert.equal((await nodeStorage(f)).state, 'healthy');
    } finally {
      kv.close();
      other.close();
      await dcp.close();
    }
  }),
);

test('a failed commit fails the writes that wait for the disk and keeps the ones acknowledged from memory', { timeout: 30_000 }, () =>
  withCouch(async (f) => {
    const bucket = f.engine.requireBucket('default');
    await bucket.set('a', 'stored', { durability: 'persistToMajority' });
    f.engine.store.writer.failNextCommits(1);
    // All in the same (failing) transaction: the SyncWrites fail and are rolled back, the plain write is kept.
    const results = await Promise.allSettled([
      bucket.set('a', 'lost-1', { durability: 'persistToMajority' }),
      bucket.set('fresh', 'lost', { durability: 'persistToMajority' }),
      bucket.set('kept', 'plain'),
    ]);
    for (const r of results.slice(0, 2)) {
      assert.equal(r.status, 'rejected');
      assert.equal((r.reason as { code?: string }).code, 'ENGINE_ENOSPC');
    }
    assert.equal(results[2]!.status, 'fulfilled');
    assert.equal(bucket.get('a').value.toString(), 'stored');
    assert.throws(() => bucket.get('fresh'), /key not found/);
    assert.equal(bucket.get('kept').value.toString(), 'plain');
    // The kept write is retried once the disk has room (the fault was for one commit).
    await bucket.quiesce();
    const kept = bucket.getMeta('kept');
    assert.ok(bucket.vbucketInfo(bucket.vbucketOf('kept')).persistedSeqno >= kept.seqno);
    const after = await bucket.set('a', 'next');
    assert.equal(bucket.get('a').value.toString(), 'next');
    assert.ok(after.token.seqno > 0);
  }),
);
