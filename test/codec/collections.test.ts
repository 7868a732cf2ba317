/**
 * Codec pieces for collections over KV: the strict collection-id key prefix (shortest-form
 * unsigned LEB128, at most 5 bytes, kv unsigned_leb128.h `decodeCanonical`) and the
 * GET_COLLECTIONS_MANIFEST / GET_COLLECTION_ID / GET_SCOPE_ID layouts, through real frame bytes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Opcode,
  PacketParser,
  ProtocolError,
  decodeCollectionIdRequest,
  decodeCollectionIdResponse,
  decodeCollectionPrefix,
  decodeGetCollectionsManifestRequest,
  encodeCollectionIdRequest,
  encodeCollectionIdResponse,
  encodeGetCollectionsManifestRequest,
  encodeLeb128,
  encodePacket,
  makeRequest,
  type Packet,
} from '../../src/codec/index.js';

function roundTrip(p: Packet): Packet {
  const out = new PacketParser().push(encodePacket(p));
  assert.equal(out.length, 1);
  return out[0]!;
}

describe('collection-id key prefix', () => {
  test('every id decodes from its shortest form, with the bytes it used', () => {
    for (const [id, bytes] of [
      [0, [0x00]],
      [8, [0x08]],
      [0x7f, [0x7f]],
      [0x80, [0x80, 0x01]],
      [0x3fff, [0xff, 0x7f]],
      [0x4000, [0x80, 0x80, 0x01]],
      [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ] as const) {
      assert.deepEqual([...encodeLeb128(id)], bytes, `encode ${id}`);
      const key = Buffer.concat([Buffer.from(bytes), Buffer.from('doc')]);
      assert.deepEqual(decodeCollectionPrefix(key), { value: id, length: bytes.length }, `decode ${id}`);
    }
  });

  test('non-shortest, over-long, out-of-range and truncated prefixes are refused', () => {
    for (const bytes of [
      [0x80, 0x00],
      [0x88, 0x80, 0x00],
      [0xff, 0x80, 0x80, 0x80, 0x00],
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      [0xff, 0xff, 0xff, 0xff, 0x1f],
      [0x80],
      [],
    ]) {
      assert.throws(() => decodeCollectionPrefix(Buffer.from(bytes)), ProtocolError, JSON.stringify(bytes));
    }
  });
});

describe('collection lookup frames', () => {
  test('GET_COLLECTION_ID and GET_SCOPE_ID carry the path in the value or the key; replies uid + id', () => {
    const inValue = roundTrip(encodeCollectionIdRequest(Opcode.CollectionsGetId, 'inventory.airport'));
    assert.equal(inValue.key.length, 0);
    assert.equal(decodeCollectionIdRequest(inValue), 'inventory.airport');
    const inKey = roundTrip(encodeCollectionIdRequest(Opcode.CollectionsGetScopeId, 'inventory', { inKey: true }));
    assert.equal(inKey.value.length, 0);
    assert.equal(decodeCollectionIdRequest(inKey), 'inventory');
    const both = makeRequest(Opcode.CollectionsGetId, { key: Buffer.from('a.b'), value: Buffer.from('a.b') });
    assert.throws(() => decodeCollectionIdRequest(both), ProtocolError);
    assert.throws(() => decodeCollectionIdRequest(makeRequest(Opcode.CollectionsGetId, { extras: Buffer.alloc(4), value: Buffer.from('a.b') })), ProtocolError);

    const res = roundTrip(encodeCollectionIdResponse(Opcode.CollectionsGetId, { manifestUid: 0x1234, id: 0x80 }, { opaque: 7 }));
    assert.equal(res.extras.length, 12);
    assert.equal(res.extras.readBigUInt64BE(0), 0x1234n);
    assert.equal(res.extras.readUInt32BE(8), 0x80);
    assert.deepEqual(decodeCollectionIdResponse(res), { manifestUid: 0x1234, id: 0x80 });
    assert.equal(res.opaque, 7);
  });

  test('GET_COLLECTIONS_MANIFEST takes no extras, key or value', () => {
    decodeGetCollectionsManifestRequest(roundTrip(encodeGetCollectionsManifestRequest()));
    assert.throws(() => decodeGetCollectionsManifestRequest(makeRequest(Opcode.CollectionsGetManifest, { value: Buffer.from('x') })), ProtocolError);
  });
});
