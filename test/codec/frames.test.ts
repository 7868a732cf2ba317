/**
 * The codec's single-allocation frame encoders (ops/get.ts, ops/mutation.ts, dcp/common.ts and the
 * dcp/*.ts `encode...Frame` functions) against the Packet encoders byte for byte, against the
 * golden fixtures of the kv docs, and through the decoders and the PacketParser split at every
 * offset.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { DcpFramePrefix, DcpStreamHeader, GetOpcode } from '../../src/codec/index.js';
import { DCP_GOLDEN } from './fixtures/golden-dcp.js';
import { KV_CONSTRUCTED_GOLDEN } from './fixtures/golden-kv-constructed.js';
import { KV_GOLDEN } from './fixtures/golden-kv.js';
import { hex } from './fixtures/hex.js';

const CAS = 0x17c3_0000_0000_0001n;

function fixture(name: string): { bytes: Buffer; message: unknown } {
  const g = [...KV_GOLDEN, ...KV_CONSTRUCTED_GOLDEN, ...DCP_GOLDEN].find((x) => x.name.startsWith(name));
  assert.ok(g, `fixture ${name}`);
  return g;
}

describe('codec > frames > kv replies', () => {
  test('GET, GETK and GAT reply frames equal the Packet encoding', () => {
    for (const opcode of [c.Opcode.Get, c.Opcode.GetQ, c.Opcode.GetK, c.Opcode.GetKQ] as const satisfies readonly GetOpcode[]) {
      for (const [value, datatype] of [[Buffer.from('{"a":1}'), 1], [Buffer.alloc(0), 0], [Buffer.alloc(70_000, 7), 0]] as const) {
        const key = Buffer.from([0, 0x6b, 0x65, 0x79]);
        const withKey = opcode === c.Opcode.GetK || opcode === c.Opcode.GetKQ;
        const packet = c.encodePacket(c.encodeGetResponse({ opcode, flags: 0x02000006, value, datatype, cas: CAS, key }, { opaque: 0xdeadbeef }));
        const frame = c.encodeGetResponseFrame(opcode, 0xdeadbeef, CAS, 0x02000006, datatype, withKey ? key : Buffer.alloc(0), value);
        assert.deepEqual(frame, packet, `opcode 0x${opcode.toString(16)}, ${value.length}-byte value`);
      }
    }
    // The same frame from bytes held elsewhere: the CAS and the value read out of a larger buffer.
    const src = Buffer.concat([Buffer.from('head'), Buffer.alloc(8), Buffer.from('xx{"a":1}')]);
    src.writeBigUInt64BE(CAS, 4);
    for (const opcode of [c.Opcode.Get, c.Opcode.GetK] as const) {
      const key = opcode === c.Opcode.GetK ? Buffer.from('key') : Buffer.alloc(0);
      assert.deepEqual(c.encodeGetResponseFrameFrom(opcode, 77, 0x02000006, 1, key, src, 4, 14), c.encodeGetResponseFrame(opcode, 77, CAS, 0x02000006, 1, key, Buffer.from('{"a":1}')));
    }
    assert.deepEqual(c.encodeGetResponseFrameFrom(c.Opcode.Get, 1, 0, 0, Buffer.alloc(0), src, 4, src.length), c.encodeGetResponseFrame(c.Opcode.Get, 1, CAS, 0, 0, Buffer.alloc(0), Buffer.alloc(0)), 'an empty value');
    const gat = c.encodeGatResponse({ flags: 0xffffffff, value: Buffer.from('v'), cas: 1n }, { opaque: 9 });
    assert.deepEqual(c.encodeGetResponseFrame(c.Opcode.Gat, 9, 1n, 0xffffffff, 0, Buffer.alloc(0), Buffer.from('v')), c.encodePacket(gat));
  });

  test('GET and GETK reply frames reproduce the BinaryProtocol.md fixtures', () => {
    assert.deepEqual(c.encodeGetResponseFrame(c.Opcode.Get, 0, 1n, 0xdeadbeef, 0, Buffer.alloc(0), Buffer.from('World')), fixture('GET response flags').bytes);
    assert.deepEqual(c.encodeGetResponseFrame(c.Opcode.GetK, 0, 1n, 0xdeadbeef, 0, Buffer.from('Hello'), Buffer.from('World')), fixture('GETK response').bytes);
  });

  test('mutation reply frames equal the Packet encoding, with and without the token, and the fixtures', () => {
    for (const opcode of [c.Opcode.Set, c.Opcode.Add, c.Opcode.Replace, c.Opcode.Append, c.Opcode.Prepend, c.Opcode.Delete]) {
      for (const token of [undefined, { vbUuid: 0xabcdef123456, seqno: 2 ** 40 + 3 }]) {
        const packet = c.encodePacket(c.encodeMutationResponse(opcode, token ? { cas: CAS, token } : { cas: CAS }, { opaque: 42 }));
        assert.deepEqual(c.encodeMutationResponseFrame(opcode, 42, CAS, token), packet);
      }
    }
    assert.deepEqual(c.encodeMutationResponseFrame(c.Opcode.Add, 0, 1n), fixture('ADD response CAS 1').bytes);
    const withToken = c.encodeMutationResponseFrame(c.Opcode.Set, 7, 0xabcn, { vbUuid: 0xfeedfacecafe, seqno: 0x42 });
    assert.deepEqual(withToken, fixture('SET response with mutation token').bytes);
  });
});

/** The codec's decoded fixture messages give the frame encoders' arguments. */
const prefixOf = (h: DcpStreamHeader, collections = false): DcpFramePrefix => c.dcpFramePrefix(h, collections);

describe('codec > frames > dcp', () => {
  test('mutation, deletion V1/V2, expiration and V1 marker frames reproduce the kv docs fixtures', () => {
    const m = fixture('DCP_MUTATION hello=world').message as c.DcpMutation;
    assert.deepEqual(
      c.encodeDcpMutationFrame(prefixOf(m), m.key, null, m.value, m.datatype, m.cas, m.bySeqno, m.revSeqno, m.flags, m.expiration),
      fixture('DCP_MUTATION hello=world').bytes,
    );
    const d1 = fixture('DCP_DELETION V1').message as c.DcpDeletion;
    assert.deepEqual(c.encodeDcpDeletionFrame(prefixOf(d1), d1.key, null, 0, d1.cas, d1.bySeqno, d1.revSeqno, undefined), fixture('DCP_DELETION V1').bytes);
    const d2 = fixture('DCP_DELETION V2').message as c.DcpDeletion;
    assert.deepEqual(c.encodeDcpDeletionFrame(prefixOf(d2), d2.key, null, 0, d2.cas, d2.bySeqno, d2.revSeqno, d2.deleteTime), fixture('DCP_DELETION V2').bytes);
    const e = fixture('DCP_EXPIRATION').message as c.DcpExpiration;
    assert.deepEqual(c.encodeDcpExpirationFrame(prefixOf(e), e.key, e.cas, e.bySeqno, e.revSeqno, e.deleteTime), fixture('DCP_EXPIRATION').bytes);
    const s = fixture('DCP_SNAPSHOT_MARKER V1').message as c.SnapshotMarker;
    assert.deepEqual(c.encodeSnapshotMarkerV1Frame(prefixOf(s), s.startSeqno, s.endSeqno, s.flags), fixture('DCP_SNAPSHOT_MARKER V1').bytes);
  });

  test('a stream id rides as frame info 2 with magic 0x08; a collection-aware key gets LEB128 0', () => {
    const frame = c.encodeDcpMutationFrame(
      prefixOf({ opaque: 0x1210, vbucket: 0x210, streamId: 7 }, true),
      Buffer.from('hello'), null, Buffer.from('{}'), c.Datatype.Json, 0x1122334455667788n, 4, 1, 0x01020304, 0,
    );
    assert.deepEqual(
      frame,
      hex`
        08 57 03 06 1f 01 0210  // alt magic, framing 3, key 6, extras 31, JSON
        0000002a 00001210 1122334455667788  // body 42 = 3 + 31 + 6 + 2
        22 0007                // frame info: id 2 (stream id) len 2, sid 7
        0000000000000004 0000000000000001 01020304 00000000 00000000 0000 00
        00 "hello" "{}"        // collection 0, key, value
      `,
    );
  });

  test('a collection-aware key carries its collection id in LEB128 on every item frame, ids over 0x7f included', () => {
    const p = prefixOf({ opaque: 5, vbucket: 3 }, true);
    const key = Buffer.from('k');
    for (const cid of [0, 8, 0x7f, 0x80, 0x3fff, 0x4000, 0x1f_ffff, 0x20_0000, 0xfff_ffff, 0x1000_0000, 0xffff_ffff]) {
      const wire = c.joinCollectionKey(cid, key);
      const m = c.decodeDcpMutation(c.decodePacket(c.encodeDcpMutationFrame(p, key, null, Buffer.from('v'), 0, CAS, 1, 1, 0, 0, cid)));
      assert.deepEqual([m.key, m.value.toString()], [wire, 'v'], `mutation cid ${cid}`);
      assert.deepEqual(c.splitCollectionKey(m.key).collectionId, cid);
      const d = c.decodeDcpDeletion(c.decodePacket(c.encodeDcpDeletionFrame(p, key, null, 0, CAS, 1, 1, 7, cid)));
      assert.deepEqual(d.key, wire, `deletion cid ${cid}`);
      const e = c.decodeDcpExpiration(c.decodePacket(c.encodeDcpExpirationFrame(p, key, CAS, 1, 1, 7, cid)));
      assert.deepEqual(e.key, wire, `expiration cid ${cid}`);
    }
    // A legacy (not collection-aware) prefix never writes an id.
    const legacy = c.decodeDcpMutation(c.decodePacket(c.encodeDcpMutationFrame(prefixOf({ opaque: 5, vbucket: 3 }), key, null, null, 0, CAS, 1, 1, 0, 0, 9)));
    assert.deepEqual(legacy.key, key);
  });

  test('a mutation frame from bytes held elsewhere equals the one from separate key, value and CAS', () => {
    const key = Buffer.from('doc::1');
    const body = Buffer.from('{"a":1}'.repeat(20)); // over the byte loop's limit (codec/bytes.ts)
    for (const value of [body, Buffer.from('{}'), Buffer.alloc(0)]) {
      // A buffer like a stored record: other bytes, the CAS, other bytes, the key, the value to the end.
      const src = Buffer.concat([Buffer.from('xyz'), Buffer.alloc(8), Buffer.from('--'), key, value]);
      src.writeBigUInt64BE(CAS, 3);
      const keyStart = 13;
      for (const [name, p] of [['legacy', prefixOf({ opaque: 5, vbucket: 3 })], ['collections, stream id', prefixOf({ opaque: 5, vbucket: 3, streamId: 9 }, true)]] as const) {
        for (const cid of [0, 8, 0x4000]) {
          assert.deepEqual(
            c.encodeDcpMutationFrameFrom(p, src, keyStart, keyStart + key.length, cid, keyStart + key.length, 1, 3, 2 ** 40, 7, 0xfeedface, 99),
            c.encodeDcpMutationFrame(p, key, null, value, 1, CAS, 2 ** 40, 7, 0xfeedface, 99, cid),
            `${name}, cid ${cid}, ${value.length}-byte value`,
          );
        }
        assert.deepEqual(
          c.encodeDcpMutationFrameFrom(p, src, keyStart, keyStart + key.length, 0, -1, 0, 3, 1, 1, 0, 0),
          c.encodeDcpMutationFrame(p, key, null, null, 0, CAS, 1, 1, 0, 0),
          `${name}: NoValue`,
        );
      }
    }
  });

  test('putU16/32/64 and getU16/32/64 store and read big-endian as Buffer#writeUInt*BE and readUInt*BE do', () => {
    for (const v of [0, 1, 0x7f, 0x80, 0xff, 0x1234, 0xffff]) {
      const a = Buffer.alloc(4, 0xaa);
      const b = Buffer.alloc(4, 0xaa);
      c.putU16(a, 1, v);
      b.writeUInt16BE(v, 1);
      assert.deepEqual(a, b, `u16 ${v}`);
    }
    for (const v of [0, 1, 0xff, 0x1234_5678, 0x8000_0000, 0xffff_ffff]) {
      const a = Buffer.alloc(6, 0xaa);
      const b = Buffer.alloc(6, 0xaa);
      c.putU32(a, 1, v);
      b.writeUInt32BE(v, 1);
      assert.deepEqual(a, b, `u32 ${v}`);
    }
    for (const v of [0, 1, 0xffff_ffff, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const a = Buffer.alloc(10, 0xaa);
      const b = Buffer.alloc(10, 0xaa);
      c.putU64(a, 1, v);
      b.writeBigUInt64BE(BigInt(v), 1);
      assert.deepEqual(a, b, `u64 ${v}`);
      assert.equal(c.getU64(b, 1), v, `getU64 ${v}`);
      assert.equal(c.getU32(b, 1), b.readUInt32BE(1));
      assert.equal(c.getU16(b, 7), b.readUInt16BE(7));
    }
  });

  test('copyRange copies a range into a buffer at an offset, by byte loop or by set', () => {
    for (const n of [0, 1, 8, 63, 64, 65, 300]) {
      const src = Buffer.from(Array.from({ length: n + 10 }, (_, i) => (i * 7) & 0xff));
      const out = Buffer.alloc(n + 20, 0xaa);
      assert.equal(c.copyRange(src, 5, 5 + n, out, 3), n);
      assert.deepEqual(out.subarray(3, 3 + n), src.subarray(5, 5 + n), `${n} bytes`);
      assert.ok(out.subarray(0, 3).every((b) => b === 0xaa) && out.subarray(3 + n).every((b) => b === 0xaa), `${n} bytes: nothing else written`);
    }
  });

  /** Every variant a producer can send, frame and Packet encoder side by side. */
  function variants(): Array<{ name: string; frame: Buffer; packet: c.Packet }> {
    const out: Array<{ name: string; frame: Buffer; packet: c.Packet }> = [];
    const blob = c.encodeXattrBlob(Buffer.from('{"_sync":{"rev":"1-a"},"u":[1]}'))!;
    const key = Buffer.from('doc::1');
    const body = Buffer.from('{"a":1}');
    for (const streamId of [undefined, 0xbeef]) {
      for (const collections of [false, true]) {
        const h: DcpStreamHeader = streamId === undefined ? { opaque: 0xfeedbeef, vbucket: 1023 } : { opaque: 0xfeedbeef, vbucket: 1023, streamId };
        const p = prefixOf(h, collections);
        const wireKey = collections ? c.joinCollectionKey(0, key) : key;
        const tag = `sid ${streamId ?? '-'}, collections ${collections}`;
        for (const [xattrs, value] of [[null, body], [blob, body], [blob, null], [null, null]] as const) {
          const datatype = (value ? c.Datatype.Json : 0) | (xattrs ? c.Datatype.Xattr : 0);
          out.push({
            name: `mutation ${tag}, xattrs ${xattrs !== null}, body ${value !== null}`,
            frame: c.encodeDcpMutationFrame(p, key, xattrs, value, datatype, CAS, 2 ** 40 + 5, 2 ** 33, 0xfffffffe, 1_700_000_000),
            packet: c.encodeDcpMutation({
              ...h, key: wireKey, value: Buffer.concat([xattrs ?? Buffer.alloc(0), value ?? Buffer.alloc(0)]), cas: CAS, datatype,
              bySeqno: 2 ** 40 + 5, revSeqno: 2 ** 33, flags: 0xfffffffe, expiration: 1_700_000_000,
            }),
          });
        }
        for (const xattrs of [null, blob]) {
          const datatype = xattrs ? c.Datatype.Xattr : 0;
          const base = { ...h, key: wireKey, value: xattrs ?? undefined, datatype, cas: CAS, bySeqno: 9, revSeqno: 3 };
          out.push({
            name: `deletion v1 ${tag}, xattrs ${xattrs !== null}`,
            frame: c.encodeDcpDeletionFrame(p, key, xattrs, datatype, CAS, 9, 3, undefined),
            packet: c.encodeDcpDeletion({ ...base, version: 1 }),
          });
          out.push({
            name: `deletion v2 ${tag}, xattrs ${xattrs !== null}`,
            frame: c.encodeDcpDeletionFrame(p, key, xattrs, datatype, CAS, 9, 3, 0x6000_0001),
            packet: c.encodeDcpDeletion({ ...base, version: 2, deleteTime: 0x6000_0001 }),
          });
        }
        out.push({
          name: `expiration ${tag}`,
          frame: c.encodeDcpExpirationFrame(p, key, CAS, 10, 4, 0x6000_0002),
          packet: c.encodeDcpExpiration({ ...h, key: wireKey, cas: CAS, bySeqno: 10, revSeqno: 4, deleteTime: 0x6000_0002 }),
        });
        out.push({
          name: `marker v1 ${tag}`,
          frame: c.encodeSnapshotMarkerV1Frame(p, 2 ** 35, 2 ** 36, c.SnapshotFlag.Disk | c.SnapshotFlag.Checkpoint),
          packet: c.encodeSnapshotMarker({ ...h, version: 'v1', startSeqno: 2 ** 35, endSeqno: 2 ** 36, flags: c.SnapshotFlag.Disk | c.SnapshotFlag.Checkpoint }),
        });
      }
    }
    return out;
  }

  test('every variant equals the Packet encoder and decodes back to the same message', () => {
    for (const v of variants()) {
      assert.deepEqual(v.frame, c.encodePacket(v.packet), v.name);
      const back = c.decodePacket(v.frame);
      assert.deepEqual(back, c.decodePacket(c.encodePacket(v.packet)), v.name);
      // The family decoders accept the frame (layout checks: extras length, key present).
      switch (back.opcode) {
        case c.Opcode.DcpMutation:
          assert.equal(c.decodeDcpMutation(back).bySeqno, 2 ** 40 + 5, v.name);
          break;
        case c.Opcode.DcpDeletion:
          assert.equal(c.decodeDcpDeletion(back).version, back.extras.length === 18 ? 1 : 2, v.name);
          break;
        case c.Opcode.DcpExpiration:
          assert.equal(c.decodeDcpExpiration(back).deleteTime, 0x6000_0002, v.name);
          break;
        default:
          assert.equal(c.decodeSnapshotMarker(back).endSeqno, 2 ** 36, v.name);
      }
    }
  });

  test('the frames back to back parse identically split at every offset', () => {
    const frames = variants().map((v) => v.frame);
    const stream = Buffer.concat(frames);
    const expected = frames.map((f) => c.decodePacket(f));
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new c.PacketParser();
      const got = [...parser.push(stream.subarray(0, cut)), ...parser.push(stream.subarray(cut))];
      assert.deepEqual(got, expected, `split at ${cut}`);
      assert.equal(parser.bufferedBytes, 0);
    }
  });
});
