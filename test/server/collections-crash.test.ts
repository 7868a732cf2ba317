/**
 * Collections across kill -9: a real `freshet serve` process gets a scope and a collection over
 * the REST API and documents in it over KV, is killed with SIGKILL, and restarts on the same data
 * directory. The manifest, the documents and each vbucket's per-collection high seqno
 * (GET_ALL_VB_SEQNOS with the collection id) are what they were. The documents are written with
 * durability persistToMajority: a plain write is acknowledged from memory, and one the flusher had
 * not yet written when the process was killed is lost (Couchbase's contract, issue #16).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CrashableServer } from '../consumer/fixtures/server-process.js';
import { KvConnection } from '../../src/client/connection.js';
import { expectSuccess } from '../../src/client/conn-errors.js';
import {
  DurabilityLevel,
  Feature,
  decodeAllVbSeqnosResponse,
  durabilityFrame,
  encodeFrameInfos,
  encodeAllVbSeqnosRequest,
  encodeGetRequest,
  encodeStoreRequest,
  joinCollectionKey,
} from '../../src/codec/index.js';
import { vbucketOf } from '../../src/engine/vbucket-hash.js';

const VBS = 16;
const AUTH = { Authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` };

async function rest(port: number, path: string, form?: Record<string, string>): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: form ? 'POST' : 'GET',
    headers: { ...AUTH, ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

async function kv(port: number): Promise<KvConnection> {
  const conn = await KvConnection.connect({ port });
  await conn.hello('collections-crash', [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Collections, Feature.AltRequestSupport, Feature.SyncReplication]);
  await conn.saslPlain('Administrator', 'password');
  await conn.selectBucket('default');
  return conn;
}

async function collectionHighs(conn: KvConnection, cid: number): Promise<number[]> {
  const res = expectSuccess(await conn.request(encodeAllVbSeqnosRequest({ collectionId: cid })));
  const highs = new Array<number>(VBS).fill(0);
  for (const e of decodeAllVbSeqnosResponse(res)) highs[e.vbucket] = e.seqno;
  return highs;
}

describe('server > collections survive kill -9', () => {
  test('manifest, documents and per-collection seqnos are the same after an unclean restart', async (t) => {
    const server = await CrashableServer.start(t, 'freshet-coll-crash-', VBS);
    const { kvPort, mgmtPort } = server;
    await rest(mgmtPort, '/pools/default/buckets/default/scopes', { name: 'inventory' });
    await rest(mgmtPort, '/pools/default/buckets/default/scopes/inventory/collections', { name: 'airport', maxTTL: '3600' });
    const manifest = (await rest(mgmtPort, '/pools/default/buckets/default/scopes')) as { uid: string; scopes: Array<{ name: string; collections: Array<{ name: string; uid: string }> }> };
    const cid = parseInt(manifest.scopes.find((s) => s.name === 'inventory')!.collections[0]!.uid, 16);

    let conn = await kv(kvPort);
    const durable = encodeFrameInfos([durabilityFrame({ level: DurabilityLevel.PersistToMajority })]);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const key = `airport-${i}`;
      const store = { key: joinCollectionKey(cid, key), value: JSON.stringify({ i }), datatype: 1, vbucket: vbucketOf(key, VBS) };
      writes.push(conn.request(encodeStoreRequest(store, { framingExtras: durable })).then(expectSuccess));
    }
    await Promise.all(writes);
    const before = await collectionHighs(conn, cid);
    assert.ok(before.every((s) => s > 0), 'every vbucket has the collection (its create event at least)');
    await conn.close();

    await server.kill();
    await server.restart();

    assert.deepEqual(await rest(mgmtPort, '/pools/default/buckets/default/scopes'), manifest);
    conn = await kv(kvPort);
    t.after(() => conn.close());
    assert.deepEqual(await collectionHighs(conn, cid), before);
    for (const i of [0, 150, 299]) {
      const key = `airport-${i}`;
      const got = expectSuccess(await conn.request(encodeGetRequest({ key: joinCollectionKey(cid, key), vbucket: vbucketOf(key, VBS) })));
      assert.deepEqual(JSON.parse(got.value.toString()), { i });
    }
  });
});
