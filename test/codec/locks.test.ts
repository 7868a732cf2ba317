/**
 * GET_LOCKED (0x94) and UNLOCK_KEY (0x95) layouts (src/codec/ops/locks.ts) through real frame
 * bytes: the optional 4-byte lock time, the lock CAS UNLOCK_KEY requires, and the layouts
 * kv_engine's validators refuse (mcbp_validators.cc `get_locked_validator`, `unlock_validator`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Opcode,
  PacketParser,
  ProtocolError,
  decodeGetLockedRequest,
  decodeGetLockedResponse,
  decodeUnlockRequest,
  encodeGetLockedRequest,
  encodeGetResponseFrame,
  encodePacket,
  encodeUnlockRequest,
  type Packet,
} from '../../src/codec/index.js';

function roundTrip(bytes: Buffer): Packet {
  const out = new PacketParser().push(bytes);
  assert.equal(out.length, 1);
  return out[0]!;
}

test('GET_LOCKED: the lock time is 4 bytes of extras, or none', () => {
  const withTime = roundTrip(encodePacket(encodeGetLockedRequest({ key: 'doc', lockTime: 20, vbucket: 7 })));
  assert.equal(withTime.opcode, 0x94);
  assert.deepEqual([...withTime.extras], [0, 0, 0, 20]);
  assert.deepEqual(decodeGetLockedRequest(withTime), { key: Buffer.from('doc'), lockTime: 20, vbucket: 7 });
  const without = roundTrip(encodePacket(encodeGetLockedRequest({ key: 'doc' })));
  assert.equal(without.extras.length, 0);
  assert.equal(decodeGetLockedRequest(without).lockTime, 0);

  const bad = (p: Packet) => assert.throws(() => decodeGetLockedRequest(p), ProtocolError);
  bad({ ...without, extras: Buffer.alloc(8) });
  bad({ ...without, key: Buffer.alloc(0) });
  bad({ ...without, value: Buffer.from('x') });
  bad({ ...without, cas: 1n });
});

test('GET_LOCKED response: flags in the extras, the lock CAS in the header', () => {
  const frame = encodeGetResponseFrame(Opcode.GetLocked, 9, 0x1234n, 0xbeef, 1, Buffer.alloc(0), Buffer.from('{"a":1}'));
  const res = decodeGetLockedResponse(roundTrip(frame));
  assert.deepEqual([res.flags, res.cas, res.datatype, res.value.toString()], [0xbeef, 0x1234n, 1, '{"a":1}']);
});

test('UNLOCK_KEY: the lock CAS in the header, required', () => {
  const p = roundTrip(encodePacket(encodeUnlockRequest({ key: 'doc', cas: 0xffff_0000_0000_0001n, vbucket: 3 })));
  assert.equal(p.opcode, 0x95);
  assert.deepEqual(decodeUnlockRequest(p), { key: Buffer.from('doc'), cas: 0xffff_0000_0000_0001n, vbucket: 3 });
  assert.throws(() => decodeUnlockRequest({ ...p, cas: 0n }), ProtocolError);
  assert.throws(() => decodeUnlockRequest({ ...p, extras: Buffer.alloc(4) }), ProtocolError);
  assert.throws(() => decodeUnlockRequest({ ...p, value: Buffer.from('x') }), ProtocolError);
});
