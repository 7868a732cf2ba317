/**
 * XMEM over raw frames (issue 17 item 3): SET/ADD/DEL_WITH_META and their quiet forms against a
 * real server, as goxdcr sends them (24-byte extras, or 28 with options; kv's 26/30 with extended
 * meta), checked through GET_META, GET, a DCP stream and the HTTP face's `_changes`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Datatype,
  DcpOpenFlag,
  Feature,
  Opcode,
  Status,
  decodeGetMetaResponse,
  decodeMutationToken,
  encodeGetMetaRequest,
  encodeGetRequest,
  encodeNoopRequest,
  encodeStoreRequest,
  encodeWithMetaRequest,
  makeRequest,
  type WithMetaRequest,
} from '../../src/codec/index.js';
import { encodeXattrBlob } from '../../src/codec/xattr.js';
import { FORCE_ACCEPT_WITH_META_OPS, IS_EXPIRATION, REGENERATE_CAS, SKIP_CONFLICT_RESOLUTION } from '../../src/engine/with-meta.js';
import { ADMIN } from '../helpers/server.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';
import { expectStatus, statGroup, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const CAS = 0x1700_0000_0001_0000n;

function frame(f: KvFixture, req: Omit<WithMetaRequest, 'vbucket'>): ReturnType<typeof encodeWithMetaRequest> {
  return encodeWithMetaRequest({ ...req, vbucket: f.vb(Buffer.from(req.key)) });
}

async function getMeta(f: KvFixture, kv: RawKv, key: string): Promise<ReturnType<typeof decodeGetMetaResponse>> {
  return decodeGetMetaResponse(expectStatus(await kv.request(encodeGetMetaRequest({ key, version: 2, vbucket: f.vb(key) })), Status.Success, 'GET_META'));
}

describe('XMEM on a revid bucket', () => {
  test('SET_WITH_META stores the given meta at a fresh seqno; GET_META, DCP and _changes show it', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const vb = f.vb('doc');
      const expiry = Math.floor(Date.now() / 1000) + 7200;
      const res = expectStatus(await kv.request(frame(f, { key: 'doc', value: '{"from":"xdcr"}', flags: 0xcafe, expiry, revSeqno: 17, metaCas: CAS })), Status.Success);
      assert.equal(res.cas, CAS);
      const token = decodeMutationToken(res);
      assert.equal(token?.seqno, f.bucket.vbucketInfo(vb).highSeqno);
      const meta = await getMeta(f, kv, 'doc');
      assert.deepEqual(meta, { deleted: false, flags: 0xcafe, expiry, revSeqno: 17, cas: CAS, datatype: Datatype.Json });
      const got = expectStatus(await kv.request(encodeGetRequest({ key: 'doc', vbucket: vb })), Status.Success);
      assert.equal(got.value.toString(), '{"from":"xdcr"}');

      const dcp = await DcpTestConsumer.open(f.server);
      try {
        await dcp.streamFromZero(vb);
        await dcp.waitFor('the mutation', () => dcp.items(vb).some((e) => e.type === 'mutation' && e.key.toString() === 'doc'));
        const m = dcp.items(vb).find((e) => e.type === 'mutation' && e.key.toString() === 'doc');
        assert.ok(m?.type === 'mutation');
        assert.deepEqual([m.cas, m.revSeqno, m.flags, m.expiration, m.seqno], [CAS, 17, 0xcafe, expiry, token?.seqno]);
      } finally {
        await dcp.close();
      }

      const auth = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
      const changes = await fetch(`http://127.0.0.1:${f.server.server.ports.http}/default/_changes`, { headers: { authorization: auth } });
      assert.equal(changes.status, 200);
      const body = (await changes.json()) as { results: Array<{ id: string }> };
      assert.deepEqual(body.results.map((r) => r.id), ['doc']);

      // The clock observed the replicated CAS: a local write now gets a larger one.
      const local = expectStatus(await kv.request(encodeStoreRequest({ key: 'local', value: 'x', vbucket: f.vb('local') })), Status.Success);
      assert.ok(local.cas > CAS);
    }));

  test('a losing write is KeyEexists and changes nothing, in loud and quiet forms; quiet success is silent', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(frame(f, { key: 'k', value: 'v1', revSeqno: 10, metaCas: CAS })), Status.Success);
      const before = await getMeta(f, kv, 'k');
      const high = f.bucket.vbucketInfo(f.vb('k')).highSeqno;
      expectStatus(await kv.request(frame(f, { key: 'k', value: 'older', revSeqno: 9, metaCas: CAS + 100n })), Status.KeyEexists, 'lower rev seqno');
      expectStatus(await kv.request(frame(f, { key: 'k', value: 'same', revSeqno: 10, metaCas: CAS })), Status.KeyEexists, 'identical meta');
      const quietLoss = await kv.request(frame(f, { opcode: Opcode.SetQWithMeta, key: 'k', value: 'q', revSeqno: 10, metaCas: CAS - 1n }));
      expectStatus(quietLoss, Status.KeyEexists, 'quiet loss is answered');
      assert.equal(quietLoss.opcode, Opcode.SetQWithMeta);
      assert.deepEqual(await getMeta(f, kv, 'k'), before);
      assert.equal(f.bucket.vbucketInfo(f.vb('k')).highSeqno, high);
      assert.equal(f.bucket.get('k').value.toString(), 'v1');

      // Quiet success: nothing comes back before the NOOP's answer.
      kv.send(frame(f, { opcode: Opcode.SetQWithMeta, key: 'k', value: 'v2', revSeqno: 11, metaCas: CAS }), encodeNoopRequest());
      assert.equal((await kv.next()).opcode, Opcode.Noop);
      assert.equal(f.bucket.get('k').value.toString(), 'v2');
      assert.equal(f.bucket.get('k').revSeqno, 11);
      const stats = await statGroup(kv, '');
      assert.equal(stats.get('ep_num_ops_set_meta'), '2');
      assert.equal(stats.get('ep_num_ops_set_meta_res_fail'), '3');
      assert.equal(stats.get('ep_num_ops_del_meta'), '0');
    }));

  test('a CAS more than an hour ahead is CasValueInvalid (CAS poisoning) and later CAS values stay on the clock', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const high = f.bucket.vbucketInfo(f.vb('poison')).highSeqno;
      for (const metaCas of [(1n << 64n) - 1n, BigInt(Date.now() + 2 * 3600_000) * 1_000_000n]) {
        expectStatus(await kv.request(frame(f, { key: 'poison', value: 'x', revSeqno: 1, metaCas })), Status.CasValueInvalid, `CAS ${metaCas}`);
      }
      assert.equal(f.bucket.vbucketInfo(f.vb('poison')).highSeqno, high);
      // Within the hour it is taken, as XDCR from a node whose clock runs ahead needs.
      const ahead = (BigInt(Date.now() + 60_000) * 1_000_000n) & ~0xffffn;
      expectStatus(await kv.request(frame(f, { key: 'ahead', value: 'x', revSeqno: 1, metaCas: ahead })), Status.Success);
      const local = expectStatus(await kv.request(encodeStoreRequest({ key: 'local', value: 'x', vbucket: f.vb('local') })), Status.Success);
      assert.ok(local.cas > ahead && local.cas < ahead + 1_000_000n, `${local.cas}`);
      // REGENERATE_CAS (with SKIP_CONFLICT_RESOLUTION) replaces the CAS, as kv's "replace" does.
      const regen = expectStatus(await kv.request(frame(f, { key: 'regen', value: 'x', revSeqno: 1, metaCas: (1n << 64n) - 1n, options: SKIP_CONFLICT_RESOLUTION | REGENERATE_CAS })), Status.Success);
      assert.ok(regen.cas > local.cas && regen.cas < (1n << 63n));
    }));

  test('ADD_WITH_META: KeyEexists on a live document, creates on a missing or deleted one', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(encodeStoreRequest({ key: 'live', value: 'x', vbucket: f.vb('live') })), Status.Success);
      expectStatus(await kv.request(frame(f, { opcode: Opcode.AddWithMeta, key: 'live', value: 'y', revSeqno: 99, metaCas: CAS })), Status.KeyEexists);
      expectStatus(await kv.request(frame(f, { opcode: Opcode.AddWithMeta, key: 'fresh', value: 'y', revSeqno: 3, metaCas: CAS })), Status.Success);
      kv.send(frame(f, { opcode: Opcode.AddQWithMeta, key: 'fresh2', value: 'z', revSeqno: 3, metaCas: CAS }), encodeNoopRequest());
      assert.equal((await kv.next()).opcode, Opcode.Noop);
      const quietExists = await kv.request(frame(f, { opcode: Opcode.AddQWithMeta, key: 'live', value: 'y', revSeqno: 99, metaCas: CAS }));
      expectStatus(quietExists, Status.KeyEexists);
      assert.equal(f.bucket.get('fresh2').value.toString(), 'z');
    }));

  test('DEL_WITH_META leaves a tombstone with the meta; GET_META reports its delete time; DCP has the deletion', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const vb = f.vb('del');
      expectStatus(await kv.request(frame(f, { key: 'del', value: 'v', revSeqno: 4, metaCas: CAS })), Status.Success);
      const deleteTime = Math.floor(Date.now() / 1000) - 10;
      expectStatus(await kv.request(frame(f, { opcode: Opcode.DelWithMeta, key: 'del', expiry: deleteTime, flags: 5, revSeqno: 5, metaCas: CAS + 1n })), Status.Success);
      assert.deepEqual(await getMeta(f, kv, 'del'), { deleted: true, flags: 5, expiry: deleteTime, revSeqno: 5, cas: CAS + 1n, datatype: 0 });
      expectStatus(await kv.request(encodeGetRequest({ key: 'del', vbucket: vb })), Status.KeyEnoent);
      // A delete of a key never seen here still leaves its tombstone (XDCR replicates deletes).
      kv.send(frame(f, { opcode: Opcode.DelQWithMeta, key: 'unseen', revSeqno: 8, metaCas: CAS }), encodeNoopRequest());
      assert.equal((await kv.next()).opcode, Opcode.Noop);
      assert.equal((await getMeta(f, kv, 'unseen')).revSeqno, 8);
      // An older delete loses against the tombstone.
      expectStatus(await kv.request(frame(f, { opcode: Opcode.DelWithMeta, key: 'del', revSeqno: 5, metaCas: CAS + 1n })), Status.KeyEexists);

      const dcp = await DcpTestConsumer.open(f.server, { openFlags: DcpOpenFlag.Producer | DcpOpenFlag.IncludeDeleteTimes });
      try {
        await dcp.streamFromZero(vb);
        await dcp.waitFor('the deletion', () => dcp.items(vb).some((e) => e.type === 'deletion' && e.key.toString() === 'del'));
        const d = dcp.items(vb).find((e) => e.type === 'deletion' && e.key.toString() === 'del');
        assert.ok(d?.type === 'deletion');
        assert.equal(d.deleteTime, deleteTime);
      } finally {
        await dcp.close();
      }
    }));

  test('IS_EXPIRATION makes the deletion a DCP expiration', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const vb = f.vb('ttl');
      expectStatus(await kv.request(frame(f, { key: 'ttl', value: 'v', revSeqno: 1, metaCas: CAS })), Status.Success);
      expectStatus(await kv.request(frame(f, { opcode: Opcode.DelWithMeta, key: 'ttl', revSeqno: 2, metaCas: CAS + 1n, options: IS_EXPIRATION })), Status.Success);
      const dcp = await DcpTestConsumer.open(f.server, {
        openFlags: DcpOpenFlag.Producer | DcpOpenFlag.IncludeDeleteTimes,
        controls: { enable_expiry_opcode: 'true' },
      });
      try {
        await dcp.streamFromZero(vb);
        await dcp.waitFor('the expiration', () => dcp.items(vb).some((e) => e.type === 'expiration'));
        assert.ok(!dcp.items(vb).some((e) => e.type === 'deletion'));
      } finally {
        await dcp.close();
      }
    }));

  test('options: SKIP_CONFLICT_RESOLUTION takes an older version, REGENERATE_CAS gives a fresh CAS; bad combinations are Einval', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(frame(f, { key: 'o', value: 'new', revSeqno: 50, metaCas: CAS })), Status.Success);
      expectStatus(await kv.request(frame(f, { key: 'o', value: 'old', revSeqno: 1, metaCas: 1n, options: SKIP_CONFLICT_RESOLUTION })), Status.Success);
      assert.deepEqual([f.bucket.get('o').value.toString(), f.bucket.get('o').cas], ['old', 1n]);
      const regen = expectStatus(await kv.request(frame(f, { key: 'o', value: 'regen', revSeqno: 2, metaCas: 2n, options: SKIP_CONFLICT_RESOLUTION | REGENERATE_CAS })), Status.Success);
      assert.ok(regen.cas > CAS, 'a CAS from this node clock, above every CAS it has seen');
      assert.equal((await getMeta(f, kv, 'o')).cas, regen.cas);
      expectStatus(await kv.request(frame(f, { key: 'o', value: 'x', revSeqno: 99, metaCas: CAS, options: REGENERATE_CAS })), Status.Einval);
      expectStatus(await kv.request(frame(f, { key: 'o', value: 'x', revSeqno: 99, metaCas: CAS, options: FORCE_ACCEPT_WITH_META_OPS })), Status.Einval);
      assert.equal(f.bucket.get('o').value.toString(), 'regen');
    }));

  test('extras of 26 and 30 bytes: the extended meta is cut off the value; malformed frames are Einval', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const ext = Buffer.from([0x01, 0x02, 0x00, 0x01, 0x00]);
      expectStatus(await kv.request(frame(f, { key: 'e26', value: 'body', revSeqno: 1, metaCas: CAS, extendedMeta: ext })), Status.Success);
      assert.equal(f.bucket.get('e26').value.toString(), 'body');
      expectStatus(await kv.request(frame(f, { key: 'e30', value: 'body30', revSeqno: 1, metaCas: CAS, options: 0, extendedMeta: ext })), Status.Success);
      assert.equal(f.bucket.get('e30').value.toString(), 'body30');
      const bad = (extras: Buffer, value = Buffer.from('v')) => makeRequest(Opcode.SetWithMeta, { extras, key: Buffer.from('bad'), value, vbucket: f.vb('bad') });
      expectStatus(await kv.request(bad(Buffer.alloc(20))), Status.Einval, '20-byte extras');
      expectStatus(await kv.request(bad(Buffer.alloc(25))), Status.Einval, '25-byte extras');
      const tooLong = Buffer.alloc(26);
      tooLong.writeUInt16BE(50, 24);
      expectStatus(await kv.request(bad(tooLong)), Status.Einval, 'extended meta longer than the value');
      const snappy = encodeWithMetaRequest({ key: 'bad', value: 'v', revSeqno: 1, metaCas: CAS, datatype: Datatype.Snappy, vbucket: f.vb('bad') });
      expectStatus(await kv.request(snappy), Status.Einval, 'snappy');
      const brokenXattr = encodeWithMetaRequest({ key: 'bad', value: Buffer.from([0, 0, 0, 9, 1]), revSeqno: 1, metaCas: CAS, datatype: Datatype.Xattr, vbucket: f.vb('bad') });
      expectStatus(await kv.request(brokenXattr), Status.XattrEinval, 'malformed xattr section');
      assert.equal(f.bucket.lookup(Buffer.from('bad')), undefined);
    }));

  test('a value with an xattr section keeps its xattrs; GET_META v2 reports XATTR; a header CAS must match', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const blob = encodeXattrBlob(Buffer.from('{"_sync":{"rev":"1-a"}}'))!;
      const value = Buffer.concat([blob, Buffer.from('{"a":1}')]);
      expectStatus(await kv.request(frame(f, { key: 'x', value, revSeqno: 1, metaCas: CAS, datatype: Datatype.Xattr | Datatype.Json })), Status.Success);
      const item = f.bucket.get('x');
      assert.equal(item.value.toString(), '{"a":1}');
      assert.deepEqual(JSON.parse(item.xattrs!.toString()), { _sync: { rev: '1-a' } });
      assert.equal((await getMeta(f, kv, 'x')).datatype, Datatype.Json | Datatype.Xattr);
      expectStatus(await kv.request(frame(f, { key: 'x', value: 'v', revSeqno: 2, metaCas: CAS, cas: CAS + 5n })), Status.KeyEexists, 'header CAS mismatch');
      expectStatus(await kv.request(frame(f, { key: 'nope', value: 'v', revSeqno: 2, metaCas: CAS, cas: 5n })), Status.KeyEnoent, 'header CAS on a missing key');
      expectStatus(await kv.request(frame(f, { key: 'x', value: 'v', revSeqno: 2, metaCas: CAS, cas: CAS })), Status.Success);
      assert.equal(f.bucket.get('x').xattrs, null, 'the replicated version replaces the xattrs');
    }));

  test('with-meta writes need write rights: a reader gets Eaccess (NoAccess 0x24), a data_writer succeeds', RAW_TEST, () =>
    withServer(async (f) => {
      const users = f.server.server.users;
      await users.setBucketUser('reader', 'reader-pw', [{ role: 'data_reader', bucket: 'default' }]);
      await users.setBucketUser('writer', 'writer-pw', [{ role: 'data_writer', bucket: 'default' }]);
      const features = [Feature.Xerror, Feature.SelectBucket, Feature.Json];
      const reader = await f.open({ user: 'reader', password: 'reader-pw', features });
      for (const opcode of [Opcode.SetWithMeta, Opcode.AddWithMeta, Opcode.DelWithMeta]) {
        expectStatus(await reader.request(frame(f, { opcode, key: 'r', value: 'v', revSeqno: 1, metaCas: CAS })), Status.Eaccess, 'reader');
      }
      assert.equal(f.bucket.lookup(Buffer.from('r')), undefined);
      const writer = await f.open({ user: 'writer', password: 'writer-pw', features });
      for (const opcode of [Opcode.SetWithMeta, Opcode.DelWithMeta]) {
        expectStatus(await writer.request(frame(f, { opcode, key: 'w', value: 'v', revSeqno: opcode === Opcode.SetWithMeta ? 1 : 2, metaCas: CAS })), Status.Success);
      }
    }));
});

describe('XMEM on a last-write-wins bucket', () => {
  test('created over REST with conflictResolutionType=lww: CAS decides, FORCE_ACCEPT is required', RAW_TEST, () =>
    withServer(async (f) => {
      const base = `http://127.0.0.1:${f.server.server.ports.mgmt}`;
      const auth = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
      const form = (body: Record<string, string>) => ({
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
      const bad = await fetch(`${base}/pools/default/buckets`, form({ name: 'x', numVBuckets: '16', conflictResolutionType: 'custom-ish' }));
      assert.equal(bad.status, 400);
      assert.deepEqual(((await bad.json()) as { errors: unknown }).errors, { conflictResolutionType: "Conflict resolution type must be 'seqno' or 'lww'" });
      const made = await fetch(`${base}/pools/default/buckets`, form({ name: 'lww', numVBuckets: '16', conflictResolutionType: 'lww' }));
      assert.equal(made.status, 202);
      const config = (await (await fetch(`${base}/pools/default/buckets/lww`, { headers: { authorization: auth } })).json()) as { conflictResolutionType: string };
      assert.equal(config.conflictResolutionType, 'lww');
      const dflt = (await (await fetch(`${base}/pools/default/buckets/default`, { headers: { authorization: auth } })).json()) as { conflictResolutionType: string };
      assert.equal(dflt.conflictResolutionType, 'seqno');
      const edit = await fetch(`${base}/pools/default/buckets/lww`, form({ conflictResolutionType: 'seqno' }));
      assert.equal(edit.status, 400);

      const bucket = f.engine.requireBucket('lww');
      const kv = await f.open({ bucket: 'lww' });
      const vb = (key: string) => bucket.vbucketOf(key);
      const lwwFrame = (req: Omit<WithMetaRequest, 'vbucket'>) => encodeWithMetaRequest({ ...req, vbucket: vb(String(req.key)) });
      expectStatus(await kv.request(lwwFrame({ key: 'k', value: 'a', revSeqno: 1, metaCas: CAS })), Status.Einval, 'no FORCE_ACCEPT');
      expectStatus(await kv.request(lwwFrame({ key: 'k', value: 'a', revSeqno: 100, metaCas: CAS, options: FORCE_ACCEPT_WITH_META_OPS })), Status.Success);
      expectStatus(await kv.request(lwwFrame({ key: 'k', value: 'b', revSeqno: 999, metaCas: CAS - 1n, options: FORCE_ACCEPT_WITH_META_OPS })), Status.KeyEexists, 'older CAS, higher rev');
      expectStatus(await kv.request(lwwFrame({ key: 'k', value: 'c', revSeqno: 1, metaCas: CAS + 1n, options: FORCE_ACCEPT_WITH_META_OPS })), Status.Success, 'newer CAS, lower rev');
      assert.deepEqual([bucket.get('k').value.toString(), bucket.get('k').revSeqno], ['c', 1]);
    }));
});
