/**
 * The pre-encoded hot-path replies (src/kv/wire.ts) are byte for byte what the codec encodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, encodeGetResponse, encodeGatResponse, encodeMutationResponse, encodePacket, type GetOpcode } from '../../src/codec/index.js';
import { mutationReply, valueReply } from '../../src/kv/wire.js';

const CAS = 0x17c3_0000_0000_0001n;

test('value replies equal the codec encoding of GET, GETK and GAT replies', () => {
  for (const opcode of [Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ] as const satisfies readonly GetOpcode[]) {
    for (const [value, datatype] of [[Buffer.from('{"a":1}'), 1], [Buffer.alloc(0), 0], [Buffer.alloc(70_000, 7), 0]] as const) {
      const key = Buffer.from([0, 0x6b, 0x65, 0x79]);
      const withKey = opcode === Opcode.GetK || opcode === Opcode.GetKQ;
      const codec = encodePacket(encodeGetResponse({ opcode, flags: 0x02000006, value, datatype, cas: CAS, key }, { opaque: 0xdeadbeef }));
      const wire = valueReply(opcode, 0xdeadbeef, CAS, 0x02000006, datatype, withKey ? key : Buffer.alloc(0), value);
      assert.deepEqual(wire, codec, `opcode 0x${opcode.toString(16)}, ${value.length}-byte value`);
    }
  }
  const gat = encodeGatResponse({ flags: 0xffffffff, value: Buffer.from('v'), cas: 1n }, { opaque: 9 });
  assert.deepEqual(valueReply(Opcode.Gat, 9, 1n, 0xffffffff, 0, Buffer.alloc(0), Buffer.from('v')), encodePacket(gat));
});

test('mutation replies equal the codec encoding, with and without the token', () => {
  for (const opcode of [Opcode.Set, Opcode.Add, Opcode.Replace, Opcode.Append, Opcode.Prepend, Opcode.Delete]) {
    for (const token of [undefined, { vbUuid: 0xabcdef123456, seqno: 2 ** 40 + 3 }]) {
      const codec = encodePacket(encodeMutationResponse(opcode, token ? { cas: CAS, token } : { cas: CAS }, { opaque: 42 }));
      assert.deepEqual(mutationReply(opcode, 42, CAS, token), codec);
    }
  }
});
