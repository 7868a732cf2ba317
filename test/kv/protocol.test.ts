/**
 * Raw-frame tests of the KV connection rules (issue 3, "Connection rules"; dcp.md §1-§2):
 * unknown opcodes, NOT_MY_VBUCKET with the cluster map, HELLO negotiation, collection-prefixed
 * keys, datatypes, flexible framing, and QUIT.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Datatype,
  Feature,
  Magic,
  Opcode,
  Status,
  decodeGetResponse,
  decodeHelloResponse,
  decodeMutationToken,
  encodeFrameInfos,
  encodeGetMetaRequest,
  encodeGetRequest,
  encodeHelloRequest,
  encodeNoopRequest,
  encodeStoreRequest,
  durabilityFrame,
  joinCollectionKey,
  makeRequest,
  preserveTtlFrame,
  DurabilityLevel,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus, hello, SDK_FEATURES } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

function set(f: KvFixture, key: string, value: string, init: Partial<Packet> = {}): Packet {
  return encodeStoreRequest({ key, value, vbucket: f.vb(key) }, init);
}

function get(f: KvFixture, key: string | Buffer, init: Partial<Packet> = {}): Packet {
  return encodeGetRequest({ key, vbucket: f.vb(key) }, init);
}

interface ConfigJson {
  rev: number;
  name: string;
  vBucketServerMap: { vBucketMap: number[][] };
}

function configOf(p: Packet): ConfigJson {
  assert.equal(p.datatype & Datatype.Json, Datatype.Json, 'NOT_MY_VBUCKET body is flagged JSON (the SDK ignores it otherwise)');
  return JSON.parse(p.value.toString('utf8')) as ConfigJson;
}

describe('unknown and unsupported opcodes', () => {
  test('an opcode nobody defines, and one Freshet does not implement, get UnknownCommand 0x81', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(makeRequest(0x30)), Status.UnknownCommand, 'opcode 0x30 (RGET)');
      expectStatus(await kv.request(makeRequest(Opcode.SetDriftCounterState, { key: Buffer.from('k') })), Status.UnknownCommand);
      // Also before authentication: the command table is consulted first.
      const bare = await f.connect();
      expectStatus(await bare.request(makeRequest(0xee)), Status.UnknownCommand, 'opcode 0xee');
      // The connection is still usable.
      expectStatus(await kv.request(encodeNoopRequest()), Status.Success);
    }));
});

describe('NOT_MY_VBUCKET', () => {
  test('a request naming the wrong vbucket gets 0x07 with the bucket config as JSON', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const wrong = (f.vb('k') + 1) % f.bucket.numVBuckets;
      const res = expectStatus(await kv.request(encodeStoreRequest({ key: 'k', value: 'v', vbucket: wrong })), Status.NotMyVbucket);
      const config = configOf(res);
      assert.equal(config.name, 'default');
      assert.equal(config.vBucketServerMap.vBucketMap.length, f.bucket.numVBuckets);
      assert.equal(f.bucket.vbucketInfo(f.vb('k')).highSeqno, 0, 'nothing was stored');
      expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: wrong })), Status.NotMyVbucket);
      expectStatus(await kv.request(encodeGetRequest({ key: 'k', vbucket: 0xffff })), Status.NotMyVbucket, 'vbucket out of range');
    }));

  test('a replica vbucket answers 0x07, and the map in the body shows no active owner for it', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const vb = f.vb('r');
      expectStatus(await kv.request(set(f, 'r', 'before')), Status.Success);
      await f.engine.setVBucketState('default', vb, 'replica');

      const res = expectStatus(await kv.request(get(f, 'r')), Status.NotMyVbucket);
      assert.equal(configOf(res).vBucketServerMap.vBucketMap[vb]![0], -1);
      expectStatus(await kv.request(set(f, 'r', 'after')), Status.NotMyVbucket);
      expectStatus(await kv.request(encodeGetMetaRequest({ key: 'r', vbucket: vb, version: 2 })), Status.NotMyVbucket);
      // Other vbuckets are unaffected.
      const other = ['a', 'b', 'c', 'd'].find((k) => f.vb(k) !== vb)!;
      expectStatus(await kv.request(set(f, other, 'x')), Status.Success);

      await f.engine.setVBucketState('default', vb, 'active');
      const back = expectStatus(await kv.request(get(f, 'r')), Status.Success);
      assert.equal(back.value.toString(), 'before');
      assert.equal(configOf(await kv.request(encodeGetRequest({ key: 'r', vbucket: (vb + 1) % 64 }))).vBucketServerMap.vBucketMap[vb]![0], 0);
    }));
});

describe('HELLO', () => {
  test('grants only implemented features, in ascending order, and nothing the SDK must not get', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.connect();
      const granted = await hello(kv, SDK_FEATURES);
      // kv hello_packet_executor.cc collects the request in a std::set<Feature>: code order.
      const expected = [
        Feature.TcpNoDelay,
        Feature.MutationSeqno,
        Feature.Xattr,
        Feature.Xerror,
        Feature.SelectBucket,
        Feature.Json,
        Feature.AltRequestSupport,
        Feature.SyncReplication,
        Feature.Collections,
        Feature.PreserveTtl,
        Feature.VAttr,
        Feature.SubdocCreateAsDeleted,
        Feature.SubdocReplicaRead,
      ];
      assert.deepEqual(granted, expected);
      // Not snappy (values are not decompressed), duplex/notifications, unordered execution,
      // or tracing (no 0x18 replies). XATTR, VATTR and CREATE_AS_DELETED are granted: the
      // sub-document commands serve xattrs, virtual xattrs and tombstone creation (transactions).
      for (const no of [Feature.Snappy, Feature.Duplex, Feature.ClustermapChangeNotification, Feature.UnorderedExecution, Feature.Tracing]) {
        assert.ok(!(granted as number[]).includes(no), `feature 0x${no.toString(16)} is not granted`);
      }
    }));

  test('unknown and repeated codes are ignored; a later HELLO replaces the earlier set', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: [Feature.MutationSeqno, 0x7777, Feature.MutationSeqno, Feature.Json] });
      const withToken = expectStatus(await kv.request(set(f, 'k', 'v')), Status.Success);
      const token = decodeMutationToken(withToken);
      assert.equal(token?.seqno, f.bucket.get('k').seqno);
      assert.equal(token?.vbUuid, f.bucket.vbucketInfo(f.vb('k')).uuid);

      const res = expectStatus(await kv.request(encodeHelloRequest({ agent: 'again', features: [Feature.Json] })), Status.Success);
      assert.deepEqual(decodeHelloResponse(res).features, [Feature.Json]);
      const noToken = expectStatus(await kv.request(set(f, 'k', 'w')), Status.Success);
      assert.equal(noToken.extras.length, 0, 'no mutation token once MUTATION_SEQNO is gone');
    }));

  test('a feature asked for without the ones it needs is EINVAL, and the earlier features stay', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.connect();
      await hello(kv, [Feature.Xerror, Feature.Json]);
      for (const features of [[Feature.VAttr], [Feature.Json, Feature.SubdocDocumentMacroSupport], [Feature.ClustermapChangeNotification, Feature.Xattr]]) {
        const bad = expectStatus(await kv.request(encodeHelloRequest({ agent: 'x', features })), Status.Einval, features.join());
        // XERROR from the first HELLO is still on: the refusal carries kv's context.
        assert.match((JSON.parse(bad.value.toString()) as { error: { context: string } }).error.context, / needs /);
      }
      const again = expectStatus(await kv.request(encodeHelloRequest({ agent: 'x', features: [Feature.VAttr, Feature.Json, Feature.Xattr, Feature.Json] })), Status.Success);
      assert.deepEqual(decodeHelloResponse(again).features, [Feature.Xattr, Feature.Json, Feature.VAttr]);
    }));

  test('a feature list of odd length is an invalid request, not a dropped connection', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.connect();
      const bad = makeRequest(Opcode.Hello, { key: Buffer.from('x'), value: Buffer.from([0, 4, 0]) });
      expectStatus(await kv.request(bad), Status.Einval);
      expectStatus(await kv.request(encodeNoopRequest()), Status.Success);
    }));
});

describe('collections', () => {
  test('with Collections granted, keys carry the LEB128 collection id; a fresh bucket has the default collection only', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: [Feature.Collections, Feature.Xerror] });
      const key = joinCollectionKey(0, 'ck');
      // The vbucket is computed on the key without the prefix (§3.7).
      expectStatus(await kv.request(encodeStoreRequest({ key, value: 'in-default', vbucket: f.vb('ck') })), Status.Success);
      assert.equal(f.bucket.get('ck').value.toString(), 'in-default');
      const res = expectStatus(await kv.request(encodeGetRequest({ key, vbucket: f.vb('ck') })), Status.Success);
      assert.equal(decodeGetResponse(res).value.toString(), 'in-default');

      const other = joinCollectionKey(8, 'ck');
      expectStatus(await kv.request(encodeGetRequest({ key: other, vbucket: f.vb('ck') })), Status.UnknownCollection);
      expectStatus(await kv.request(encodeGetRequest({ key: Buffer.from([0x80]), vbucket: 0 })), Status.Einval, 'truncated LEB128');

      const id = await kv.request(makeRequest(Opcode.CollectionsGetId, { value: Buffer.from('_default._default') }));
      expectStatus(id, Status.Success);
      assert.equal(id.extras.length, 12, 'manifest uid (8) + collection id (4)');
      assert.equal(id.extras.readUInt32BE(8), 0);
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetId, { value: Buffer.from('_default.hotels') })), Status.UnknownCollection);
      expectStatus(await kv.request(makeRequest(Opcode.CollectionsGetId, { value: Buffer.from('inventory.hotels') })), Status.UnknownScope);
    }));

  test('without Collections, a leading 0x00 byte is part of the key', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(set(f, 'ck', 'plain')), Status.Success);
      const raw = joinCollectionKey(0, 'ck');
      expectStatus(await kv.request(get(f, raw)), Status.KeyEnoent);
    }));
});

describe('datatypes and framing', () => {
  test('the JSON bit is accepted without negotiation and returned only to clients that asked for it', RAW_TEST, () =>
    withServer(async (f) => {
      const plain = await f.open({ features: [] });
      expectStatus(await plain.request(set(f, 'j', '{"a":1}', { datatype: Datatype.Json })), Status.Success);
      assert.equal((await plain.request(get(f, 'j'))).datatype, 0);
      const json = await f.open({ features: [Feature.Json] });
      assert.equal((await json.request(get(f, 'j'))).datatype, Datatype.Json);
      // Snappy was not negotiated: a compressed value is refused rather than stored as garbage.
      expectStatus(await json.request(set(f, 's', 'x', { datatype: Datatype.Snappy })), Status.Einval);
    }));

  test('flexible framing: a durability frame is accepted, and PreserveTTL keeps the expiry', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const durable = set(f, 'd', 'v', {
        magic: Magic.AltClientRequest,
        framingExtras: encodeFrameInfos([durabilityFrame({ level: DurabilityLevel.Majority, timeoutMs: 9000 })]),
      });
      expectStatus(await kv.request(durable), Status.Success);
      assert.equal(f.bucket.get('d').value.toString(), 'v');

      expectStatus(await kv.request(encodeStoreRequest({ key: 'p', value: '1', vbucket: f.vb('p'), expiration: 3600 })), Status.Success);
      const expiry = f.bucket.get('p').expiry;
      const keep = set(f, 'p', '2', { magic: Magic.AltClientRequest, framingExtras: encodeFrameInfos([preserveTtlFrame()]) });
      expectStatus(await kv.request(keep), Status.Success);
      assert.equal(f.bucket.get('p').value.toString(), '2');
      assert.equal(f.bucket.get('p').expiry, expiry);
    }));
});

describe('QUIT and stray magics', () => {
  test('QUIT answers after the earlier replies, then closes; later requests are not run', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      kv.send(set(f, 'q1', 'v', { opaque: 11 }), makeRequest(Opcode.Quit, { opaque: 12 }), set(f, 'q2', 'v', { opaque: 13 }));
      const [a, b] = await kv.take(2);
      assert.deepEqual([a!.opaque, a!.status, b!.opaque, b!.opcode], [11, Status.Success, 12, Opcode.Quit]);
      await kv.waitClosed();
      assert.equal(f.bucket.get('q1').value.toString(), 'v');
      assert.throws(() => f.bucket.get('q2'), /not found/);
    }));

  test('a server-request magic (0x82) from a client is a protocol error, not a command', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      kv.send(set(f, 'srv', 'v', { magic: Magic.ServerRequest }));
      await kv.waitClosed();
      assert.throws(() => f.bucket.get('srv'), /not found/);
    }));
});
