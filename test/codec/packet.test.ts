import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { hex } from './fixtures/hex.js';

const isCode = (code: string) => (e: unknown) => e instanceof c.ProtocolError && e.code === code;

describe('codec > packet', () => {
  test('bytes 6-7 are the vbucket for requests and the status for responses', () => {
    const req = c.decodePacket(hex`80 00 0000 00 00 0102 00000000 00000000 0000000000000000`);
    assert.equal(req.vbucket, 0x102);
    assert.equal(req.status, 0);
    const res = c.decodePacket(hex`81 00 0000 00 00 0102 00000000 00000000 0000000000000000`);
    assert.equal(res.status, 0x102);
    assert.equal(res.vbucket, 0);
    // encoding ignores the field the magic does not use
    assert.deepEqual(
      c.encodePacket(c.makeRequest(c.Opcode.Get, { vbucket: 7, status: 9 })).subarray(6, 8),
      hex`0007`,
    );
    assert.deepEqual(
      c.encodePacket(c.makeResponse(c.Opcode.Get, { vbucket: 7, status: 9 })).subarray(6, 8),
      hex`0009`,
    );
  });

  test('framing extras switch a classic magic to its flexible twin', () => {
    const p = c.makeRequest(c.Opcode.Get, { key: Buffer.from('k'), framingExtras: hex`50` });
    const bytes = c.encodePacket(p);
    assert.deepEqual(bytes.subarray(0, 4), hex`08 00 01 01`);
    const back = c.decodePacket(bytes);
    assert.equal(back.magic, c.Magic.AltClientRequest);
    assert.deepEqual(back.framingExtras, hex`50`);
    assert.deepEqual(back.key, Buffer.from('k'));
    const r = c.encodePacket(c.makeResponse(c.Opcode.Get, { framingExtras: hex`02 0010` }));
    assert.equal(r[0], c.Magic.AltClientResponse);
    assert.throws(
      () => c.encodePacket(c.makeRequest(1, { magic: c.Magic.ServerRequest, framingExtras: hex`50` })),
      isCode('CODEC_BAD_LENGTH'),
    );
  });

  test('encode rejects fields that do not fit', () => {
    const big = Buffer.alloc(256);
    assert.throws(() => c.encodePacket(c.makeRequest(0, { extras: big })), isCode('CODEC_BAD_LENGTH'));
    assert.throws(
      () => c.encodePacket(c.makeRequest(0, { key: big, framingExtras: hex`50` })),
      isCode('CODEC_BAD_LENGTH'),
    );
    assert.throws(() => c.encodePacket(c.makeRequest(0, { key: Buffer.alloc(0x10000) })), isCode('CODEC_BAD_LENGTH'));
    assert.throws(() => c.encodePacket(c.makeRequest(256)), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => c.encodePacket(c.makeRequest(0, { vbucket: 0x10000 })), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => c.encodePacket(c.makeRequest(0, { opaque: -1 })), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => c.encodePacket(c.makeRequest(0, { cas: 1n << 64n })), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => c.encodePacket(c.makeRequest(0, { magic: 0x42 })), isCode('CODEC_BAD_MAGIC'));
  });

  test('decodeHeader needs 24 bytes; decodePacket needs the whole body', () => {
    assert.throws(() => c.decodeHeader(Buffer.alloc(23)), isCode('CODEC_SHORT_READ'));
    const h = hex`81 00 0000 00 00 0000 00000004 00000000 0000000000000000 0000`;
    assert.throws(() => c.decodePacket(h), isCode('CODEC_SHORT_READ'));
  });

  test('replyTo keeps opcode and opaque and picks the response magic', () => {
    const r = c.replyTo({ magic: c.Magic.ServerRequest, opcode: 1, opaque: 77 }, { status: c.Status.Einval });
    assert.equal(r.magic, c.Magic.ServerResponse);
    assert.equal(r.opcode, 1);
    assert.equal(r.opaque, 77);
    assert.equal(r.status, c.Status.Einval);
    assert.equal(c.packetSize(c.makeRequest(0, { key: Buffer.from('abc'), extras: Buffer.alloc(4) })), 31);
  });

  test('decoders reject the wrong opcode and the wrong layout', () => {
    const get = c.encodeGetRequest({ key: 'k' });
    assert.throws(() => c.decodeHelloRequest(get), isCode('CODEC_UNEXPECTED_OPCODE'));
    assert.throws(() => c.decodeGetResponse(c.makeResponse(c.Opcode.Get)), isCode('CODEC_BAD_LAYOUT'));
    assert.throws(() => c.decodeGetRequest(c.makeRequest(c.Opcode.Get)), isCode('CODEC_BAD_LAYOUT'));
    assert.throws(
      () => c.decodeMutationResponse(c.makeResponse(c.Opcode.Set, { extras: Buffer.alloc(8) })),
      isCode('CODEC_BAD_LAYOUT'),
    );
    assert.throws(
      () => c.decodeArithResponse(c.makeResponse(c.Opcode.Increment, { value: Buffer.alloc(4) })),
      isCode('CODEC_BAD_LAYOUT'),
    );
  });
});

describe('codec > leb128 collection ids', () => {
  test('round trip and known encodings', () => {
    assert.deepEqual(c.encodeLeb128(0), hex`00`);
    assert.deepEqual(c.encodeLeb128(8), hex`08`);
    assert.deepEqual(c.encodeLeb128(0x80), hex`8001`);
    assert.deepEqual(c.encodeLeb128(0xffffffff), hex`ffffffff0f`);
    for (const v of [0, 1, 127, 128, 300, 0x1fffff, 0xffffffff]) {
      assert.deepEqual(c.decodeLeb128(c.encodeLeb128(v)), { value: v, length: c.encodeLeb128(v).length });
    }
    const key = c.joinCollectionKey(9, 'doc');
    assert.deepEqual(c.splitCollectionKey(key), { collectionId: 9, key: Buffer.from('doc') });
  });

  test('truncated or oversized values are ProtocolErrors', () => {
    assert.throws(() => c.decodeLeb128(hex`80`), c.ProtocolError);
    assert.throws(() => c.decodeLeb128(hex`ffffffff1f`), c.ProtocolError);
    assert.throws(() => c.decodeLeb128(hex`ffffffffff01`), c.ProtocolError);
    assert.throws(() => c.encodeLeb128(-1), c.ProtocolError);
  });
});
