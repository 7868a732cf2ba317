/**
 * Sub-document commands as raw frames (codec/ops/subdoc*.ts): the statuses kv_engine answers for
 * bad requests and failing paths, multi-path reply bodies, spec ordering (INVALID_XATTR_ORDER,
 * INVALID_COMBO), CREATE_AS_DELETED / ACCESS_DELETED / REVIVE_DOCUMENT, SET with datatype XATTR,
 * and XATTR paths refused to a connection that did not negotiate XATTR.
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
  decodeMutationResults,
  encodeGetRequest,
  encodeMultiRequest,
  encodeStoreRequest,
} from '../../src/codec/index.js';
import { RAW_TEST, withServer } from './fixture.js';
import { expectStatus, subdocSingle as single } from './raw-client.js';

const FEATURES = [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.MutationSeqno, Feature.Xattr];
const { XattrPath, ExpandMacros, MkdirP } = SubdocPathFlag;

describe('sub-document frames', () => {
  test('single-path statuses', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('d');
      // Written as text: JSON.stringify would round the int64 maximum and the larger integer.
      await f.bucket.set('d', '{"a":{"b":[1,2,3]},"s":"str","n":9223372036854775807,"f":1.5,"big":123456789012345678901234}');
      const got = expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a.b[-1]'), Status.Success);
      assert.equal(got.value.toString(), '3');
      assert.equal(got.datatype, Datatype.Json);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a.x'), Status.SubdocPathEnoent);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 's.x'), Status.SubdocPathMismatch);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a..b'), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a.b[-2]'), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', Array.from({ length: 33 }, () => 'x').join('.')), Status.SubdocPathE2big);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'x'.repeat(1025)), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', ''), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'a', { value: 'x' }), Status.Einval);
      expectStatus(await single(kv, f.vb('nope'), Opcode.SubdocGet, 'nope', 'a'), Status.KeyEnoent);
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGetCount, 'd', ''), Status.Success).value.toString(), '5');
      expectStatus(await single(kv, vb, Opcode.SubdocDictAdd, 'd', 's', { value: '1' }), Status.SubdocPathEexists);
      expectStatus(await single(kv, vb, Opcode.SubdocDictAdd, 'd', 'a.b[0]', { value: '1' }), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', 'x', { value: '{bad' }), Status.SubdocValueCantinsert);
      expectStatus(await single(kv, vb, Opcode.SubdocArrayInsert, 'd', 'a.b[9]', { value: '0' }), Status.SubdocPathEnoent);
      expectStatus(await single(kv, vb, Opcode.SubdocArrayInsert, 'd', 'a.b', { value: '0' }), Status.SubdocPathEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocArrayAddUnique, 'd', 'a.b', { value: '[1]' }), Status.SubdocValueCantinsert);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'n', { value: '1' }), Status.SubdocValueCantinsert);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'big', { value: '1' }), Status.SubdocNumErange);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'f', { value: '1' }), Status.SubdocPathMismatch);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'c', { value: '0' }), Status.SubdocDeltaEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'c', { value: 'x' }), Status.SubdocDeltaEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', 'x', { value: '1', pathFlags: ExpandMacros }), Status.SubdocXattrInvalidFlagCombo);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', '$document.x', { value: '1', pathFlags: XattrPath }), Status.SubdocXattrCantModifyVattr);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', 'm', { value: '"${Mutation.nope}"', pathFlags: XattrPath | ExpandMacros }), Status.SubdocXattrUnknownMacro);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', '$nothing', { pathFlags: XattrPath }), Status.SubdocXattrUnknownVattr);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 'd', 'waytoolongxattrkey1', { pathFlags: XattrPath }), Status.XattrEinval);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', 'x', { value: '1', docFlags: SubdocDocFlag.Add | SubdocDocFlag.Mkdoc }), Status.Einval);
      // The big number and the spelling of 1.5 survive an edit elsewhere in the document.
      const counted = expectStatus(await single(kv, vb, Opcode.SubdocCounter, 'd', 'c', { value: '-5' }), Status.Success);
      assert.equal(counted.value.toString(), '-5');
      assert.equal(counted.extras.length, 16, 'the mutation token');
      const body = f.bucket.get('d').value.toString();
      assert.ok(body.includes('"big":123456789012345678901234') && body.includes('"n":9223372036854775807') && body.includes('"f":1.5'), body);
      // A stale CAS, and a CAS on a missing document.
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 'd', 'x', { value: '1', cas: 1n }), Status.KeyEexists);
      expectStatus(await single(kv, f.vb('nope'), Opcode.SubdocDictUpsert, 'nope', 'x', { value: '1', cas: 1n }), Status.KeyEnoent);
      // A body that is not JSON.
      await f.bucket.set('raw', Buffer.from([0xff, 0x00]));
      expectStatus(await single(kv, f.vb('raw'), Opcode.SubdocGet, 'raw', 'a'), Status.SubdocDocNotJson);
    }));

  test('multi-path replies, ordering and combinations', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('m');
      await f.bucket.set('m', '{"a":1,"l":[1]}');
      const look = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: [{ opcode: Opcode.SubdocGet, path: 'a' }, { opcode: Opcode.SubdocGet, path: 'zz' }, { opcode: Opcode.Get, path: '' }] }),
      );
      expectStatus(look, Status.SubdocMultiPathFailure);
      const results = decodeLookupResults(look.value);
      assert.deepEqual(results.map((r) => r.status), [Status.Success, Status.SubdocPathEnoent, Status.Success]);
      assert.equal(results[0]!.value.toString(), '1');
      assert.equal(results[2]!.value.toString(), '{"a":1,"l":[1]}');

      const order = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: [{ opcode: Opcode.SubdocGet, path: 'a' }, { opcode: Opcode.SubdocGet, flags: XattrPath, path: 'x' }] }),
      );
      expectStatus(order, Status.SubdocInvalidXattrOrder);
      const mixed = await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: [{ opcode: Opcode.SubdocDictUpsert, path: 'a' }] }));
      expectStatus(mixed, Status.SubdocInvalidCombo);
      const many = Array.from({ length: 17 }, () => ({ opcode: Opcode.SubdocGet, path: 'a' }));
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiLookup, { key: 'm', vbucket: vb, specs: many })), Status.SubdocInvalidCombo);
      const afterDelete = [{ opcode: Opcode.Delete, path: '' }, { opcode: Opcode.SubdocDictUpsert, path: 'a', value: '2' }];
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'm', vbucket: vb, specs: afterDelete })), Status.SubdocInvalidCombo);

      const ok = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiMutation, {
          key: 'm',
          vbucket: vb,
          specs: [
            { opcode: Opcode.SubdocDictUpsert, flags: XattrPath | MkdirP | ExpandMacros, path: 'x.cas', value: '"${Mutation.CAS}"' },
            { opcode: Opcode.SubdocCounter, path: 'a', value: '4' },
            { opcode: Opcode.SubdocArrayPushLast, path: 'l', value: '2,3' },
            { opcode: Opcode.SubdocCounter, path: 'k', value: '1' },
          ],
        }),
      );
      expectStatus(ok, Status.Success);
      assert.deepEqual(
        decodeMutationResults(ok.value).map((r) => [r.index, r.status, r.value.toString()]),
        [[1, Status.Success, '5'], [3, Status.Success, '1']],
      );
      assert.equal(f.bucket.get('m').value.toString(), '{"a":5,"l":[1,2,3],"k":1}');
      const x = JSON.parse(f.bucket.get('m').xattrs!.toString()) as { x: { cas: string } };
      const swapped = Buffer.alloc(8);
      swapped.writeBigUInt64LE(BigInt(x.x.cas));
      assert.equal(swapped.readBigUInt64BE(), ok.cas, '${Mutation.CAS} is the CAS, byte-swapped');

      const fail = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiMutation, {
          key: 'm',
          vbucket: vb,
          specs: [{ opcode: Opcode.SubdocDictUpsert, path: 'a', value: '0' }, { opcode: Opcode.SubdocDictAdd, path: 'k', value: '2' }],
        }),
      );
      expectStatus(fail, Status.SubdocMultiPathFailure);
      assert.deepEqual(decodeMutationFailure(fail.value), { index: 1, status: Status.SubdocPathEexists });
      assert.equal(f.bucket.get('m').value.toString(), '{"a":5,"l":[1,2,3],"k":1}', 'nothing was written');
    }));

  test('tombstones: CREATE_AS_DELETED, ACCESS_DELETED, REVIVE_DOCUMENT, whole-document delete', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('t');
      const { Mkdoc, Add, AccessDeleted, CreateAsDeleted, ReviveDocument } = SubdocDocFlag;
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', 'body', { value: '1', docFlags: Add | CreateAsDeleted }), Status.Einval);
      const created = await single(kv, vb, Opcode.SubdocDictUpsert, 't', '_txn.id', { value: '"a"', pathFlags: XattrPath | MkdirP, docFlags: Add | CreateAsDeleted });
      expectStatus(created, Status.SubdocSuccessDeleted);
      expectStatus(await kv.request(encodeGetRequest({ key: 't', vbucket: vb })), Status.KeyEnoent);
      expectStatus(await single(kv, vb, Opcode.SubdocGet, 't', '_txn.id', { pathFlags: XattrPath }), Status.KeyEnoent);
      const read = expectStatus(await single(kv, vb, Opcode.SubdocGet, 't', '_txn.id', { pathFlags: XattrPath, docFlags: AccessDeleted }), Status.SubdocSuccessDeleted);
      assert.equal(read.value.toString(), '"a"');
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', 'body', { value: '1', docFlags: AccessDeleted }), Status.SubdocDeletedDocumentCantHaveValue);
      // The whole-document SET takes only MKDOC and ADD (subdocument_traits.h), so a revive sets
      // the body from a staged xattr, as kv_engine's XattrNoDocTest.ReplaceBodyWithXattr_DeletedDocument.
      const withSet = [{ opcode: Opcode.SubdocDelete, flags: XattrPath, path: '_txn' }, { opcode: Opcode.Set, path: '', value: '{"live":true}' }];
      expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 't', vbucket: vb, docFlags: AccessDeleted | ReviveDocument, specs: withSet })), Status.Einval);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', '_txn.staged', { value: '{"live":true}', pathFlags: XattrPath, docFlags: AccessDeleted }), Status.SubdocSuccessDeleted);
      const revived = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiMutation, {
          key: 't',
          vbucket: vb,
          docFlags: AccessDeleted | ReviveDocument,
          specs: [{ opcode: Opcode.SubdocReplaceBodyWithXattr, flags: XattrPath, path: '_txn.staged' }, { opcode: Opcode.SubdocDelete, flags: XattrPath, path: '_txn' }],
        }),
      );
      expectStatus(revived, Status.Success);
      assert.deepEqual(JSON.parse(f.bucket.get('t').value.toString()), { live: true });
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', 'x', { value: '1', docFlags: AccessDeleted | ReviveDocument }), Status.SubdocCanOnlyReviveDeletedDocuments);
      expectStatus(await single(kv, vb, Opcode.SubdocDictUpsert, 't', 'x', { value: '1', docFlags: Add }), Status.KeyEexists);

      const gone = await kv.request(
        encodeMultiRequest(Opcode.SubdocMultiMutation, {
          key: 't',
          vbucket: vb,
          specs: [{ opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: '_keep', value: '1' }, { opcode: Opcode.SubdocDictUpsert, flags: XattrPath, path: 'user', value: '1' }, { opcode: Opcode.Delete, path: '' }],
        }),
      );
      expectStatus(gone, Status.Success);
      const tomb = f.bucket.getMeta('t');
      assert.equal(tomb.deleted, true);
      assert.deepEqual(JSON.parse(tomb.xattrs!.toString()), { _keep: 1 }, 'a tombstone keeps its system xattrs only');
      const mk = await single(kv, f.vb('newarr'), Opcode.SubdocArrayPushLast, 'newarr', '', { value: '1', docFlags: Mkdoc });
      expectStatus(mk, Status.Success);
      assert.equal(f.bucket.get('newarr').value.toString(), '[1]');
    }));

  test('SET with datatype XATTR stores the xattrs, GET returns the body alone; no XATTR without HELLO', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const vb = f.vb('s');
      const pair = Buffer.from('meta\0{"a":1}\0', 'latin1');
      const blob = Buffer.alloc(8 + pair.length);
      blob.writeUInt32BE(4 + pair.length, 0);
      blob.writeUInt32BE(pair.length, 4);
      pair.copy(blob, 8);
      const value = Buffer.concat([blob, Buffer.from('{"b":2}')]);
      expectStatus(await kv.request(encodeStoreRequest({ key: 's', value, datatype: Datatype.Xattr | Datatype.Json, vbucket: vb })), Status.Success);
      const got = expectStatus(await kv.request(encodeGetRequest({ key: 's', vbucket: vb })), Status.Success);
      assert.equal(got.value.toString(), '{"b":2}');
      assert.equal(got.datatype & Datatype.Xattr, 0);
      assert.equal(expectStatus(await single(kv, vb, Opcode.SubdocGet, 's', 'meta.a', { pathFlags: XattrPath }), Status.Success).value.toString(), '1');
      const bad = Buffer.concat([Buffer.from([0, 0, 0, 50]), Buffer.from('{}')]);
      expectStatus(await kv.request(encodeStoreRequest({ key: 's', value: bad, datatype: Datatype.Xattr, vbucket: vb })), Status.XattrEinval);

      const plain = await f.open({ features: [Feature.Xerror, Feature.SelectBucket, Feature.Json] });
      expectStatus(await single(plain, vb, Opcode.SubdocGet, 's', 'meta', { pathFlags: XattrPath }), Status.NotSupported);
      expectStatus(await plain.request(encodeStoreRequest({ key: 's', value, datatype: Datatype.Xattr, vbucket: vb })), Status.Einval);
    }));
});
