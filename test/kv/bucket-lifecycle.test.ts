/**
 * Buckets created and deleted while connections are open: a connection whose bucket is deleted
 * gets NoBucket (and may select another), never a crash of the server (the NOT_MY_VBUCKET reply
 * used to look the deleted bucket's map up and throw out of the socket handler).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Status, encodeGetClusterConfigRequest, encodeGetRequest, encodeSelectBucketRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

test('deleting the selected bucket turns its connections into bucket-less ones', RAW_TEST, () =>
  withServer(async (f) => {
    const doomed = await f.engine.createBucket('doomed', { numVBuckets: 8 });
    const kv = await f.open({ bucket: 'doomed' });
    const witness = await f.open();
    const vb = doomed.vbucketOf('k');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.Success);

    await f.engine.deleteBucket('doomed');
    expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: vb })), Status.NoBucket);
    expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: (vb + 1) % 8 })), Status.NoBucket, 'wrong vbucket');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.NoBucket);
    const config = expectStatus(await kv.request(encodeGetClusterConfigRequest()), Status.Success);
    assert.equal((JSON.parse(config.value.toString()) as { name?: string }).name, undefined, 'the global config, not the old bucket');

    // The connection is still usable, and so is everybody else's.
    expectStatus(await kv.request(encodeSelectBucketRequest('doomed')), Status.Eaccess);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'moved', vbucket: f.vb('k') })), Status.Success);
    expectStatus(await witness.request(encodeGetRequest({ key: 'k', vbucket: f.vb('k') })), Status.Success);
  }));

test('a bucket deleted and created again under the same name must be selected again', RAW_TEST, () =>
  withServer(async (f) => {
    await f.engine.createBucket('phoenix', { numVBuckets: 8 });
    const kv = await f.open({ bucket: 'phoenix' });
    await f.engine.deleteBucket('phoenix');
    const reborn = await f.engine.createBucket('phoenix', { numVBuckets: 8 });
    const vb = reborn.vbucketOf('k');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.NoBucket);
    expectStatus(await kv.request(encodeSelectBucketRequest('phoenix')), Status.Success);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.Success);
    assert.equal(reborn.get('k').value.toString(), 'v');
  }));
