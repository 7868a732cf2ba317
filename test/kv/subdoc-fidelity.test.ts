/**
 * Sub-document details checked against kv_engine and subjson (daemon/subdocument_validators.cc,
 * subjson subdoc/path.cc and operations.cc): which request combinations are refused, how COUNTER
 * reads its delta, what counts as a value, and the path grammar as the server applies it.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Datatype,
  Feature,
  Opcode,
  Status,
  SubdocDocFlag,
  SubdocPathFlag,
  decodeLookupResults,
  decodeMutationFailure,
  encodeGetLockedRequest,
  encodeMultiRequest,
  type Packet,
} from '../../src/codec/index.js';
import { RAW_TEST, withServer } from './fixture.js';
import { expectStatus, subdocSingle as single } from './raw-client.js';

const FEATURES = [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.MutationSeqno, Feature.Xattr, Feature.SubdocReplicaRead];
const { XattrPath } = SubdocPathFlag;

describe('sub-document fidelity', () => {
  test('a whole-document DELETE after a body spec is INVALID_COMBO, and nothing is deleted', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('d');
      await f.bucket.set('d', '{"a":1}');
      const specs = [
        { opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: 'x', value: '1' },
        { opcode: Opcode.SubdocDictUpsert, path: 'b', value: '2' },
        { opcode: Opcode.Delete, path: '' },
      ];
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'd', vbucket: vb, specs })), Status.SubdocInvalidCombo);
      assert.equal(f.bucket.get('d').value.toString(), '{"a":1}');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a'), Status.Success).value.toString(), '1');
      // After xattr specs only, the DELETE is allowed.
      const ok = await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'd', vbucket: vb, specs: [specs[0]!, specs[2]!] }));
      expectStatus(ok, Status.Success);
      assert.equal(f.bucket.getMeta('d').deleted, true);
    }));

  test('COUNTER deltas: no leading zero and no plus sign', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('c');
      await f.bucket.set('c', '{"n":5}');
      for (const delta of ['+5', '05', '-05', '-0', '-', '5 ', '1e3']) {
        expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'c', 'n', { value: delta }), Status.SubdocDeltaEinval, delta);
      }
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'c', 'n', { value: '-15' }), Status.Success).value.toString(), '-10');
      assert.equal(f.bucket.get('c').value.toString(), '{"n":-10}');
    }));

  test('a value of only whitespace cannot be inserted, even in an array', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('w');
      await f.bucket.set('w', '{"l":[1]}');
      for (const opcode of [Opcode.SubdocArrayPushLast, Opcode.SubdocArrayPushFirst]) {
        expectStatus(await single(kv, vb, opcode, 'w', 'l', { value: ' \t' }), Status.SubdocValueCantinsert);
      }
      expectStatus(await single(kv, vb, Opcode.SubdocArrayInsert, 'w', 'l[0]', { value: '\n' }), Status.SubdocValueCantinsert);
      assert.equal(f.bucket.get('w').value.toString(), '{"l":[1]}');
    }));

  test('REPLICA_READ with ACCESS_DELETED is EINVAL', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('r');
      await f.bucket.set('r', '{"a":1}');
      const { ReplicaRead, AccessDeleted } = SubdocDocFlag;
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'r', 'a', { docFlags: ReplicaRead | AccessDeleted }), Status.Einval);
      const multi = encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'r', vbucket: vb, docFlags: ReplicaRead | AccessDeleted, specs: [{ opcode: Opcode.SubdocGet, path: 'a' }] });
      expectStatus(await kv.request(multi), Status.Einval);
    }));

  test('paths as subjson parses them: escaped JSON metacharacters, a trailing dot, an empty index', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('p');
      await f.bucket.set('p', '{"a":[7,8],"q\\"t":1}');
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'p', 'x"y', { value: '1' }), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', 'q"t'), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', '``'), Status.SubdocPathEinval);
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', 'q\\"t'), Status.Success).value.toString(), '1');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', 'a.'), Status.Success).value.toString(), '[7,8]');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', 'a.[1]'), Status.Success).value.toString(), '8');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'p', 'a[]'), Status.Success).value.toString(), '7');
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'p', 'n\\tl', { value: '2' }), Status.Success);
      assert.equal(f.bucket.get('p').value.toString(), '{"a":[7,8],"q\\"t":1,"n\\tl":2}');
    }));

  test('a tombstone keeps the user xattrs its specs write', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('t');
      const { Mkdoc, CreateAsDeleted, AccessDeleted } = SubdocDocFlag;
      // kv_engine XattrNoDocTest.MultipathDictAdd: the staged `txn` xattr of a transaction insert.
      const created = encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 't', vbucket: vb, docFlags: Mkdoc | CreateAsDeleted, specs: [{ opcode: Opcode.SubdocDictAdd, flags: XattrPath, path: 'txn', value: '"foo"' }] });
      expectStatus(await kv.request(created), Status.SubdocSuccessDeleted);
      const got = expectStatus(await single(kv, vb, Opcode.SubdocGet, 't', 'txn', { pathFlags: XattrPath, docFlags: AccessDeleted }), Status.SubdocSuccessDeleted);
      assert.equal(got.value.toString(), '"foo"');
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', 'more', { value: '1', pathFlags: XattrPath, docFlags: AccessDeleted }), Status.SubdocSuccessDeleted);
      assert.deepEqual(JSON.parse(f.bucket.getMeta('t').xattrs!.toString()), { txn: 'foo', more: 1 });
    }));

  test('a whole-document GET of an empty body (a tombstone) is PATH_ENOENT', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('g');
      const { Add, CreateAsDeleted, AccessDeleted } = SubdocDocFlag;
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'g', '_x', { value: '1', pathFlags: XattrPath, docFlags: Add | CreateAsDeleted }), Status.SubdocSuccessDeleted);
      const look = await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'g', vbucket: vb, docFlags: AccessDeleted, specs: [{ opcode: Opcode.SubdocGet, flags: XattrPath, path: '_x' }, { opcode: Opcode.Get, path: '' }] }));
      expectStatus(look, Status.SubdocMultiPathFailureDeleted);
      assert.deepEqual(decodeLookupResults(look.value).map((r) => [r.status, r.value.toString()]), [[Status.Success, '1'], [Status.SubdocPathEnoent, '']]);
    }));

  test('a document created by xattr specs alone has the body {}; the first spec picks the root', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const { Mkdoc, Add } = SubdocDocFlag;
      expectStatus(await single(kv, f.vb('n1'), Opcode.SubdocDictUpsert, 'n1', 'u', { value: '1', pathFlags: XattrPath, docFlags: Mkdoc }), Status.Success);
      const doc = f.bucket.get('n1');
      assert.equal(doc.value.toString(), '{}');
      assert.equal(doc.datatype & Datatype.Json, Datatype.Json);
      // An xattr spec first makes the root an object, so a push to the root is a mismatch.
      const specs = [{ opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: 'u', value: '1' }, { opcode: Opcode.SubdocArrayPushLast, path: '', value: '1' }];
      const pushed = await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'n2', vbucket: f.vb('n2'), docFlags: Add, specs }));
      expectStatus(pushed, Status.SubdocMultiPathFailure);
      assert.deepEqual(decodeMutationFailure(pushed.value), { index: 1, status: Status.SubdocPathMismatch });
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'n3', vbucket: f.vb('n3'), docFlags: Add, specs: [specs[1]!, { ...specs[1]!, value: '2' }] })), Status.Success);
      assert.equal(f.bucket.get('n3').value.toString(), '[1,2]');
    }));

  test('X-Keys: at most 15 bytes, not a lone _ or $ (key_validator.cc)', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('k');
      await f.bucket.set('k', '{}');
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'k', 'k'.repeat(15), { value: '1', pathFlags: XattrPath }), Status.Success);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'k', 'k'.repeat(16), { value: '1', pathFlags: XattrPath }), Status.XattrEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'k', `${'k'.repeat(16)}.a`, { pathFlags: XattrPath }), Status.XattrEinval);
      for (const key of ['_', '$', '_.a', '$[0]', '-x']) {
        expectStatus(await single(kv, vb, Opcode.SubdocGet, 'k', key, { pathFlags: XattrPath }), Status.XattrEinval, key);
      }
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'k', 'a\u0000', { pathFlags: XattrPath }), Status.XattrEinval);
    }));

  test('doc flags an opcode does not take are EINVAL (subdocument_traits.h valid_doc_flags)', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('v');
      await f.bucket.set('v', '{"a":1,"l":[1]}');
      const { Mkdoc, Add, CreateAsDeleted } = SubdocDocFlag;
      expectStatus(await single(kv, vb, Opcode.SubdocReplace, 'v', 'a', { value: '2', docFlags: Mkdoc }), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocDelete, 'v', 'a', { docFlags: Mkdoc }), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocDelete, 'v', 'a', { docFlags: Add }), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocArrayInsert, 'v', 'l[0]', { value: '0', docFlags: Mkdoc }), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocReplace, 'v', '_x', { value: '1', pathFlags: XattrPath, docFlags: Add | CreateAsDeleted }), Status.Einval);
      // In a multi-mutation every spec is checked against the command's doc flags.
      const specs = [{ opcode: Opcode.SubdocDictUpsert, path: 'b', value: '1' }, { opcode: Opcode.SubdocDelete, path: 'a' }];
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'v', vbucket: vb, docFlags: Mkdoc, specs })), Status.Einval);
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'v', vbucket: vb, specs })), Status.Success);
      assert.equal(f.bucket.get('v').value.toString(), '{"l":[1],"b":1}');
    }));

  test('a lookup checks the CAS: LOCKED on a locked document without one, KEY_EEXISTS on a stale one', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('L');
      await f.bucket.set('L', '{"a":1}');
      const cas = f.bucket.getMeta('L').cas;
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'L', 'a', { cas: cas + 1n }), Status.KeyEexists);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'L', 'a', { cas }), Status.Success);
      const lock = expectStatus(await kv.request(encodeGetLockedRequest({ key: 'L', vbucket: vb, lockTime: 10 })), Status.Success);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'L', 'a'), Status.Locked);
      const specs = [{ opcode: Opcode.SubdocGet, flags: XattrPath, path: '$document.CAS' }, { opcode: Opcode.SubdocGet, path: 'a' }];
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'L', vbucket: vb, specs })), Status.Locked);
      // With a CAS the lookup goes on, and sees the document as GET does: CAS 0xffffffffffffffff.
      const multi = expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'L', vbucket: vb, specs, cas: lock.cas })), Status.Success);
      assert.equal(multi.cas, 0xffffffffffffffffn);
      assert.equal(decodeLookupResults(multi.value)[0]!.value.toString(), '"0xffffffffffffffff"');
      // The lock CAS still unlocks through a mutation.
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'L', 'b', { value: '2', cas: lock.cas }), Status.Success);
    }));

  test('ADD with ACCESS_DELETED finds a tombstone: KEY_EEXISTS; without ACCESS_DELETED it creates', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('a');
      const { Add, AccessDeleted, CreateAsDeleted } = SubdocDocFlag;
      const stage = (docFlags: number, value: string): Promise<Packet> =>
        single(kv, vb, Opcode.SubdocDictUpsert, 'a', 'txn', { value, pathFlags: XattrPath, docFlags });
      expectStatus(await stage(Add | AccessDeleted | CreateAsDeleted, '"first"'), Status.SubdocSuccessDeleted);
      expectStatus(await stage(Add | AccessDeleted | CreateAsDeleted, '"second"'), Status.KeyEexists);
      const got = expectStatus(await single(kv, vb, Opcode.SubdocGet, 'a', 'txn', { pathFlags: XattrPath, docFlags: AccessDeleted }), Status.SubdocSuccessDeleted);
      assert.equal(got.value.toString(), '"first"');
      expectStatus(await stage(Add, '"live"'), Status.Success);
      assert.equal(f.bucket.get('a').value.toString(), '{}');
    }));

  test('nothing after the 16th spec is parsed: a 17th, even truncated, is INVALID_COMBO after the 16 are checked', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('m');
      await f.bucket.set('m', '{"a":1}');
      const sixteen = encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: Array.from({ length: 16 }, () => ({ opcode: Opcode.SubdocGet, path: 'a' })) });
      expectStatus(await kv.request(sixteen), Status.Success);
      const truncated = { ...sixteen, value: Buffer.concat([sixteen.value, Buffer.from([Opcode.SubdocGet, 0, 0])]) };
      expectStatus(await kv.request(truncated), Status.SubdocInvalidCombo);
      // A spec among the first 16 that fails its checks answers first.
      const bad = Array.from({ length: 17 }, (_, i) => ({ opcode: Opcode.SubdocGet, path: 'a', flags: i === 3 ? 0x02 : 0 }));
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: bad })), Status.Einval);
    }));

  test('depth limits of subjson: 31 path components, 31 levels written, 32 read', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('deep');
      // subjson t_ops.cc testReplaceArrayDeep: 31 nested arrays around 1.
      await f.bucket.set('deep', `${'['.repeat(31)}1${']'.repeat(31)}`);
      const thirty = '[0]'.repeat(30);
      expectStatus(await single(kv, vb, Opcode.SubdocReplace, 'deep', `${thirty}[0]`, { value: '2' }), Status.Success);
      expectStatus(await single(kv, vb, Opcode.SubdocReplace, 'deep', thirty, { value: '[3,4]' }), Status.Success);
      expectStatus(await single(kv, vb, Opcode.SubdocReplace, 'deep', thirty, { value: '[[5]]' }), Status.SubdocValueEtoodeep);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'deep', `${thirty}[0][0]`), Status.SubdocPathE2big);
      // testTooDeepDict: a 31-component path is the longest; a document 32 deep is still read.
      const names = Array.from({ length: 31 }, (_, i) => `k${i}`);
      expectStatus(await single(kv, f.vb('d2'), Opcode.SubdocDictUpsert, 'd2', names.join('.'), { value: '1', docFlags: SubdocDocFlag.Mkdoc }), Status.Success);
      expectStatus(await single(kv, f.vb('d2'), Opcode.SubdocDictUpsert, 'd2', [...names, 'x'].join('.'), { value: '1' }), Status.SubdocPathE2big);
      await f.bucket.set('d3', `{"a":${'['.repeat(31)}${']'.repeat(31)}}`);
      expectStatus(await single(kv, f.vb('d3'), Opcode.SubdocGet, 'd3', 'a'), Status.Success);
    }));

  test('a repeated member name reads as its first occurrence, as subjson matches it', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('dup');
      await f.bucket.set('dup', '{"a":1,"b":2,"a":3}');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'dup', 'a'), Status.Success).value.toString(), '1');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'dup', 'b'), Status.Success).value.toString(), '2');
    }));

  test('strings keep the escapes they were written with, in lookups and through edits', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('esc');
      await f.bucket.set('esc', '{"s":"caf\\u00e9","u":"http:\\/\\/x","l":["\\u0041"],"n":1}');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'esc', 's'), Status.Success).value.toString(), '"caf\\u00e9"');
      // ARRAY_ADD_UNIQUE compares text, as subjson: "A" is not the "\u0041" already there.
      expectStatus(await single(kv, vb, Opcode.SubdocArrayAddUnique, 'esc', 'l', { value: '"A"' }), Status.Success);
      expectStatus(await single(kv, vb, Opcode.SubdocArrayAddUnique, 'esc', 'l', { value: '"\\u0041"' }), Status.SubdocPathEexists);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'esc', 'n', { value: '1' }), Status.Success);
      assert.equal(f.bucket.get('esc').value.toString(), '{"s":"caf\\u00e9","u":"http:\\/\\/x","l":["\\u0041","A"],"n":2}');
    }));

  test('a body on a document that stays deleted is the whole command\'s status, not a spec\'s', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('z');
      const { Mkdoc, CreateAsDeleted, AccessDeleted } = SubdocDocFlag;
      const specs = [{ opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: '_x', value: '1' }, { opcode: Opcode.SubdocDictUpsert, path: 'a', value: '1' }];
      const created = await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'z', vbucket: vb, docFlags: Mkdoc | CreateAsDeleted, specs }));
      expectStatus(created, Status.SubdocDeletedDocumentCantHaveValue);
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'z', vbucket: vb, docFlags: Mkdoc | CreateAsDeleted, specs: [specs[0]!] })), Status.SubdocSuccessDeleted);
      const onTomb = await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'z', vbucket: vb, docFlags: AccessDeleted, specs }));
      expectStatus(onTomb, Status.SubdocDeletedDocumentCantHaveValue);
    }));

  test('without the system-xattr privilege every xattr spec of the request fails with EACCESS', RAW_TEST, () =>
    withServer(async (f) => {
      await f.server.server.users.setBucketUser('writer', 'writer-pw', [{ role: 'data_writer', bucket: 'default' }, { role: 'data_reader', bucket: 'default' }]);
      const admin = await f.open({ features: FEATURES });
      const kv = await f.open({ features: FEATURES, user: 'writer', password: 'writer-pw' });
      const vb = f.vb('p');
      await f.bucket.set('p', '{"a":1}');
      expectStatus(await single(admin, vb, Opcode.SubdocDictUpsert, 'p', 'u', { value: '1', pathFlags: XattrPath }), Status.Success);
      const specs = [
        { opcode: Opcode.SubdocGet, flags: XattrPath, path: 'u' },
        { opcode: Opcode.SubdocGet, flags: XattrPath, path: '_sys' },
        { opcode: Opcode.SubdocGet, flags: XattrPath, path: '$document.exptime' },
        { opcode: Opcode.SubdocGet, path: 'a' },
      ];
      const look = expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'p', vbucket: vb, specs })), Status.SubdocMultiPathFailure);
      assert.deepEqual(decodeLookupResults(look.value).map((r) => r.status), [Status.Eaccess, Status.Eaccess, Status.Eaccess, Status.Success]);
      const user = expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'p', vbucket: vb, specs: [specs[0]!, specs[3]!] })), Status.Success);
      assert.equal(decodeLookupResults(user.value)[0]!.value.toString(), '1');
      const writes = [
        { opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: 'u', value: '2' },
        { opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: '_sys', value: '2' },
      ];
      const failed = expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'p', vbucket: vb, specs: writes })), Status.SubdocMultiPathFailure);
      assert.deepEqual(decodeMutationFailure(failed.value), { index: 0, status: Status.Eaccess });
    }));

  test('a lookup answers the value as the document holds it, whitespace included', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('ws');
      await f.bucket.set('ws', '{"a": {\n  "b": [1, 2]\n}, "n": 1}');
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 'ws', 'a'), Status.Success).value.toString(), '{\n  "b": [1, 2]\n}');
      const look = await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'ws', vbucket: vb, specs: [{ opcode: Opcode.SubdocGet, path: 'a.b' }] }));
      assert.equal(decodeLookupResults(expectStatus(look, Status.Success).value)[0]!.value.toString(), '[1, 2]');
    }));
});
