/**
 * STAT `key <key> <vb>` / `vkey`: one document's metadata as kv_engine's doKeyStats answers it
 * (engines/ep/src/ep_engine.cc; testsuite test_key_stats).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Status, encodeDeleteRequest, encodeStatRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { expectStatus, statGroup } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

test('STAT key and vkey report a document; missing or deleted is KeyEnoent; bad arguments Einval', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const vb = f.vb('doc');
    const set = expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: '{}', flags: 0x42, expiration: 3600, vbucket: vb })), Status.Success);
    const stats = await statGroup(kv, `key doc ${vb}`);
    assert.equal(stats.get('key_flags'), String(0x42));
    assert.equal(stats.get('key_cas'), String(set.cas));
    assert.equal(stats.get('key_exptime'), String(f.bucket.get('doc').expiry));
    assert.equal(stats.get('key_vb_state'), 'active');
    assert.ok(['true', 'false'].includes(stats.get('key_is_dirty') ?? ''));
    assert.equal((await statGroup(kv, `vkey doc ${vb}`)).get('key_valid'), 'valid');

    const status = async (group: string) => (await kv.request(encodeStatRequest({ group }))).status;
    assert.equal(await status(`key missing ${f.vb('missing')}`), Status.KeyEnoent);
    assert.equal(await status('key doc'), Status.Einval);
    assert.equal(await status('key doc x'), Status.Einval);
    assert.equal(await status('key doc 99999'), Status.NotMyVbucket);
    expectStatus(await kv.request(encodeDeleteRequest({ key: 'doc', vbucket: vb })), Status.Success);
    assert.equal(await status(`key doc ${vb}`), Status.KeyEnoent);
  }));

test('STAT uuid is the bucket uuid', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    assert.deepEqual([...(await statGroup(kv, 'uuid')).entries()], [['uuid', f.bucket.uuid]]);
  }));

test('STAT vbucket-details has max_cas, and failovers num_erroneous_entries_erased (gocbcorex parsers)', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const vb = f.vb('doc');
    const set = expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: '{}', vbucket: vb })), Status.Success);
    assert.equal((await statGroup(kv, `vbucket-details ${vb}`)).get(`vb_${vb}:max_cas`), String(set.cas));
    assert.equal((await statGroup(kv, `failovers ${vb}`)).get(`vb_${vb}:num_erroneous_entries_erased`), '0');
  }));
