/**
 * `GET /metrics` through a strict text-format parser (prom-parse.ts): after KV traffic and DCP
 * connections whose names hold a quote, a backslash, a newline, markup and non-ASCII text, the
 * exposition has HELP and TYPE once per family, escaped label values that read back exactly, no
 * duplicate series, `_total` on every counter Freshet defines, and histograms with cumulative
 * `_bucket`s ending at `+Inf` plus `_sum` and `_count`, and CPU counters that are totals since the
 * process started although the registry is built at the first scrape. Access: 401 without credentials, 403 with
 * the permission ns_server names for this path (menelaus_web.erl: {[admin, stats_export], read}) for a
 * bucket user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import * as c from '../../src/codec/index.js';
import { ADMIN, startTestServer } from '../helpers/server.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';
import { kvClient } from './helpers.js';
import { parsePrometheus } from './prom-parse.js';

const auth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('/metrics parses strictly, with hostile DCP connection names escaped', async (t) => {
  const ts = await startTestServer({ numVBuckets: 8, authThrottle: false });
  t.after(() => ts.close());
  await ts.server.users.setBucketUser('reader', 'secret1', ['default']);
  const url = `http://127.0.0.1:${ts.server.ports.mgmt}/metrics`;

  assert.equal((await request(url)).statusCode, 401);
  const forbidden = await request(url, { headers: { authorization: auth('reader', 'secret1') } });
  assert.equal(forbidden.statusCode, 403);
  assert.deepEqual((await forbidden.body.json() as { permissions: string[] }).permissions, ['cluster.admin.stats_export!read']);

  const kv = await kvClient(ts);
  t.after(() => kv.close());
  const vb = (key: string): number => ts.server.engine.bucket('default')!.vbucketOf(Buffer.from(key));
  assert.equal((await kv.request(c.encodeStoreRequest({ key: 'k', value: '{"a":1}', vbucket: vb('k') }))).status, c.Status.Success);
  assert.equal((await kv.request(c.encodeGetRequest({ key: 'k', vbucket: vb('k') }))).status, c.Status.Success);
  assert.equal((await kv.request(c.encodeGetRequest({ key: 'missing', vbucket: vb('missing') }))).status, c.Status.KeyEnoent);

  const names = ['quote"d', 'back\\slash', 'new\nline', '<script>alert(1)</script>', 'ünïcødé ☃'];
  const consumers = await Promise.all(names.map((name) => DcpTestConsumer.open(ts, { name })));
  t.after(() => Promise.all(consumers.map((x) => x.conn.close())));
  for (const consumer of consumers) await consumer.streamFromZero(0);

  const cpuBefore = process.cpuUsage();
  const res = await request(url, { headers: { authorization: auth(ADMIN.username, ADMIN.password) } });
  assert.equal(res.statusCode, 200);
  const families = parsePrometheus(await res.body.text());

  for (const f of families.values()) {
    assert.ok(f.type !== undefined && f.help !== undefined, `${f.name} has HELP and TYPE`);
    if (f.type === 'counter') assert.match(f.name, /_total$/, `counter ${f.name}`);
  }
  // The registry is built at this first scrape; the CPU counters are still totals since the
  // process started (the server runs in this process), not since the scrape.
  const cpuTotal = families.get('freshet_process_cpu_seconds_total')!.samples[0]!.value;
  assert.ok(cpuTotal >= (cpuBefore.user + cpuBefore.system) / 1e6, `process_cpu_seconds_total ${cpuTotal} < ${(cpuBefore.user + cpuBefore.system) / 1e6}`);
  const userTotal = families.get('freshet_process_cpu_user_seconds_total')!.samples[0]!.value;
  assert.ok(userTotal >= cpuBefore.user / 1e6 && userTotal <= cpuTotal);
  const streams = families.get('freshet_dcp_streams')!.samples;
  assert.deepEqual(streams.map((s) => s.labels.connection).sort(), [...names].sort());
  for (const s of streams) assert.equal(s.value, 1);
  const ops = families.get('freshet_kv_ops_total')!.samples;
  assert.ok(ops.some((s) => s.labels.opcode === 'Get' && s.labels.status === 'KeyEnoent' && s.value === 1), JSON.stringify(ops));
  // The CouchDB port's _prometheus serves the same registry, as strictly formed.
  const couch = await request(`http://127.0.0.1:${ts.server.ports.http}/_node/_local/_prometheus`, { headers: { authorization: auth(ADMIN.username, ADMIN.password) } });
  assert.equal(couch.statusCode, 200);
  assert.deepEqual([...parsePrometheus(await couch.body.text()).get('freshet_dcp_streams')!.samples.map((s) => s.labels.connection)].sort(), [...names].sort());
  assert.equal(families.get('freshet_kv_op_duration_seconds')?.type, 'histogram');
  assert.ok(families.get('freshet_kv_op_duration_seconds')!.samples.some((s) => s.name.endsWith('_count') && s.labels.opcode === 'Get' && s.value === 2));
});
