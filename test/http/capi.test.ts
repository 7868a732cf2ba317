/**
 * Freshet as an XDCR target in CAPI mode (src/http/capi-*.ts): the request sequence goxdcr's CAPI
 * nozzle and CAPI service send (parts/capi_nozzle.go, service_impl/capi_service.go), replayed
 * against a real server over real sockets. Discovery through `/pools/default/buckets/NAME`
 * (`couchApiBase` + "%2f" + vb), `_pre_replicate`, `_revs_diff`, `_bulk_docs` written in parts
 * over raw TCP with a fixed Content-Length as goxdcr does (and its reply read from the first 300
 * bytes), `_commit_for_checkpoint`, and a vbopaque mismatch after a simulated failover. The
 * replicated versions are checked over KV GET_META, DCP and `_changes`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { KvConnection } from '../../src/client/connection.js';
import { decodeGetMetaResponse, encodeGetMetaRequest, Status } from '../../src/codec/index.js';
import { openChangeStream, type ChangeEvent } from '../../src/consumer/index.js';
import { formatXdcrRev } from '../../src/xdcr/rev.js';

const AUTH = 'Basic ' + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64');

interface Json {
  status: number;
  body: unknown;
}

async function post(url: string, body: unknown, auth: string | null = AUTH): Promise<Json> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
}

async function get(url: string, auth: string | null = AUTH): Promise<Json> {
  const res = await request(url, { headers: auth === null ? {} : { authorization: auth } });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
}

interface Target {
  server: TestServer;
  /** http://127.0.0.1:PORT (the couchApiBase host) */
  host: string;
  /** couchApiBase as /pools advertises it */
  couchApiBase: string;
  uuid: string;
}

async function withTarget(fn: (t: Target) => Promise<void>): Promise<void> {
  const server = await startTestServer();
  try {
    const { mgmt } = server.server.ports;
    const bucket = await get(`http://127.0.0.1:${mgmt}/pools/default/buckets/default`);
    assert.equal(bucket.status, 200);
    const doc = bucket.body as { uuid: string; bucketCapabilities: string[]; nodes: { couchApiBase: string }[] };
    assert.ok(doc.bucketCapabilities.includes('couchapi'), 'couchapi is advertised');
    assert.ok(doc.bucketCapabilities.includes('xdcrCheckpointing'), 'xdcrCheckpointing is advertised');
    const couchApiBase = doc.nodes[0]!.couchApiBase;
    const u = new URL(couchApiBase);
    // goxdcr keeps only the host for the checkpoint calls (remote_cluster_service MemcachedAddrRestAddrMap).
    await fn({ server, host: `${u.protocol}//${u.host}`, couchApiBase, uuid: doc.uuid });
  } finally {
    await server.close();
  }
}

/** Write `_bulk_docs` as capi_nozzle.go batchUpdateDocs does: head, then prefix, docs, suffix as separate writes; read 300 bytes. */
function goxdcrBulkDocs(vbBase: string, docs: readonly unknown[]): Promise<{ status: number; head: string; raw: string }> {
  const u = new URL(vbBase);
  const parts = ['{"new_edits":false,"docs":[', docs.map((d) => JSON.stringify(d)).join(','), ']}'];
  const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
  const head =
    `POST ${u.pathname}/_bulk_docs HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${length}\r\nX-Couch-Full-Commit: false\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('connect', () => {
      sock.write(head);
      for (const p of parts) sock.write(p);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && len && buf.length >= end + 4 + Number(len[1])) {
        sock.destroy();
        resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, end + 4), raw: text });
      }
    });
  });
}

function docFor(id: string, meta: { revSeqno: number; cas: bigint; expiry: number; flags: number }, body: string | null, deleted = false): unknown {
  return {
    meta: { id, rev: formatXdcrRev(meta), expiration: meta.expiry, flags: meta.flags, deleted },
    base64: Buffer.from(body ?? '').toString('base64'),
  };
}

async function kvGetMeta(t: Target, key: string, vb: number): Promise<{ status: number; meta?: ReturnType<typeof decodeGetMetaResponse> }> {
  const conn = await KvConnection.connect({ host: '127.0.0.1', port: t.server.server.ports.kv });
  try {
    await conn.saslPlain(ADMIN.username, ADMIN.password);
    await conn.selectBucket('default');
    const res = await conn.request(encodeGetMetaRequest({ key, vbucket: vb }));
    return res.status === Status.Success ? { status: res.status, meta: decodeGetMetaResponse(res) } : { status: res.status };
  } finally {
    await conn.close();
  }
}

test('goxdcr CAPI sequence: pre_replicate, revs_diff, bulk_docs (streamed), commit_for_checkpoint; items keep their metadata', async () => {
  await withTarget(async (t) => {
    const bucket = t.server.server.engine.bucket('default')!;
    assert.equal(t.couchApiBase, `${t.host}/default%2B${t.uuid}`);
    const id = 'airline_10';
    const vb = bucket.vbucketOf(id);
    const vbBase = `${t.couchApiBase}%2f${vb}`;
    const info = await get(vbBase);
    assert.equal(info.status, 200);
    assert.equal((info.body as { db_name: string }).db_name, `default+${t.uuid}/${vb}`);

    // 1. _pre_replicate without a commitopaque (a fresh replication): 200 and the vbuuid.
    const pre = await post(`${t.host}/_pre_replicate`, { bucket: 'default', bucketUUID: t.uuid, vb });
    assert.equal(pre.status, 200);
    const vbuuid = (pre.body as { vbopaque: number }).vbopaque;
    assert.equal(vbuuid, bucket.vbucketInfo(vb).uuid);

    // 2. _revs_diff with XDCR's single-string revisions: an unknown id is missing.
    const meta = { revSeqno: 7, cas: 0x17a2b3c4d5e6f708n, expiry: 0, flags: 0x02000006 };
    const rev = formatXdcrRev(meta);
    const diff = await post(`${vbBase}/_revs_diff`, { [id]: rev });
    assert.equal(diff.status, 200);
    assert.deepEqual(diff.body, { [id]: { missing: rev } });

    // 3. _bulk_docs, the way goxdcr streams it.
    const expiring = { revSeqno: 3, cas: 0x17a2b3c4d5e6f800n, expiry: Math.floor(Date.now() / 1000) + 3600, flags: 0 };
    const bulk = await goxdcrBulkDocs(vbBase, [
      docFor(id, meta, '{"name":"40-Mile Air"}'),
      docFor('binary_1', expiring, 'not json'),
      { meta: { id: 'old_json', rev: formatXdcrRev({ revSeqno: 2, cas: 5n, expiry: 0, flags: 0 }), expiration: 0, flags: 0 }, json: { older: 'xdcr' } },
    ]);
    assert.equal(bulk.status, 201);
    // goxdcr parses the reply from its first 300 bytes: the status line and headers must fit.
    assert.ok(bulk.head.length < 300, `reply head is ${bulk.head.length} bytes`);
    const rows = JSON.parse(bulk.raw.slice(bulk.head.length)) as { id: string; rev: string }[];
    assert.deepEqual(rows.map((r) => r.id), [id, 'binary_1', 'old_json']);
    assert.equal(rows[0]!.rev, rev);

    // The same offer again is no longer missing (a tie keeps ours); a newer one is.
    assert.deepEqual((await post(`${vbBase}/_revs_diff`, { [id]: rev })).body, {});
    const newer = formatXdcrRev({ ...meta, revSeqno: 8 });
    assert.deepEqual((await post(`${vbBase}/_revs_diff`, { [id]: newer })).body, { [id]: { missing: newer } });

    // 4. _commit_for_checkpoint with the vbopaque: the commitopaque is [vbuuid, seqno].
    const commit = await post(`${t.host}/_commit_for_checkpoint`, { bucket: 'default', bucketUUID: t.uuid, vb, vbopaque: vbuuid });
    assert.equal(commit.status, 200);
    const commitopaque = (commit.body as { commitopaque: [number, number] }).commitopaque;
    assert.deepEqual(commitopaque, [vbuuid, bucket.vbucketInfo(vb).highSeqno]);
    // The next _pre_replicate with that commitopaque matches.
    assert.equal((await post(`${t.host}/_pre_replicate`, { bucket: 'default', bucketUUID: t.uuid, vb, commitopaque })).status, 200);
    assert.equal((await post(`${vbBase}/_ensure_full_commit`, {})).status, 201);

    // The versions kept CAS, rev seqno, flags and expiry: KV GET_META.
    const got = await kvGetMeta(t, id, vb);
    assert.equal(got.status, Status.Success);
    assert.deepEqual({ ...got.meta, datatype: undefined }, { deleted: false, flags: meta.flags, expiry: 0, revSeqno: 7, cas: meta.cas, datatype: undefined });
    const bin = bucket.getMeta('binary_1');
    assert.equal(bin.cas, expiring.cas);
    assert.equal(bin.expiry, expiring.expiry);
    assert.equal(bucket.get('binary_1').value.toString(), 'not json');
    assert.deepEqual(JSON.parse(bucket.get('old_json').value.toString()), { older: 'xdcr' });

    // ... and they are on DCP with their CAS and rev seqno ...
    const stream = openChangeStream({ seeds: [`couchbase://127.0.0.1:${t.server.server.ports.kv}/default`], credentials: ADMIN, from: 'beginning', to: 'now' });
    const seen = new Map<string, ChangeEvent>();
    for await (const e of stream) if (e.type === 'mutation') seen.set(e.key.toString(), e);
    const dcp = seen.get(id);
    assert.ok(dcp !== undefined && dcp.type === 'mutation');
    assert.equal(dcp.cas, meta.cas);
    assert.equal(dcp.revSeqno, 7);
    assert.equal(dcp.flags, meta.flags);
    assert.ok(seen.has('binary_1') && seen.has('old_json'));

    // ... and the JSON ones on the CouchDB face's _changes (a binary value is no CouchDB document).
    const changes = await get(`${t.host}/default/_changes`);
    const ids = (changes.body as { results: { id: string }[] }).results.map((r) => r.id).sort();
    assert.deepEqual(ids, ['airline_10', 'old_json']);
  });
});

test('conflict resolution decides: a losing version changes nothing; a winning deletion leaves a tombstone with its meta', async () => {
  await withTarget(async (t) => {
    const bucket = t.server.server.engine.bucket('default')!;
    const id = 'edited_here';
    const vb = bucket.vbucketOf(id);
    const vbBase = `${t.couchApiBase}%2f${vb}`;
    // Edited three times here: rev seqno 3.
    await bucket.set(id, '{"v":1}');
    await bucket.set(id, '{"v":2}');
    const local = await bucket.set(id, '{"v":3}');
    assert.equal(local.item.revSeqno, 3);
    const older = { revSeqno: 2, cas: local.cas + 1000n, expiry: 0, flags: 0 };
    assert.deepEqual((await post(`${vbBase}/_revs_diff`, { [id]: formatXdcrRev(older) })).body, {});
    const res = await post(`${vbBase}/_bulk_docs`, { new_edits: false, docs: [docFor(id, older, '{"v":"remote"}')] });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, [{ id, rev: formatXdcrRev(older) }]);
    assert.equal(bucket.get(id).value.toString(), '{"v":3}');
    assert.equal(bucket.get(id).cas, local.cas);

    // A deletion with a higher rev seqno wins.
    const del = { revSeqno: 4, cas: local.cas + 5n, expiry: 0, flags: 0 };
    const res2 = await post(`${vbBase}/_bulk_docs`, { new_edits: false, docs: [docFor(id, del, null, true)] });
    assert.equal(res2.status, 201);
    const got = await kvGetMeta(t, id, vb);
    assert.equal(got.meta?.deleted, true);
    assert.equal(got.meta?.revSeqno, 4);
    assert.equal(got.meta?.cas, del.cas);
  });
});

test('a vbopaque mismatch after a failover: commit_for_checkpoint and pre_replicate answer 400 with the new vbuuid', async () => {
  await withTarget(async (t) => {
    const engine = t.server.server.engine;
    const bucket = engine.bucket('default')!;
    const vb = 5;
    const body = { bucket: 'default', bucketUUID: t.uuid, vb };
    const keys = Array.from({ length: 400 }, (_, i) => `d${i}`).filter((k) => bucket.vbucketOf(k) === vb).slice(0, 3);
    for (const k of keys) await bucket.set(k, '{}');
    const old = (await post(`${t.host}/_pre_replicate`, body)).body as { vbopaque: number };
    const commit = (await post(`${t.host}/_commit_for_checkpoint`, { ...body, vbopaque: old.vbopaque })).body as { commitopaque: [number, number] };
    assert.equal(commit.commitopaque[1], 3);

    // Failover that keeps history: a new uuid; the old commit point is still on the history.
    const after = await engine.failover('default', vb);
    assert.notEqual(after.uuid, old.vbopaque);
    const mismatch = await post(`${t.host}/_commit_for_checkpoint`, { ...body, vbopaque: old.vbopaque });
    assert.equal(mismatch.status, 400);
    assert.deepEqual(mismatch.body, { vbopaque: after.uuid });
    assert.equal((await post(`${t.host}/_pre_replicate`, { ...body, vbopaque: old.vbopaque })).status, 400);
    const still = await post(`${t.host}/_pre_replicate`, { ...body, commitopaque: commit.commitopaque });
    assert.equal(still.status, 200);
    assert.deepEqual(still.body, { vbopaque: after.uuid });

    // Failover that discards history below the commit point: the commitopaque is invalid.
    const lost = await engine.failover('default', vb, { discardAbove: 1 });
    const invalid = await post(`${t.host}/_pre_replicate`, { ...body, commitopaque: commit.commitopaque });
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body, { vbopaque: lost.uuid });

    const mass = await post(`${t.host}/_mass_vbopaque_check`, { bucket: 'default', bucketUUID: t.uuid, vbopaques: [[vb, old.vbopaque], [6, bucket.vbucketInfo(6).uuid], [9999, 1]] });
    assert.equal(mass.status, 200);
    assert.deepEqual(mass.body, { matched: [[6, bucket.vbucketInfo(6).uuid]], mismatched: [[vb, lost.uuid]], missing: [[9999, 1]] });
  });
});

test('bad input and access: CouchDB error bodies, never a crash', async () => {
  await withTarget(async (t) => {
    const bucket = t.server.server.engine.bucket('default')!;
    const vbBase = `${t.couchApiBase}%2f3`;
    const e1 = await post(`${vbBase}/_revs_diff`, { x: '1-abc' });
    assert.equal(e1.status, 400);
    assert.equal((e1.body as { error: string }).error, 'bad_request');
    const e2 = await post(`${vbBase}/_bulk_docs`, { new_edits: false, docs: [{ meta: { id: 'x' } }] });
    assert.equal(e2.status, 400);
    const e3 = await post(`${t.host}/_pre_replicate`, { bucket: 'default', vb: 'three' });
    assert.equal(e3.status, 400);
    const e4 = await post(`${t.host}/_pre_replicate`, { bucket: 'default', bucketUUID: '0123456789abcdef0123456789abcdef', vb: 3 });
    assert.equal(e4.status, 404);
    assert.equal((await get(`${t.host}/default%2B0123456789abcdef0123456789abcdef%2f3`)).status, 404);
    assert.equal((await get(`${t.couchApiBase}%2f64`)).status, 404);
    assert.equal((await post(`${t.host}/_pre_replicate`, { bucket: 'nope', vb: 0 })).status, 404);
    // Anonymous: 401; a reader may diff but not write.
    assert.equal((await post(`${vbBase}/_revs_diff`, {}, null)).status, 401);
    await t.server.server.users.setBucketUser('reader', 'reader-pw', [{ role: 'data_reader', bucket: 'default' }]);
    const reader = 'Basic ' + Buffer.from('reader:reader-pw').toString('base64');
    assert.equal((await post(`${vbBase}/_revs_diff`, {}, reader)).status, 200);
    const denied = await post(`${vbBase}/_bulk_docs`, { new_edits: false, docs: [docFor('x', { revSeqno: 1, cas: 1n, expiry: 0, flags: 0 }, '{}')] }, reader);
    assert.equal(denied.status, 403);
    assert.throws(() => bucket.get('x'));
    // A vbucket that is not active here answers not_my_vbucket.
    await bucket.setVBucketState(3, 'replica');
    const nmv = await get(vbBase);
    assert.equal(nmv.status, 404);
    assert.deepEqual(nmv.body, { error: 'not_found', reason: 'not_my_vbucket' });
  });
});
