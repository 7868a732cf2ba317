/**
 * Raw-frame tests of the KV session rules: SASL (SCRAM-SHA512/256/1 and PLAIN), the access rules
 * of the command table (Eaccess before auth, NoBucket before SELECT_BUCKET), bucket selection and
 * the bootstrap replies the SDK depends on (couchbase-sdk-bootstrap.md §3, dcp.md §2.2).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Feature,
  Opcode,
  Status,
  decodeErrorMapResponse,
  decodeListMechsResponse,
  encodeErrorMapRequest,
  encodeGetClusterConfigRequest,
  encodeGetRequest,
  encodeListMechsRequest,
  encodeNoopRequest,
  encodeSaslRequest,
  encodeSelectBucketRequest,
  encodeStoreRequest,
  encodeVersionRequest,
  makeRequest,
} from '../../src/codec/index.js';
import type { ScramHash } from '../../src/auth/scram-crypto.js';
import { authPlain, authScram, expectStatus, hello, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

/**
 * Each test gets its own server with a second bucket, a user of `default` (carol) and a user
 * named like the second bucket, whose authentication selects it (dcp.md §4.4, cbdatasource).
 */
function withConn<T>(fn: (kv: RawKv, f: KvFixture) => Promise<T>): () => Promise<T> {
  return () =>
    withServer(async (f) => {
      await f.engine.createBucket('second', { numVBuckets: 8 });
      await f.server.server.users.setBucketUser('carol', 'carol-pw', ['default']);
      await f.server.server.users.setBucketUser('second', 'second-pw', ['second']);
      return fn(await f.connect(), f);
    });
}

function get(f: KvFixture, key: string): ReturnType<typeof encodeGetRequest> {
  return encodeGetRequest({ key, vbucket: f.vb(key) });
}

describe('SASL', () => {
  test('LIST_MECHS offers SCRAM-SHA512, SCRAM-SHA256, SCRAM-SHA1 and PLAIN', RAW_TEST, withConn(async (kv) => {
    const res = expectStatus(await kv.request(encodeListMechsRequest()), Status.Success);
    assert.deepEqual(decodeListMechsResponse(res).mechanisms, ['SCRAM-SHA512', 'SCRAM-SHA256', 'SCRAM-SHA1', 'PLAIN']);
  }));

  for (const hash of ['sha512', 'sha256', 'sha1'] as const satisfies readonly ScramHash[]) {
    test(`SCRAM ${hash}: the right password authenticates and the server signature verifies`, RAW_TEST, withConn(async (kv, f) => {
      // authScram verifies v= with Freshet's client side, which throws on a bad signature.
      expectStatus(await authScram(kv, hash, 'Administrator', 'password'), Status.Success, `SCRAM ${hash}`);
      expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
      expectStatus(await kv.request(get(f, 'nope')), Status.KeyEnoent);
    }));

    test(`SCRAM ${hash}: a wrong password gets AuthError and the connection stays unauthenticated`, RAW_TEST, withConn(async (kv) => {
      expectStatus(await authScram(kv, hash, 'Administrator', 'wrong'), Status.AuthError);
      expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Eaccess);
    }));
  }

  test('SCRAM for an unknown user fails at the final step, like a wrong password', RAW_TEST, withConn(async (kv) => {
    expectStatus(await authScram(kv, 'sha512', 'nobody', 'x'), Status.AuthError);
  }));

  test('PLAIN: the right password authenticates, a wrong one gets AuthError 0x20', RAW_TEST, withConn(async (kv) => {
    expectStatus(await authPlain(kv, 'Administrator', 'bad'), Status.AuthError);
    expectStatus(await authPlain(kv, 'nobody', 'password'), Status.AuthError);
    expectStatus(await authPlain(kv, 'Administrator', 'password'), Status.Success);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
  }));

  test('SASL_STEP without a SASL_AUTH, and an unknown mechanism, are refused', RAW_TEST, withConn(async (kv) => {
    const step = encodeSaslRequest({ opcode: Opcode.SaslStep, mechanism: 'SCRAM-SHA512', payload: 'c=biws,r=x,p=eA==' });
    expectStatus(await kv.request(step), Status.AuthError);
    expectStatus(await kv.request(encodeSaslRequest({ mechanism: 'CRAM-MD5', payload: 'x' })), Status.AuthError);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Eaccess);
  }));

  test('re-authenticating as another user leaves the bucket the first user selected', RAW_TEST, withConn(async (kv, f) => {
    expectStatus(await authPlain(kv, 'Administrator', 'password'), Status.Success);
    expectStatus(await kv.request(encodeSelectBucketRequest('second')), Status.Success);
    const vb = f.engine.requireBucket('second').vbucketOf('k');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'admin', vbucket: vb })), Status.Success);
    // carol may use `default` only: after her authentication no bucket is selected.
    expectStatus(await authScram(kv, 'sha256', 'carol', 'carol-pw'), Status.Success);
    expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: vb })), Status.NoBucket);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'carol', vbucket: vb })), Status.NoBucket);
    assert.equal(f.engine.requireBucket('second').get('k').value.toString(), 'admin');
  }));

  test('a failed re-authentication drops the earlier authentication', RAW_TEST, withConn(async (kv) => {
    expectStatus(await authPlain(kv, 'Administrator', 'password'), Status.Success);
    expectStatus(await authPlain(kv, 'Administrator', 'bad'), Status.AuthError);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Eaccess);
  }));
});

describe('access rules', () => {
  test('data commands before authentication get Eaccess 0x24', RAW_TEST, withConn(async (kv, f) => {
    expectStatus(await kv.request(get(f, 'k')), Status.Eaccess);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: f.vb('k') })), Status.Eaccess);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Eaccess);
    expectStatus(await kv.request(encodeGetClusterConfigRequest()), Status.Eaccess);
    // Session commands need no authentication.
    expectStatus(await kv.request(encodeNoopRequest()), Status.Success);
    const version = expectStatus(await kv.request(encodeVersionRequest()), Status.Success);
    assert.ok(version.value.length > 0);
    assert.equal(f.bucket.vbucketInfo(f.vb('k')).highSeqno, 0, 'nothing was stored');
  }));

  test('with XERROR, an error reply carries a JSON context', RAW_TEST, withConn(async (kv, f) => {
    await hello(kv, [Feature.Xerror]);
    const res = expectStatus(await kv.request(get(f, 'k')), Status.Eaccess);
    const body: unknown = JSON.parse(res.value.toString('utf8'));
    assert.equal(typeof (body as { error?: { context?: unknown } }).error?.context, 'string');
  }));

  test('data commands without a selected bucket get NoBucket 0x08', RAW_TEST, withConn(async (kv, f) => {
    expectStatus(await authPlain(kv, 'Administrator', 'password'), Status.Success);
    expectStatus(await kv.request(get(f, 'k')), Status.NoBucket);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v' })), Status.NoBucket);
    // A bucket-less GET_CLUSTER_CONFIG gets the global config: nodes and services, no vbucket
    // map (the SDK's GCCCP connection, couchbase-sdk-bootstrap.md §1 item 1).
    const global = expectStatus(await kv.request(encodeGetClusterConfigRequest()), Status.Success);
    const json = JSON.parse(global.value.toString('utf8')) as { nodesExt: Array<{ services: { kv: number } }>; vBucketServerMap?: unknown };
    assert.equal(json.nodesExt[0]!.services.kv, f.port);
    assert.equal(json.vBucketServerMap, undefined);
  }));

  test('SELECT_BUCKET: unknown buckets and buckets without permission both get Eaccess', RAW_TEST, withConn(async (kv, f) => {
    expectStatus(await authPlain(kv, 'carol', 'carol-pw'), Status.Success);
    expectStatus(await kv.request(encodeSelectBucketRequest('second')), Status.Eaccess);
    expectStatus(await kv.request(encodeSelectBucketRequest('no-such-bucket')), Status.Eaccess);
    expectStatus(await kv.request(get(f, 'k')), Status.NoBucket, 'still no bucket');
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
    expectStatus(await kv.request(get(f, 'k')), Status.KeyEnoent);
  }));

  test('revoking a user\'s bucket, or removing the user, takes effect on open connections', RAW_TEST, withConn(async (kv, f) => {
    const users = f.server.server.users;
    expectStatus(await authPlain(kv, 'carol', 'carol-pw'), Status.Success);
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
    expectStatus(await kv.request(get(f, 'k')), Status.KeyEnoent);
    await users.setBuckets('carol', ['second']);
    expectStatus(await kv.request(get(f, 'k')), Status.Eaccess);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: f.vb('k') })), Status.Eaccess);
    await users.setBuckets('carol', ['default']);
    expectStatus(await kv.request(get(f, 'k')), Status.KeyEnoent, 'access given back');
    await users.removeUser('carol');
    expectStatus(await kv.request(get(f, 'k')), Status.Eaccess);
  }));

  test('a user named like a bucket has that bucket selected when it authenticates', RAW_TEST, withConn(async (kv, f) => {
    expectStatus(await authScram(kv, 'sha512', 'second', 'second-pw'), Status.Success);
    const second = f.engine.requireBucket('second');
    const vb = second.vbucketOf('auto');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'auto', value: 'selected', vbucket: vb })), Status.Success);
    assert.equal(second.get('auto').value.toString(), 'selected');
    // But it may not switch to a bucket it has no access to.
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Eaccess);
  }));

  // kv_engine sasl_auth_command_context.cc (doSaslAuth, deprecated bucket autoselect): after a
  // successful SASL auth, associate_bucket(username) when cookie.mayAccessBucket(username), else
  // the "no bucket".
  test('PLAIN as a user named like a bucket: a GET works without SELECT_BUCKET', RAW_TEST, withConn(async (kv, f) => {
    const second = f.engine.requireBucket('second');
    await second.set('legacy', Buffer.from('value'));
    expectStatus(await authPlain(kv, 'second', 'second-pw'), Status.Success);
    const res = expectStatus(await kv.request(encodeGetRequest({ key: 'legacy', vbucket: second.vbucketOf('legacy') })), Status.Success);
    assert.equal(res.value.toString(), 'value');
  }));

  test('a user named like a bucket it has no role on is left with no bucket', RAW_TEST, withConn(async (kv, f) => {
    await f.engine.createBucket('third', { numVBuckets: 8 });
    await f.server.server.users.setBucketUser('third', 'third-pw', ['default']);
    expectStatus(await authPlain(kv, 'third', 'third-pw'), Status.Success);
    expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: f.engine.requireBucket('third').vbucketOf('k') })), Status.NoBucket);
    // Its own bucket is there to select.
    expectStatus(await kv.request(encodeSelectBucketRequest('default')), Status.Success);
  }));
});

describe('bootstrap replies', () => {
  test('GET_ERROR_MAP v2 has a revision and an entry per status with name, desc and attrs', RAW_TEST, withConn(async (kv) => {
    const res = expectStatus(await kv.request(encodeErrorMapRequest(2)), Status.Success);
    const map = decodeErrorMapResponse(res);
    assert.equal(map.version, 2);
    assert.equal(typeof map.revision, 'number');
    for (const code of [Status.KeyEnoent, Status.KeyEexists, Status.NotMyVbucket, Status.Eaccess, Status.AuthError]) {
      const entry = map.errors[code.toString(16)];
      assert.ok(entry, `status 0x${code.toString(16)} is in the map`);
      assert.equal(typeof entry.name, 'string');
      assert.equal(typeof entry.desc, 'string');
      assert.ok(Array.isArray(entry.attrs));
    }
  }));

  test(
    'GET_CLUSTER_CONFIG after SELECT_BUCKET in the same write returns the bucket map',
    RAW_TEST,
    withConn(async (_bare, f) => {
      const kv = await f.open({ bucket: null });
      // The SDK pipelines SELECT_BUCKET and GET_CLUSTER_CONFIG (§3.1): the select must apply first.
      const select = { ...encodeSelectBucketRequest('default'), opaque: kv.opaque() };
      const config = { ...encodeGetClusterConfigRequest(), opaque: kv.opaque() };
      kv.send(select, config);
      const [r1, r2] = await kv.take(2);
      expectStatus(r1!, Status.Success);
      expectStatus(r2!, Status.Success);
      assert.equal(r2!.opaque, config.opaque);
      assert.equal(r2!.datatype & 0x01, 0x01, 'JSON datatype');
      const json = JSON.parse(r2!.value.toString('utf8')) as {
        name: string;
        rev: number;
        nodesExt: Array<{ services: { kv: number } }>;
        vBucketServerMap: { vBucketMap: number[][] };
      };
      assert.equal(json.name, 'default');
      assert.equal(typeof json.rev, 'number');
      assert.equal(json.nodesExt[0]!.services.kv, f.port, 'advertises the port it listens on');
      assert.equal(json.vBucketServerMap.vBucketMap.length, f.bucket.numVBuckets);
    }),
  );

  test('an unauthenticated SELECT_BUCKET does not select anything for later commands', RAW_TEST, withConn(async (kv) => {
    kv.send({ ...encodeSelectBucketRequest('default'), opaque: 1 }, { ...makeRequest(Opcode.GetClusterConfig), opaque: 2 });
    const [a, b] = await kv.take(2);
    expectStatus(a!, Status.Eaccess);
    expectStatus(b!, Status.Eaccess);
  }));
});

test('GET_ERROR_MAP names statuses as kv error_map_v2.json does and covers sub-document and range-scan statuses', RAW_TEST, withConn(async (kv) => {
  const map = decodeErrorMapResponse(expectStatus(await kv.request(encodeErrorMapRequest(2)), Status.Success));
  assert.equal(map.errors['1']?.name, 'KEY_ENOENT');
  assert.equal(map.errors['86']?.name, 'ETMPFAIL');
  assert.equal(map.errors['a0']?.name, 'DurabilityInvalidLevel');
  assert.deepEqual(map.errors['c0'], { ...map.errors['c0'], name: 'SUBDOC_PATH_ENOENT', attrs: ['subdoc', 'item-only'] });
  assert.deepEqual(map.errors['cd']?.attrs, ['item-deleted', 'success', 'subdoc']);
  assert.deepEqual(map.errors['a6']?.attrs, ['success']);
  assert.equal(map.errors['28']?.name, 'EXPIRY_OVERFLOW');
  // Version 1 leaves out the version-2 attributes.
  const v1 = decodeErrorMapResponse(expectStatus(await kv.request(encodeErrorMapRequest(1)), Status.Success));
  assert.deepEqual(v1.errors['28']?.attrs, ['item-only']);
}));
