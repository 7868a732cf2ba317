/**
 * Golden bytes for every message the producer builds (src/dcp/messages.ts), written as annotated
 * hex with the codec tests' independent builder, and cross-checked against the codec's encoders
 * and decoders; plus which xattrs travel (the blob's own layout is test/codec/xattr.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Item } from '../../src/engine/types.js';
import { MessageBuilder } from '../../src/dcp/messages.js';
import { initialSettings, type ProducerSettings } from '../../src/dcp/settings.js';
import { encodeXattrBlob } from '../../src/codec/xattr.js';
import { hex } from '../codec/fixtures/hex.js';

function item(over: Partial<Item> = {}): Item {
  return {
    key: Buffer.from('hello'),
    collection: 0,
    vbucket: 0x210,
    value: Buffer.from('world'),
    datatype: 0,
    flags: 0x01020304,
    expiry: 0,
    cas: 0x1122334455667788n,
    revSeqno: 1,
    seqno: 4,
    bucketSeq: 9,
    deleted: false,
    deleteTime: 0,
    expired: false,
    xattrs: null,
    ...over,
  };
}

function builder(s: Partial<ProducerSettings> = {}, streamId?: number): MessageBuilder {
  const settings = { ...initialSettings('t', c.DcpOpenFlag.Producer, false), ...s };
  return new MessageBuilder(settings, streamId === undefined ? { opaque: 0x1210, vbucket: 0x210 } : { opaque: 0x1210, vbucket: 0x210, streamId });
}

/** Builder frames are already encoded; codec packets (cross-checks) are encoded here. */
const bytes = (p: c.Packet | Buffer): Buffer => (Buffer.isBuffer(p) ? p : c.encodePacket(p));

describe('dcp > messages > golden bytes', () => {
  test('DCP_MUTATION: 31-byte extras, item flags and CAS as stored', () => {
    const p = builder().mutation(item());
    assert.deepEqual(
      bytes(p),
      hex`
        80 57 0005 1f 00 0210  // key 5, extras 31, raw, vbucket 0x210
        00000029 00001210 1122334455667788  // body 41, stream opaque, cas
        0000000000000004 0000000000000001  // by_seqno 4, rev_seqno 1
        01020304 00000000 00000000 0000 00  // flags, expiration, lock time, nmeta, nru
        "hello" "world"
      `,
    );
    // The codec's encoder builds the same bytes from the decoded message.
    assert.deepEqual(bytes(c.encodeDcpMutation(c.decodeDcpMutation(c.decodePacket(bytes(p))))), bytes(p));
  });

  test('collection-aware: the key is prefixed with LEB128 collection id 0', () => {
    const p = builder({ collections: true }).mutation(item({ datatype: c.Datatype.Json, value: Buffer.from('{}') }));
    assert.deepEqual(
      bytes(p),
      hex`
        80 57 0006 1f 01 0210  // key 6, extras 31, JSON
        00000027 00001210 1122334455667788
        0000000000000004 0000000000000001 01020304 00000000 00000000 0000 00
        00 "hello" "{}"        // collection 0, key, value
      `,
    );
    assert.deepEqual(c.splitCollectionKey(c.decodeDcpMutation(c.decodePacket(bytes(p))).key).key, Buffer.from('hello'));
  });

  test('a stream id travels as frame info 2 with magic 0x08', () => {
    const p = builder({}, 7).marker(0, 8, c.SnapshotFlag.Disk | c.SnapshotFlag.Checkpoint, 0);
    assert.deepEqual(
      bytes(p),
      hex`
        08 56 03 00 14 00 0210  // alt magic, framing 3, key 0, extras 20
        00000017 00001210 0000000000000000  // body 23
        22 0007                // frame id 2, len 2: stream id 7
        0000000000000000 0000000000000008 00000006  // start 0, end 8, Disk|Checkpoint
      `,
    );
    assert.equal(c.decodeSnapshotMarker(c.decodePacket(bytes(p))).streamId, 7);
  });

  test('DCP_DELETION V1 (18-byte extras) and V2 with the delete time (21 bytes); no body is sent', () => {
    const tomb = item({ deleted: true, seqno: 5, revSeqno: 2, deleteTime: 0x5f000000, value: Buffer.from('tombstone body') });
    assert.deepEqual(
      bytes(builder().deletion(tomb)),
      hex`
        80 58 0005 12 00 0210  // key 5, extras 18
        00000017 00001210 1122334455667788
        0000000000000005 0000000000000002 0000  // by_seqno, rev_seqno, nmeta
        "hello"
      `,
    );
    assert.deepEqual(
      bytes(builder({ includeDeleteTimes: true }).deletion(tomb)),
      hex`
        80 58 0005 15 00 0210  // key 5, extras 21
        0000001a 00001210 1122334455667788
        0000000000000005 0000000000000002 5f000000 00  // .., delete time, unused
        "hello"
      `,
    );
  });

  test('expirations: DCP_EXPIRATION (20-byte extras) only with the expiry opcode, else a deletion', () => {
    const exp = item({ deleted: true, expired: true, seqno: 6, revSeqno: 3, deleteTime: 0x60000000 });
    assert.equal(c.decodePacket(builder({ includeDeleteTimes: true }).expiration(exp)).opcode, c.Opcode.DcpDeletion);
    assert.equal(c.decodePacket(builder().expiration(exp)).extras.length, 18);
    assert.deepEqual(
      bytes(builder({ includeDeleteTimes: true, expiryOpcode: true }).expiration(exp)),
      hex`
        80 59 0005 14 00 0210  // key 5, extras 20
        00000019 00001210 1122334455667788
        0000000000000006 0000000000000003 60000000  // by_seqno, rev_seqno, delete time
        "hello"
      `,
    );
    // With IncludeXattrs it carries the tombstone's system xattrs, as a deletion would (kv
    // Connection::expiration sends the item's value and datatype).
    const withX = { ...exp, xattrs: Buffer.from('{"_sync":{"rev":"2-b"},"user":1}') };
    const p = c.decodePacket(builder({ includeDeleteTimes: true, expiryOpcode: true, includeXattrs: true }).expiration(withX));
    assert.deepEqual([p.opcode, p.datatype, p.value], [c.Opcode.DcpExpiration, c.Datatype.Xattr, encodeXattrBlob(withX.xattrs, true)]);
    assert.equal(c.decodeDcpExpiration(p).deleteTime, 0x60000000);
  });

  test('xattrs are prefixed as a kv xattr blob with datatype bit 0x04; NoValue modes', () => {
    const withX = item({ datatype: c.Datatype.Json, value: Buffer.from('{"a":1}'), xattrs: Buffer.from('{"_sync":{"rev":"1-a"}}') });
    const x = encodeXattrBlob(withX.xattrs)!;
    assert.deepEqual(
      x,
      Buffer.concat([hex`00000018 00000014`, Buffer.from('_sync\0{"rev":"1-a"}\0')]), // total 24, pair 20: key NUL value NUL
    );
    const full = c.decodePacket(builder({ includeXattrs: true }).mutation(withX));
    assert.equal(full.datatype, c.Datatype.Json | c.Datatype.Xattr);
    assert.deepEqual(full.value, Buffer.concat([x, Buffer.from('{"a":1}')]));
    // Without IncludeXattrs the xattrs stay on the server.
    assert.deepEqual([c.decodePacket(builder().mutation(withX)).datatype, c.decodePacket(builder().mutation(withX)).value.toString()], [c.Datatype.Json, '{"a":1}']);
    // NoValue: nothing but the xattrs, datatype without JSON. With the underlying datatype the
    // document's JSON and XATTR bits stay, even with no xattrs sent (kv item_test.cc
    // testPruneValueAndXattrsUnderlyingDatatype); a document without xattrs has no XATTR bit.
    const nv = c.decodePacket(builder({ includeXattrs: true, noValue: 'no-value' }).mutation(withX));
    assert.deepEqual([nv.datatype, nv.value], [c.Datatype.Xattr, x]);
    const nvd = c.decodePacket(builder({ noValue: 'no-value-with-datatype' }).mutation(withX));
    assert.deepEqual([nvd.datatype, nvd.value.length], [c.Datatype.Json | c.Datatype.Xattr, 0]);
    const nvdx = c.decodePacket(builder({ includeXattrs: true, noValue: 'no-value-with-datatype' }).mutation(withX));
    assert.deepEqual([nvdx.datatype, nvdx.value], [c.Datatype.Json | c.Datatype.Xattr, x]);
    const plain = c.decodePacket(builder({ noValue: 'no-value-with-datatype' }).mutation({ ...withX, xattrs: null }));
    assert.deepEqual([plain.datatype, plain.value.length], [c.Datatype.Json, 0]);
    // A deletion carries only the xattrs: system ones, user ones only with IncludeDeletedUserXattrs.
    const tomb = { ...withX, deleted: true, xattrs: Buffer.from('{"_sync":{"rev":"1-a"},"user":1}') };
    const del = c.decodePacket(builder({ includeXattrs: true }).deletion(tomb));
    assert.deepEqual([del.datatype, del.value], [c.Datatype.Xattr, x]);
    const delAll = c.decodePacket(builder({ includeXattrs: true, includeDeletedUserXattrs: true }).deletion(tomb));
    assert.deepEqual(delAll.value, encodeXattrBlob(tomb.xattrs));
    assert.ok(delAll.value.includes(Buffer.from('user\x001\x00')));
    // Stored xattrs that are not a JSON object produce no blob, and the mutation goes without.
    const notObject = c.decodePacket(builder({ includeXattrs: true }).mutation({ ...withX, xattrs: Buffer.from('[1,2]') }));
    assert.deepEqual([notObject.datatype, notObject.value.toString()], [c.Datatype.Json, '{"a":1}']);
  });

  test('DCP_SNAPSHOT_MARKER V1 and V2.2; STREAM_END; SEQNO_ADVANCED', () => {
    assert.deepEqual(
      bytes(builder().marker(1, 4, c.SnapshotFlag.Memory, 0)),
      hex`
        80 56 0000 14 00 0210  // extras 20
        00000014 00001210 0000000000000000
        0000000000000001 0000000000000004 00000001  // start, end, Memory
      `,
    );
    const v22 = c.decodeSnapshotMarker(c.decodePacket(bytes(builder({ markerVersion: 'v2.2' }).marker(1, 4, c.SnapshotFlag.Disk, 3))));
    assert.deepEqual(
      [v22.version, v22.startSeqno, v22.endSeqno, v22.flags, v22.maxVisibleSeqno, v22.purgeSeqno, v22.highCompletedSeqno],
      ['v2.2', 1, 4, c.SnapshotFlag.Disk, 4, 3, 0],
    );
    assert.deepEqual(
      bytes(builder().streamEnd(c.StreamEndReason.Rollback)),
      hex`
        80 55 0000 04 00 0210 00000004 00001210 0000000000000000
        00000006               // reason Rollback
      `,
    );
    assert.deepEqual(
      bytes(builder().seqnoAdvanced(9)),
      hex`
        80 64 0000 08 00 0210 00000008 00001210 0000000000000000
        0000000000000009       // seqno
      `,
    );
  });

  test('DCP_SYSTEM_EVENT: BeginCollection v1 with max_ttl, EndCollection, CreateScope, DropScope (kv layouts)', () => {
    const sys = (value: object, deleted = false): Item => item({ collection: 1, seqno: 0x0a, cas: 0x99n, deleted, value: Buffer.from(JSON.stringify(value)) });
    const info = { type: 'create-collection', manifestUid: 2, scopeId: 8, collectionId: 9, name: 'air', maxTTL: 60 } as const;
    assert.deepEqual(
      bytes(builder({ collections: true }).systemEvent(sys(info), info)),
      hex`
        80 5f 0003 0d 00 0210 00000024 00001210 0000000000000099  // key 3, extras 13, body 36
        000000000000000a 00000000 01  // by_seqno 10, BeginCollection, version 1
        "air"
        0000000000000002 00000008 00000009 0000003c  // uid 2, scope 8, collection 9, max_ttl 60
      `,
    );
    const drop = { type: 'drop-collection', manifestUid: 3, scopeId: 8, collectionId: 9, name: 'air' } as const;
    assert.deepEqual(
      bytes(builder({ collections: true }).systemEvent(sys(drop, true), drop)),
      hex`
        80 5f 0000 0d 00 0210 0000001d 00001210 0000000000000099  // no key, body 29
        000000000000000a 00000001 00  // EndCollection, version 0
        0000000000000003 00000008 00000009
      `,
    );
    const scope = { type: 'create-scope', manifestUid: 1, scopeId: 8, name: 'inv' } as const;
    const s1 = c.decodeSystemEvent(c.decodePacket(bytes(builder({ collections: true }).systemEvent(sys(scope), scope))));
    assert.deepEqual([s1.event, s1.version, s1.key.toString(), s1.value.toString('hex')], [3, 0, 'inv', '000000000000000100000008']);
    const dropScope = { type: 'drop-scope', manifestUid: 4, scopeId: 8, name: 'inv' } as const;
    const s2 = c.decodeSystemEvent(c.decodePacket(bytes(builder({ collections: true }).systemEvent(sys(dropScope, true), dropScope))));
    assert.deepEqual([s2.event, s2.version, s2.key.length, s2.value.toString('hex')], [4, 0, 0, '000000000000000400000008']);
  });

  test('large seqnos (above 2^32) are written exactly', () => {
    const p = builder().mutation(item({ seqno: 2 ** 40 + 5, revSeqno: 2 ** 33 }));
    const m = c.decodeDcpMutation(c.decodePacket(bytes(p)));
    assert.deepEqual([m.bySeqno, m.revSeqno], [2 ** 40 + 5, 2 ** 33]);
  });
});
