import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferReader, BufferWriter, ProtocolError } from '../../src/codec/index.js';
import { hex } from './fixtures/hex.js';

const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;

describe('codec > buffer-reader', () => {
  test('reads big-endian integers and bytes in order', () => {
    const r = new BufferReader(hex`01 0203 04050607 08090a0b0c0d0e0f "hi"`);
    assert.equal(r.u8(), 0x01);
    assert.equal(r.u16(), 0x0203);
    assert.equal(r.u32(), 0x04050607);
    assert.equal(r.u64(), 0x08090a0b0c0d0e0fn);
    assert.deepEqual(r.bytes(2), Buffer.from('hi'));
    assert.equal(r.remaining, 0);
  });

  test('short reads throw CODEC_SHORT_READ, including at a window end', () => {
    assert.throws(() => new BufferReader(hex`0102 03`).u32(), isCode('CODEC_SHORT_READ'));
    const r = new BufferReader(hex`00000001 00000002`, 0, 4);
    assert.equal(r.u32(), 1);
    assert.throws(() => r.u8(), isCode('CODEC_SHORT_READ'));
    assert.throws(() => new BufferReader(hex`00`).bytes(2), isCode('CODEC_SHORT_READ'));
  });

  test('u64Number accepts 2^53-1 and rejects 2^53', () => {
    assert.equal(new BufferReader(hex`001fffffffffffff`).u64Number(), Number.MAX_SAFE_INTEGER);
    assert.throws(() => new BufferReader(hex`0020000000000000`).u64Number(), isCode('CODEC_VALUE_RANGE'));
  });
});

describe('codec > buffer-writer', () => {
  test('writes big-endian and grows past its initial size', () => {
    const w = new BufferWriter(1);
    w.u8(1).u16(0x0203).u32(0x04050607).u64(0x08090a0b0c0d0e0fn).u64(5).bytes(Buffer.from('hi'));
    assert.deepEqual(w.toBuffer(), hex`01 0203 04050607 08090a0b0c0d0e0f 0000000000000005 "hi"`);
    assert.equal(w.length, 25);
  });

  test('rejects values outside the field', () => {
    assert.throws(() => new BufferWriter().u8(256), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => new BufferWriter().u16(-1), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => new BufferWriter().u32(2 ** 32), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => new BufferWriter().u32(1.5), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => new BufferWriter().u64(1n << 64n), isCode('CODEC_VALUE_RANGE'));
    assert.throws(() => new BufferWriter().u64(2 ** 53), isCode('CODEC_VALUE_RANGE'));
  });

  test('earlier views survive growth', () => {
    const w = new BufferWriter(16);
    w.u32(0xaabbccdd);
    const view = w.toBuffer();
    for (let i = 0; i < 100; i++) w.u32(i);
    assert.deepEqual(view, hex`aabbccdd`);
  });
});
