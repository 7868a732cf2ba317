/**
 * KV `STAT` groups over the wire: general carries curr_items, mem_used, cmd_get, cmd_set and
 * get_hits/get_misses that count client GETs only (an HTTP document read, which looks the key up
 * in the engine, does not move them); `memory`, `timings` and `all` exist with Freshet's values.
 * Also the DCP items-remaining computation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import * as c from '../../src/codec/index.js';
import type { KvConnection } from '../../src/client/connection.js';
import { itemsRemaining } from '../../src/dcp/stream-state.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { kvClient } from './helpers.js';

let t: TestServer;
let kv: KvConnection;

const stat = async (group: string): Promise<Map<string, string>> => new Map((await kv.stat(group)).map((e) => [e.name, e.value]));
const vb = (k: string): number => t.server.engine.bucket('default')!.vbucketOf(Buffer.from(k));

before(async () => {
  t = await startTestServer({ numVBuckets: 8 });
  kv = await kvClient(t);
});
after(async () => {
  await kv.close();
  await t.close();
});

describe('kv > STAT groups', () => {
  test('general: curr_items, cmd_get, cmd_set, get_hits/get_misses count client GETs only', async () => {
    for (let i = 0; i < 10; i++) await kv.request(c.encodeStoreRequest({ key: `s${i}`, value: `{"i":${i}}`, vbucket: vb(`s${i}`) }));
    await kv.request(c.encodeDeleteRequest({ key: 's9', vbucket: vb('s9') }));
    await kv.request(c.encodeGetRequest({ key: 's1', vbucket: vb('s1') }));
    // GETQ misses answer nothing but are still client misses (the GET after it shows it passed).
    const [quiet] = await Promise.all([
      kv.requestQuiet(c.encodeGetRequest({ key: 'absent', vbucket: vb('absent'), opcode: c.Opcode.GetQ })),
      kv.request(c.encodeGetRequest({ key: 's9', vbucket: vb('s9') })),
    ]);
    assert.equal(quiet, null);
    // Internal lookups: CouchDB reads of missing and present documents, a GET_META.
    const auth = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
    for (const id of ['s1', 'missing-1', 'missing-2']) {
      const res = await request(`http://127.0.0.1:${t.server.ports.http}/default/${id}`, { headers: { authorization: auth } });
      await res.body.dump();
    }
    await kv.request(c.encodeGetMetaRequest({ key: 'missing-3', vbucket: vb('missing-3') }));
    await t.server.engine.bucket('default')!.quiesce();
    const s = await stat('');
    assert.equal(s.get('get_hits'), '1');
    assert.equal(s.get('get_misses'), '2');
    assert.equal(s.get('get_hits'), '1');
    assert.equal(s.get('cmd_get'), '3');
    assert.equal(s.get('cmd_set'), '10');
    assert.equal(s.get('curr_items'), '9');
    assert.equal(s.get('ep_total_deleted_items'), '1');
    assert.ok(Number(s.get('mem_used')) > 0);
    assert.ok(Number(s.get('ep_commit_num')) > 0);
    assert.equal(s.get('ep_persistence_lag_seqnos'), '0');
  });

  test('memory, timings and all', async () => {
    const m = await stat('memory');
    for (const key of ['mem_used', 'total_heap_bytes', 'total_resident_bytes', 'total_allocated_bytes']) assert.ok(Number(m.get(key)) > 0, key);
    const timings = await stat('timings');
    // get_cmd holds the three GETs of the first test (and no more), spread over µs buckets "lo,hi".
    assert.equal(timings.get('get_cmd_count'), '3');
    const buckets = [...timings].filter(([k]) => /^get_cmd_\d+,(\d+|inf)$/.test(k));
    assert.ok(buckets.length > 0);
    assert.equal(buckets.reduce((n, [, v]) => n + Number(v), 0), 3);
    assert.equal(timings.get('store_cmd_count'), '10');
    assert.ok(Number(timings.get('hello_cmd_count')) >= 1);
    const all = await stat('all');
    for (const key of ['curr_items', 'cmd_get', 'mem_used', 'ep_num_vbuckets', 'uptime']) assert.ok(all.has(key), key);
  });

  test('ep_record_cache_hits and ep_bg_fetched: reads of persisted versions from memory and from LMDB', async () => {
    await kv.request(c.encodeStoreRequest({ key: 'resident', value: 'r', vbucket: vb('resident') }));
    await t.server.engine.bucket('default')!.quiesce();
    const before = await stat('');
    const got = await kv.request(c.encodeGetRequest({ key: 'resident', vbucket: vb('resident') }));
    assert.equal(got.value.toString(), 'r');
    const after = await stat('');
    assert.equal(Number(after.get('ep_record_cache_hits')) - Number(before.get('ep_record_cache_hits')), 1, 'the record written is read from memory');
    assert.equal(after.get('ep_bg_fetched'), before.get('ep_bg_fetched'));
  });

  test('an unknown group is KEY_ENOENT', async () => {
    const res = await kv.request(c.encodeStatRequest({ group: 'no-such-group' }));
    assert.equal(res.status, c.Status.KeyEnoent);
  });
});

describe('dcp > items remaining', () => {
  test('the gap between the high seqno (or the stream end) and the last seqno sent', () => {
    assert.equal(itemsRemaining('in-memory', 100, Number.POSITIVE_INFINITY, 40), 60);
    assert.equal(itemsRemaining('backfilling', 100, 70, 40), 30);
    assert.equal(itemsRemaining('in-memory', 100, Number.POSITIVE_INFINITY, 100), 0);
    assert.equal(itemsRemaining('pending', 10, 5, 5), 0);
    assert.equal(itemsRemaining('ending', 100, 200, 40), 0);
    assert.equal(itemsRemaining('dead', 100, 200, 40), 0);
  });
});
