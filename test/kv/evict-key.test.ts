/**
 * EVICT_KEY (0x93): kv_engine ejects a persisted value from memory and says so in the body
 * (ep_vbucket.cc `evictKey`; ep_testsuite_common.cc `evict_key`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, Status, encodeGetRequest, encodeStoreRequest, makeRequest } from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

test('EVICT_KEY ejects a persisted value, which the next GET reads back from disk', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const vb = f.vb('doc');
    const evict = (key: string) => kv.request(makeRequest(Opcode.EvictKey, { key: Buffer.from(key), vbucket: f.vb(key) }));
    expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: '{"a":1}', vbucket: vb })), Status.Success);
    const seqno = f.bucket.vbucketInfo(vb).highSeqno;
    while (f.bucket.vbucketInfo(vb).persistedSeqno < seqno) await new Promise((r) => setTimeout(r, 5));
    const res = expectStatus(await evict('doc'), Status.Success);
    assert.equal(res.value.toString(), 'Ejected.');
    const fetches = f.bucket.stats.bgFetches;
    const got = expectStatus(await kv.request(encodeGetRequest({ key: 'doc', vbucket: vb })), Status.Success);
    assert.equal(got.value.toString(), '{"a":1}');
    assert.equal(f.bucket.stats.bgFetches, fetches + 1, 'the GET after the eviction read the disk');
    expectStatus(await evict('missing'), Status.KeyEnoent);
    expectStatus(await kv.request(makeRequest(Opcode.EvictKey, { key: Buffer.from('doc'), vbucket: (vb + 1) % 64 })), Status.NotMyVbucket);
  }));
