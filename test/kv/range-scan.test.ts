/**
 * KV range scans over raw frames (kv_engine docs/range_scans/): create, continue in several
 * responses under the item/byte limits, cancel, the statuses kv_engine answers (NotMyVbucket,
 * UnknownCollection, KeyEnoent for an empty range, VbUuidNotEqual, NotStored, Einval), a document
 * deleted after the create, collections and per-collection access. The codec is checked whole.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePacket, decodeRangeScanContinueResponse, encodePacket, encodeRangeScanCancelRequest, encodeRangeScanContinueRequest,
  encodeRangeScanContinueResponse, encodeRangeScanCreateRequest, decodeRangeScanCreateRequest, makeRequest, Opcode, Status,
  type Packet, type RangeScanCreateRequest,
} from '../../src/codec/index.js';
import { expectStatus, statGroup, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const range = (start: string, end: string, excl = false): RangeScanCreateRequest['scan'] => ({
  range: { start: Buffer.from(start), end: Buffer.from(end), exclStart: excl, exclEnd: excl },
});

/** Keys written into one vbucket (the one `anchor` hashes to), so one scan sees them all. */
async function fill(f: KvFixture, count: number): Promise<{ vb: number; keys: string[] }> {
  const vb = f.vb('anchor');
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `doc-${String(i).padStart(5, '0')}`;
    if (f.vb(key) !== vb) continue;
    await f.bucket.set(key, JSON.stringify({ i }));
    keys.push(key);
  }
  return { vb, keys };
}

async function create(kv: RawKv, req: RangeScanCreateRequest): Promise<Packet> {
  return kv.request(encodeRangeScanCreateRequest(req));
}

/** Every response of one continue, up to the one with RangeScanMore or RangeScanComplete. */
async function continueScan(kv: RawKv, id: Buffer, itemLimit = 0, byteLimit = 0): Promise<Packet[]> {
  kv.send(encodeRangeScanContinueRequest({ id, itemLimit, timeLimitMs: 0, byteLimit }, { opaque: kv.opaque() }));
  return kv.collect((p) => p.status !== Status.Success);
}

const keysOf = (ps: Packet[]): string[] => ps.flatMap((p) => decodeRangeScanContinueResponse(p).map((i) => i.key.toString()));

describe('KV range scans', () => {
  test('the codec: requests and responses round-trip, whole and as frames', () => {
    const req: RangeScanCreateRequest = { vbucket: 9, collection: 0xabc, keyOnly: false, scan: range('a', 'b', true), snapshot: { vbUuid: '123', seqno: 7, seqnoExists: true, timeoutMs: 50 } };
    assert.deepEqual(decodeRangeScanCreateRequest(decodePacket(encodePacket(encodeRangeScanCreateRequest(req)))), req);
    const sampling: RangeScanCreateRequest = { vbucket: 1, collection: 0, keyOnly: true, scan: { sampling: { samples: 5, seed: 42 } } };
    assert.deepEqual(decodeRangeScanCreateRequest(encodeRangeScanCreateRequest(sampling)), sampling);
    const items = [{ key: Buffer.from('k'.repeat(200)), doc: { flags: 1, expiry: 2, seqno: 3, cas: 4n, datatype: 1, value: Buffer.from('{}') } }];
    const back = decodeRangeScanContinueResponse(decodePacket(encodePacket(encodeRangeScanContinueResponse(items, false, Status.RangeScanMore))));
    assert.deepEqual(back, items);
    assert.deepEqual(decodeRangeScanContinueResponse(encodeRangeScanContinueResponse([{ key: Buffer.from('x') }], true, Status.Success)), [{ key: Buffer.from('x') }]);
  });

  test('create, continue under an item limit in several responses, then complete', RAW_TEST, () =>
    withServer(async (f) => {
      const { vb, keys } = await fill(f, 30);
      const kv = await f.open();
      const created = expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: true, scan: range('doc-', 'doc-~') }), Status.Success, 'create');
      assert.equal(created.value.length, 16);
      const first = await continueScan(kv, created.value, 10);
      assert.equal(first.at(-1)!.status, Status.RangeScanMore);
      assert.ok(first.every((p) => p.extras.readUInt32BE(0) === 0), 'flags say keys only');
      const firstKeys = keysOf(first);
      assert.deepEqual(firstKeys, keys.slice(0, 10));
      // A document deleted after the create is skipped.
      await f.bucket.delete(keys[12]!);
      const rest = await continueScan(kv, created.value);
      assert.equal(rest.at(-1)!.status, Status.RangeScanComplete);
      assert.deepEqual(keysOf(rest), keys.slice(10).filter((k) => k !== keys[12]));
      // Complete: the scan is gone.
      const again = await continueScan(kv, created.value);
      assert.equal(again.length, 1);
      assert.equal(again[0]!.status, Status.KeyEnoent);
      const stats = await statGroup(kv, '');
      assert.equal(stats.get('range_scans_created'), '1');
      assert.equal(stats.get('range_scans_completed'), '1');
    }));

  test('documents carry their metadata and value; a byte limit still returns one item', RAW_TEST, () =>
    withServer(async (f) => {
      const { vb, keys } = await fill(f, 3);
      const kv = await f.open();
      const id = expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: false, scan: range(keys[0]!, keys[2]!, true) }), Status.Success).value;
      const [only] = await continueScan(kv, id, 0, 1);
      assert.equal(only!.status, Status.RangeScanComplete);
      assert.equal(only!.extras.readUInt32BE(0), 1);
      const [doc] = decodeRangeScanContinueResponse(only!);
      const stored = f.bucket.get(keys[1]!);
      assert.equal(doc!.key.toString(), keys[1]);
      assert.deepEqual(doc!.doc, { flags: stored.flags, expiry: 0, seqno: stored.seqno, cas: stored.cas, datatype: 1, value: Buffer.from(JSON.stringify({ i: Number(keys[1]!.slice(4)) })) });
    }));

  test('at most 4096 scans are open per bucket: the next create is TMPFAIL until one ends', RAW_TEST, () =>
    withServer(async (f) => {
      const { vb } = await fill(f, 1);
      const kv = await f.open();
      const req = encodeRangeScanCreateRequest({ vbucket: vb, collection: 0, keyOnly: true, scan: range('a', 'z') });
      for (let i = 0; i < 4096; i++) kv.send({ ...req, opaque: 10_000 + i });
      const created = await kv.take(4096);
      assert.ok(created.every((p) => p.status === Status.Success), 'the first 4096 are created');
      expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: true, scan: range('a', 'z') }), Status.Etmpfail, 'one too many');
      expectStatus(await kv.request(encodeRangeScanCancelRequest(created[0]!.value)), Status.Success, 'cancel one');
      expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: true, scan: range('a', 'z') }), Status.Success, 'room again');
    }));

  test('cancel: Success once, then KeyEnoent; continue of a cancelled scan is KeyEnoent', RAW_TEST, () =>
    withServer(async (f) => {
      const { vb } = await fill(f, 2);
      const kv = await f.open();
      const id = expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: true, scan: range('a', 'z') }), Status.Success).value;
      expectStatus(await kv.request(encodeRangeScanCancelRequest(id)), Status.Success, 'cancel');
      expectStatus(await kv.request(encodeRangeScanCancelRequest(id)), Status.KeyEnoent, 'second cancel');
      expectStatus((await continueScan(kv, id))[0]!, Status.KeyEnoent, 'continue');
    }));

  test('refusals: empty range, unknown collection, inactive vbucket, snapshot requirements, bad JSON', RAW_TEST, () =>
    withServer(async (f) => {
      const { vb } = await fill(f, 2);
      const kv = await f.open();
      const scan = range('a', 'z');
      expectStatus(await create(kv, { vbucket: vb, collection: 0, keyOnly: true, scan: range('x', 'y') }), Status.KeyEnoent, 'empty range');
      expectStatus(await create(kv, { vbucket: vb, collection: 0x99, keyOnly: true, scan }), Status.UnknownCollection, 'collection');
      await f.bucket.setVBucketState((vb + 1) % f.bucket.numVBuckets, 'replica');
      expectStatus(await create(kv, { vbucket: (vb + 1) % f.bucket.numVBuckets, collection: 0, keyOnly: true, scan }), Status.NotMyVbucket, 'replica vbucket');
      const info = f.bucket.vbucketInfo(vb);
      await f.bucket.quiesce();
      const snapshot = (over: Partial<NonNullable<RangeScanCreateRequest['snapshot']>>): RangeScanCreateRequest => ({
        vbucket: vb, collection: 0, keyOnly: true, scan, snapshot: { vbUuid: String(info.uuid), seqno: info.highSeqno, seqnoExists: false, ...over },
      });
      expectStatus(await create(kv, snapshot({})), Status.Success, 'requirements met');
      expectStatus(await create(kv, snapshot({ vbUuid: '1' })), Status.VbUuidNotEqual, 'vb uuid');
      expectStatus(await create(kv, snapshot({ seqno: info.highSeqno + 5, seqnoExists: true })), Status.NotStored, 'seqno exists');
      expectStatus(await create(kv, snapshot({ seqno: info.highSeqno + 5, timeoutMs: 20 })), Status.Etmpfail, 'not persisted');
      const badJson = makeRequest(Opcode.RangeScanCreate, { vbucket: vb, value: Buffer.from('{"range":{"start":"YQ=="}}') });
      expectStatus(await kv.request(badJson), Status.Einval, 'range without an end');
      // Keys kv_engine's base64 decoder refuses are Einval too, not whatever Node's decoder skips to.
      for (const bad of ['@@@', 'YQ=x', 'Y', 'YQ===']) {
        const body = JSON.stringify({ range: { start: bad, end: '/w==' } });
        expectStatus(await kv.request(makeRequest(Opcode.RangeScanCreate, { vbucket: vb, value: Buffer.from(body) })), Status.Einval, `start ${bad}`);
      }
      // Padding may be left out, as kv's decoder allows.
      const unpadded = JSON.stringify({ range: { start: 'ZG9j', end: '/w' } });
      expectStatus(await kv.request(makeRequest(Opcode.RangeScanCreate, { vbucket: vb, value: Buffer.from(unpadded) })), Status.Success, 'unpadded');
    }));

  test('a collection scan sees that collection only, and needs Read on it', RAW_TEST, () =>
    withServer(async (f) => {
      await f.bucket.createScope('s');
      await f.bucket.createCollection('s', 'c');
      const cid = f.bucket.collectionByName('s', 'c').id;
      const vb = f.vb('anchor');
      await f.bucket.collectionByName('s', 'c').set('anchor', '{"in":"c"}');
      await f.bucket.set('anchor', '{"in":"default"}');
      const kv = await f.open();
      const id = expectStatus(await create(kv, { vbucket: vb, collection: cid, keyOnly: false, scan: range('', '\xff') }), Status.Success).value;
      const items = (await continueScan(kv, id)).flatMap(decodeRangeScanContinueResponse);
      assert.deepEqual(items.map((i) => [i.key.toString(), i.doc?.value.toString()]), [['anchor', '{"in":"c"}']]);
      await f.server.server.users.setBucketUser('reader', 'reader-secret', [{ role: 'data_reader', bucket: 'default', scope: { name: 's', id: f.bucket.manifest.scopeByName('s')!.id }, collection: { name: 'c', id: cid } }]);
      const reader = await f.open({ user: 'reader', password: 'reader-secret' });
      expectStatus(await create(reader, { vbucket: vb, collection: cid, keyOnly: true, scan: range('', '\xff') }), Status.Success, 'reader on its collection');
      const refused = await create(reader, { vbucket: vb, collection: 0, keyOnly: true, scan: range('', '\xff') });
      assert.ok(refused.status === Status.Eaccess || refused.status === Status.UnknownCollection, `status 0x${refused.status.toString(16)}`);
    }));
});
