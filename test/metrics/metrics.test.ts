/**
 * The server's metrics over real sockets: `GET /metrics` (management port) and
 * `GET /_node/_local/_prometheus` (CouchDB port) serve valid Prometheus text to the administrator
 * only, with each family filled after real traffic — KV requests from the SDK-free test client,
 * a DCP consumer that has not acknowledged its window (non-zero items remaining), an open
 * continuous `_changes` feed and a continuous local replication — and `_stats` /
 * `/freshet/stats` carry the same numbers in their JSON shapes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';
import type { KvConnection } from '../../src/client/connection.js';
import { kvClient } from './helpers.js';

let t: TestServer;
let bucket: Bucket;
const auth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN_AUTH = auth(ADMIN.username, ADMIN.password);

async function get(port: number, path: string, authorization?: string): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** Parse Prometheus text: every sample line must be `name{labels} value`; returns samples by name. */
function parseProm(text: string): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const out = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const list = out.get(m[1]!) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

function sample(p: ReturnType<typeof parseProm>, name: string, labels: Record<string, string> = {}): number | undefined {
  return p.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function dcpStats(conn: KvConnection): Promise<Map<string, string>> {
  return new Map((await conn.stat('dcp')).map((e) => [e.name, e.value]));
}

before(async () => {
  t = await startTestServer({ numVBuckets: 8, authThrottle: false });
  bucket = t.server.engine.bucket('default')!;
  await t.server.users.setBucketUser('reader', 'secret1', ['default']);
});
after(() => t.close());

describe('metrics > access', () => {
  test('/metrics and /_prometheus need the administrator: 401 without credentials, 403 (REST) / 401 (CouchDB) for a bucket user', async () => {
    const { mgmt, http } = t.server.ports;
    assert.equal((await get(mgmt, '/metrics')).status, 401);
    assert.equal((await get(mgmt, '/metrics', auth('reader', 'secret1'))).status, 403);
    assert.equal((await get(mgmt, '/freshet/stats', auth('reader', 'secret1'))).status, 403);
    assert.equal((await get(http, '/_node/_local/_prometheus')).status, 401);
    // CouchDB answers a signed-in non-admin 401 "You are not a server admin." (couch_httpd
    // verify_is_server_admin), not 403.
    const notAdmin = await get(http, '/_node/_local/_prometheus', auth('reader', 'secret1'));
    assert.equal(notAdmin.status, 401);
    assert.equal((JSON.parse(notAdmin.text) as { error: string }).error, 'unauthorized');
    assert.equal((await get(http, '/_node/_local/_stats', auth('reader', 'secret1'))).status, 401);
    assert.equal((await get(http, '/_node/elsewhere/_prometheus', ADMIN_AUTH)).status, 404);
    const ok = await get(mgmt, '/metrics', ADMIN_AUTH);
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  });
});

describe('metrics > families after traffic', () => {
  test('KV, buckets, persistence, DCP lag, feeds, replication, auth and process families', async (ctx) => {
    const { mgmt, http } = t.server.ports;
    // KV traffic over the wire: sets, a hit, a miss, a delete.
    const kv = await kvClient(t);
    ctx.after(() => kv.close());
    const vb = (k: string): number => bucket.vbucketOf(Buffer.from(k));
    for (let i = 0; i < 50; i++) await kv.request(c.encodeStoreRequest({ key: `k${i}`, value: `{"i":${i}}`, vbucket: vb(`k${i}`) }));
    assert.equal((await kv.request(c.encodeGetRequest({ key: 'k1', vbucket: vb('k1') }))).status, c.Status.Success);
    assert.equal((await kv.request(c.encodeGetRequest({ key: 'nope', vbucket: vb('nope') }))).status, c.Status.KeyEnoent);
    assert.equal((await kv.request(c.encodeDeleteRequest({ key: 'k2', vbucket: vb('k2') }))).status, c.Status.Success);
    await bucket.quiesce();

    // A DCP consumer with a small window that never acks: it stops with items left to send.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) writes.push(bucket.set(`lag-${i}`, JSON.stringify({ i, pad: 'x'.repeat(60) })));
    await Promise.all(writes);
    const lagging = await DcpTestConsumer.open(t, { name: 'laggard', controls: { connection_buffer_size: '2048' } });
    ctx.after(() => lagging.close());
    for (let vb = 0; vb < 8; vb++) await lagging.streamFromZero(vb);

    // An open continuous _changes feed.
    const feed = await request(`http://127.0.0.1:${http}/default/_changes?feed=continuous&heartbeat=1000`, { headers: { authorization: ADMIN_AUTH } });
    ctx.after(() => feed.body.destroy());
    assert.equal(feed.statusCode, 200);

    // A continuous local replication of a few CouchDB documents.
    for (let i = 0; i < 3; i++) {
      const put = await request(`http://127.0.0.1:${http}/default/rep-${i}`, { method: 'PUT', headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      assert.equal(put.statusCode, 201);
      await put.body.dump();
    }
    await t.server.engine.createBucket('copy', { numVBuckets: 8 });
    const rep = await request(`http://127.0.0.1:${http}/_replicate`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'default', target: 'copy', continuous: true }),
    });
    const repBody = (await rep.body.json()) as { ok: boolean; _local_id: string };
    assert.equal(rep.statusCode, 202);
    ctx.after(async () => {
      const cancel = await request(`http://127.0.0.1:${http}/_replicate`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ replication_id: repBody._local_id, cancel: true }) });
      await cancel.body.dump();
    });

    // One failed login per face that counts it here.
    assert.equal((await get(mgmt, '/metrics', auth('Administrator', 'wrong'))).status, 401);

    // Wait until the replication wrote the three documents and the DCP producer filled its window.
    let prom = parseProm('');
    for (let tries = 0; ; tries++) {
      prom = parseProm((await get(mgmt, '/metrics', ADMIN_AUTH)).text);
      const written = sample(prom, 'freshet_replication_docs_written', { replication_id: repBody._local_id }) ?? 0;
      const remaining = sample(prom, 'freshet_dcp_items_remaining', { bucket: 'default', connection: 'laggard' }) ?? 0;
      const paused = (await dcpStats(kv)).get('eq_dcpq:laggard:paused') === 'true';
      if (written >= 3 && remaining > 0 && paused) break;
      assert.ok(tries < 300, `replication wrote ${written}, laggard has ${remaining} remaining, paused ${paused}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    // KV by opcode and status, with a latency histogram.
    assert.ok((sample(prom, 'freshet_kv_ops_total', { opcode: 'Set', status: 'Success' }) ?? 0) >= 50);
    assert.equal(sample(prom, 'freshet_kv_ops_total', { opcode: 'Get', status: 'Success' }), 1);
    assert.equal(sample(prom, 'freshet_kv_ops_total', { opcode: 'Get', status: 'KeyEnoent' }), 1);
    assert.equal(sample(prom, 'freshet_kv_op_duration_seconds_count', { opcode: 'Set' }), sample(prom, 'freshet_kv_ops_total', { opcode: 'Set', status: 'Success' }));
    assert.equal(sample(prom, 'freshet_kv_op_duration_seconds_bucket', { opcode: 'Get', le: '+Inf' }), 2);
    assert.equal(sample(prom, 'freshet_kv_get_hits_total'), 1);
    assert.equal(sample(prom, 'freshet_kv_get_misses_total'), 1);
    // Items, tombstones, bytes per bucket.
    // Counts are a cached scan that a slow scan may reuse for a moment (engine/doc-counts.ts):
    // scrape again until the cache has caught up with the writes above.
    let counts = bucket.docCounts();
    for (let i = 0; i < 100 && sample(prom, 'freshet_bucket_items', { bucket: 'default' }) !== counts.docCount; i++) {
      await new Promise((r) => setTimeout(r, 50));
      prom = parseProm((await get(mgmt, '/metrics', ADMIN_AUTH)).text);
      counts = bucket.docCounts();
    }
    assert.equal(sample(prom, 'freshet_bucket_items', { bucket: 'default' }), counts.docCount);
    assert.ok(counts.docCount >= 49 + 300 + 3);
    assert.equal(sample(prom, 'freshet_bucket_tombstones', { bucket: 'default' }), 1);
    assert.ok((sample(prom, 'freshet_bucket_disk_bytes', { bucket: 'default' }) ?? 0) > 0);
    assert.ok(sample(prom, 'freshet_bucket_items', { bucket: 'copy' }) !== undefined);
    // Persistence.
    assert.ok((sample(prom, 'freshet_storage_flush_batches_total') ?? 0) > 0);
    assert.ok((sample(prom, 'freshet_storage_fsync_seconds_count') ?? 0) > 0);
    assert.equal(sample(prom, 'freshet_bucket_persistence_lag', { bucket: 'default' }), 0);
    assert.equal(sample(prom, 'freshet_bucket_record_cache_hits_total', { bucket: 'default' }), bucket.stats.recordCacheHits);
    assert.equal(sample(prom, 'freshet_bucket_bg_fetches_total', { bucket: 'default' }), bucket.stats.bgFetches);
    assert.ok(bucket.stats.recordCacheHits > 0, 'the GET above read from memory');
    assert.equal(sample(prom, 'freshet_storage_healthy'), 1);
    // DCP: the laggard has eight streams, sent some items, holds a full window and has more to send.
    assert.equal(sample(prom, 'freshet_dcp_streams', { bucket: 'default', connection: 'laggard' }), 8);
    assert.ok((sample(prom, 'freshet_dcp_items_sent_total', { bucket: 'default', connection: 'laggard' }) ?? 0) > 0);
    assert.ok((sample(prom, 'freshet_dcp_bytes_buffered', { bucket: 'default', connection: 'laggard' }) ?? 0) >= 2048);
    assert.ok((sample(prom, 'freshet_dcp_connections', { bucket: 'default' }) ?? 0) >= 1);
    // The same lag in `stats dcp`.
    assert.ok(Number((await dcpStats(kv)).get('eq_dcpq:laggard:items_remaining')) > 0);
    // Feeds, replication, auth, process.
    assert.equal(sample(prom, 'freshet_changes_feeds_open', { mode: 'continuous' }), 1);
    assert.equal(sample(prom, 'freshet_replication_jobs', { state: 'running' }), 1);
    assert.ok((sample(prom, 'freshet_replication_docs_read', { replication_id: repBody._local_id }) ?? 0) >= 3);
    assert.equal(sample(prom, 'freshet_replication_doc_write_failures', { replication_id: repBody._local_id }), 0);
    assert.equal(sample(prom, 'freshet_auth_failures_total', { face: 'rest' }), 1);
    assert.ok((sample(prom, 'freshet_process_resident_memory_bytes') ?? 0) > 0);
    assert.ok(prom.has('freshet_nodejs_eventloop_lag_seconds'));

    // The CouchDB port serves the same registry.
    const couch = await get(http, '/_node/_local/_prometheus', ADMIN_AUTH);
    assert.equal(couch.status, 200);
    const couchProm = parseProm(couch.text);
    assert.equal(sample(couchProm, 'freshet_changes_feeds_open', { mode: 'continuous' }), 1);

    // `_stats` in CouchDB's shape.
    const stats = JSON.parse((await get(http, '/_node/_local/_stats', ADMIN_AUTH)).text) as Record<string, Record<string, Record<string, unknown>>>;
    const couchdb = stats.couchdb!;
    assert.deepEqual(Object.keys(couchdb.database_writes!).sort(), ['desc', 'type', 'value']);
    assert.equal(couchdb.database_writes!.type, 'counter');
    assert.ok((couchdb.database_writes!.value as number) >= 3);
    assert.equal((couchdb.httpd_request_methods as Record<string, { value: number }>).PUT!.value, 3);
    assert.ok((couchdb.httpd_status_codes as Record<string, { value: number }>)['201']!.value >= 3);
    assert.ok(((stats.couch_replicator!.docs_written as { value: number }).value) >= 3);
    assert.equal((stats.couch_replicator!.jobs as Record<string, { value: number }>).running!.value, 1);
    assert.equal((stats.freshet!.storage as { state: string }).state, 'healthy');
    assert.equal((await get(http, '/_node/freshet@127.0.0.1/_stats', ADMIN_AUTH)).status, 200);

    // The summary document.
    const summary = JSON.parse((await get(mgmt, '/freshet/stats', ADMIN_AUTH)).text) as {
      buckets: Array<{ name: string; items: number; tombstones: number; highSeqnoSum: number; persistedSeqnoSum: number; numVBuckets: number }>;
      dcp: { connections: Array<{ name: string; streams: number; itemsRemaining: number }> };
      feeds: { count: number; byMode: Record<string, number> };
      replications: Array<{ id: string; docsWritten: number; state: string }>;
      kv: Record<string, number>;
    };
    const def = summary.buckets.find((b) => b.name === 'default')!;
    assert.equal(def.items, counts.docCount);
    assert.equal(def.numVBuckets, 8);
    assert.equal(def.highSeqnoSum, def.persistedSeqnoSum);
    assert.ok(summary.dcp.connections.find((x) => x.name === 'laggard')!.itemsRemaining > 0);
    assert.deepEqual(summary.feeds, { count: 1, byMode: { continuous: 1 } });
    assert.equal(summary.replications.find((r) => r.id === repBody._local_id)?.state, 'running');
    assert.equal(summary.kv.getMisses, 1);
  });
});
