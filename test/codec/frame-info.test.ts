import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { hex } from './fixtures/hex.js';

describe('codec > frame-info', () => {
  test('plain nibbles: ids and lengths below 15', () => {
    const frames = [
      { id: 0, data: Buffer.alloc(0) }, // barrier: 0x00
      { id: 2, data: hex`0007` }, // stream id 7: 0x22 0007
      { id: 5, data: Buffer.alloc(0) }, // preserve ttl: 0x50
    ];
    const bytes = hex`00 22 0007 50`;
    assert.deepEqual(c.encodeFrameInfos(frames), bytes);
    assert.deepEqual(c.decodeFrameInfos(bytes), frames);
  });

  test('escaped id and length (nibble 15 + next byte)', () => {
    const data = Buffer.alloc(20, 0xab);
    // id 17 -> nibble f + 0x02; length 20 -> nibble f + 0x05 (after the id byte)
    const bytes = Buffer.concat([hex`ff 02 05`, data]);
    assert.deepEqual(c.encodeFrameInfos([{ id: 17, data }]), bytes);
    assert.deepEqual(c.decodeFrameInfos(bytes), [{ id: 17, data }]);
    // exactly 15 escapes too: id 15 -> f + 00, length 15 -> f + 00
    const fifteen = Buffer.alloc(15, 1);
    assert.deepEqual(c.encodeFrameInfos([{ id: 15, data: fifteen }]), Buffer.concat([hex`ff 00 00`, fifteen]));
    assert.deepEqual(c.decodeFrameInfos(Buffer.concat([hex`ff 00 00`, fifteen])), [{ id: 15, data: fifteen }]);
  });

  test('truncated frames are ProtocolErrors', () => {
    for (const bad of [hex`23 0001`, hex`f0`, hex`0f`, hex`1f 05 00`]) {
      assert.throws(() => c.decodeFrameInfos(bad), c.ProtocolError);
    }
    assert.throws(() => c.encodeFrameInfos([{ id: 271, data: Buffer.alloc(0) }]), c.ProtocolError);
    assert.throws(() => c.encodeFrameInfos([{ id: 1, data: Buffer.alloc(271) }]), c.ProtocolError);
  });

  test('durability requirement, with and without timeout', () => {
    assert.deepEqual(c.encodeFrameInfos([c.durabilityFrame({ level: c.DurabilityLevel.Majority })]), hex`11 01`);
    const f = c.durabilityFrame({ level: c.DurabilityLevel.PersistToMajority, timeoutMs: 9000 });
    assert.deepEqual(c.encodeFrameInfos([f]), hex`13 03 2328`);
    assert.deepEqual(c.decodeDurability(f.data), { level: 3, timeoutMs: 9000 });
    assert.throws(() => c.durabilityFrame({ level: 1, timeoutMs: 0 }), c.ProtocolError);
    assert.throws(() => c.durabilityFrame({ level: 1, timeoutMs: 0xffff }), c.ProtocolError);
    assert.throws(() => c.decodeDurability(hex`01 00`), c.ProtocolError);
  });

  test('stream id lookup among other frames', () => {
    assert.equal(c.decodeStreamId(hex`00 22 01ff 50`), 0x1ff);
    assert.equal(c.decodeStreamId(hex`00 50`), undefined);
    assert.equal(c.decodeStreamId(Buffer.alloc(0)), undefined);
    assert.throws(() => c.decodeStreamId(hex`21 01`), c.ProtocolError);
  });

  test('server duration encoding follows (micros*2)^(1/1.74)', () => {
    assert.equal(c.encodeServerDuration(0), 0);
    const enc = c.encodeServerDuration(1000);
    assert.equal(enc, Math.round(Math.pow(2000, 1 / 1.74)));
    // decoding is lossy (variable precision) but close
    assert.ok(Math.abs(c.decodeServerDuration(enc) - 1000) / 1000 < 0.02);
    assert.equal(c.encodeServerDuration(1e12), 0xffff);
  });
});
