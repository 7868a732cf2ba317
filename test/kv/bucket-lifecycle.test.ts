/**
 * Buckets created and deleted while connections are open: a connection whose bucket is deleted
 * is closed, as kv_engine closes them (memcached.cc `is_bucket_dying`), never a crash of the
 * server (the NOT_MY_VBUCKET reply used to look the deleted bucket's map up and throw out of the
 * socket handler); connections of other buckets, and bucket-less ones, stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Status, encodeGetClusterConfigRequest, encodeGetRequest, encodeSelectBucketRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

test('deleting the selected bucket closes its connections, and only those', RAW_TEST, () =>
  withServer(async (f) => {
    const doomed = await f.engine.createBucket('doomed', { numVBuckets: 8 });
    const kv = await f.open({ bucket: 'doomed' });
    const witness = await f.open();
    const bucketless = await f.open({ bucket: null });
    const vb = doomed.vbucketOf('k');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.Success);

    await f.engine.deleteBucket('doomed');
    await kv.waitClosed();

    // Everybody else's connection is still usable; a new one cannot select the deleted bucket.
    expectStatus(await witness.request(encodeStoreRequest({ key: 'k', value: 'w', vbucket: f.vb('k') })), Status.Success);
    const config = expectStatus(await bucketless.request(encodeGetClusterConfigRequest()), Status.Success);
    assert.equal((JSON.parse(config.value.toString()) as { name?: string }).name, undefined, 'the global config');
    const again = await f.open({ bucket: null });
    expectStatus(await again.request(encodeSelectBucketRequest('doomed')), Status.Eaccess);
    expectStatus(await again.request(encodeSelectBucketRequest('default')), Status.Success);
    expectStatus(await again.request(encodeGetRequest({ key: 'k', vbucket: f.vb('k') })), Status.Success);
  }));

test('a bucket deleted and created again under the same name must be selected again', RAW_TEST, () =>
  withServer(async (f) => {
    await f.engine.createBucket('phoenix', { numVBuckets: 8 });
    const old = await f.open({ bucket: 'phoenix' });
    await f.engine.deleteBucket('phoenix');
    await old.waitClosed();
    const reborn = await f.engine.createBucket('phoenix', { numVBuckets: 8 });
    const vb = reborn.vbucketOf('k');
    const kv = await f.open({ bucket: null });
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.NoBucket);
    expectStatus(await kv.request(encodeSelectBucketRequest('phoenix')), Status.Success);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: vb })), Status.Success);
    assert.equal(reborn.get('k').value.toString(), 'v');
  }));
