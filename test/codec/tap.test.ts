/**
 * TAP codec (src/codec/ops/tap.ts): TAP_CONNECT flag data in bit order, the stream messages'
 * byte layouts checked against hand-built bytes from docs/TAP.md and the daemon's ship_tap_log,
 * decoding round trips, bad layouts, and the frames through the PacketParser whole, byte by byte
 * and split at every offset.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { hex } from './fixtures/hex.js';

const F = c.TapConnectFlag;

describe('codec > tap > TAP_CONNECT', () => {
  test('flag data in bit order: BACKFILL u64, then LIST_VBUCKETS count + ids (flags 0x35 example)', () => {
    const flags = F.Backfill | F.ListVbuckets | F.SupportAck | F.RequestKeysOnly;
    const p = c.encodeTapConnectRequest({ name: 'mytap', flags, backfill: c.TAP_BACKFILL_FUTURE_ONLY, vbuckets: [1, 513] });
    const bytes = c.encodePacket(p);
    assert.deepEqual(
      bytes,
      Buffer.concat([
        hex`80 40 0005 04 00 0000 00000017 00000000 0000000000000000`,
        hex`00000035`,
        Buffer.from('mytap'),
        hex`ffffffffffffffff 0002 0001 0201`,
      ]),
    );
    const d = c.decodeTapConnectRequest(c.decodePacket(bytes));
    assert.deepEqual(d, { name: 'mytap', flags, backfill: c.TAP_BACKFILL_FUTURE_ONLY, vbuckets: [1, 513] });
  });

  test('no extras means flags 0; CHECKPOINT pairs are read when present, optional otherwise', () => {
    assert.deepEqual(c.decodeTapConnectRequest(c.makeRequest(c.Opcode.TapConnect, { key: Buffer.from('n') })), { name: 'n', flags: 0 });
    const cp = c.encodeTapConnectRequest({ name: 'n', flags: F.Checkpoint, checkpoints: [{ vbucket: 7, checkpointId: 42n }] });
    assert.deepEqual(cp.value, hex`0001 0007 000000000000002a`);
    assert.deepEqual(c.decodeTapConnectRequest(cp).checkpoints, [{ vbucket: 7, checkpointId: 42n }]);
    const bare = c.makeRequest(c.Opcode.TapConnect, { extras: hex`00000040` });
    assert.equal(c.decodeTapConnectRequest(bare).checkpoints, undefined);
  });

  test('layouts the flags do not account for are ProtocolErrors', () => {
    const req = (extras: Buffer, value: Buffer): c.Packet => c.makeRequest(c.Opcode.TapConnect, { key: Buffer.from('n'), extras, value });
    assert.throws(() => c.decodeTapConnectRequest(req(hex`000001`, hex``)), c.ProtocolError, 'extras of 3');
    assert.throws(() => c.decodeTapConnectRequest(req(hex`00000001`, hex`00000000`)), c.ProtocolError, 'short date');
    assert.throws(() => c.decodeTapConnectRequest(req(hex`00000004`, hex`0002 0001`)), c.ProtocolError, 'short list');
    assert.throws(() => c.decodeTapConnectRequest(req(hex`00000000`, hex`00`)), c.ProtocolError, 'trailing bytes');
    assert.throws(() => c.decodeTapConnectRequest(req(hex`00000040`, hex`0001 0007`)), c.ProtocolError, 'short checkpoint pair');
  });
});

const mutation = c.encodeTapMutation({ seqno: 5, vbucket: 3, tapFlags: c.TapFlag.Ack, key: 'k', value: 'v1', cas: 0x1122n, flags: 0xdeadbeef, expiry: 100, datatype: 1 });
const keysOnly = c.encodeTapMutation({ seqno: 6, vbucket: 3, tapFlags: c.TapFlag.NoValue, key: 'k', cas: 1n, flags: 0, expiry: 0 });
const del = c.encodeTapDelete({ seqno: 7, vbucket: 2, tapFlags: 0, key: 'gone', cas: 9n });
const opaque = c.encodeTapOpaque({ seqno: 8, vbucket: 1, tapFlags: 0, command: c.TapOpaqueCommand.CloseBackfill });
const vbset = c.encodeTapVbucketSet({ seqno: 9, vbucket: 1, tapFlags: c.TapFlag.Ack, state: 1 });
const cpStart = c.encodeTapCheckpoint('start', { seqno: 10, vbucket: 4, tapFlags: 0, checkpointId: 3n });
const cpEnd = c.encodeTapCheckpoint('end', { seqno: 11, vbucket: 4, tapFlags: 0, checkpointId: 3n });
const noop = c.encodePacket(c.encodeNoopRequest());
const FRAMES = [mutation, keysOnly, del, opaque, vbset, cpStart, cpEnd, noop];

describe('codec > tap > stream messages', () => {
  test('byte layouts: the 8-byte TAP prefix, item flags and expiry, engine-specific words', () => {
    assert.deepEqual(
      mutation,
      Buffer.concat([
        hex`80 41 0001 10 01 0003 00000013 00000005 0000000000001122`,
        hex`0000 0001 ff 000000 deadbeef 00000064`,
        Buffer.from('kv1'),
      ]),
    );
    assert.deepEqual(keysOnly.subarray(8, 12), hex`00000011`, 'no value: extras 16 + key 1');
    assert.deepEqual(del, Buffer.concat([hex`80 42 0004 08 00 0002 0000000c 00000007 0000000000000009`, hex`0000 0000 ff 000000`, Buffer.from('gone')]));
    assert.deepEqual(opaque, hex`80 44 0000 08 00 0001 0000000c 00000008 0000000000000000 0004 0000 ff 000000 00000008`);
    assert.deepEqual(vbset, hex`80 45 0000 08 00 0001 0000000c 00000009 0000000000000000 0004 0001 ff 000000 00000001`);
    assert.deepEqual(cpStart.subarray(24 + 16), Buffer.concat([Buffer.from('checkpoint_start'), hex`0000000000000003`]));
    assert.deepEqual(noop, hex`80 0a 0000 00 00 0000 00000000 00000000 0000000000000000`, 'the idle NOOP: header only');
  });

  test('decodeTapMessage round trips every message', () => {
    const d = FRAMES.map((f) => c.decodeTapMessage(c.decodePacket(f)));
    assert.deepEqual(d[0], { seqno: 5, vbucket: 3, tapFlags: 1, ttl: 0xff, type: 'mutation', key: Buffer.from('k'), value: Buffer.from('v1'), cas: 0x1122n, flags: 0xdeadbeef, expiry: 100, engineSpecific: Buffer.alloc(0) });
    assert.equal(d[1]!.type === 'mutation' && d[1].value.length, 0);
    assert.equal(d[2]!.type === 'delete' && d[2].key.toString(), 'gone');
    assert.equal(d[3]!.type === 'opaque' && d[3].command, c.TapOpaqueCommand.CloseBackfill);
    assert.equal(d[4]!.type === 'vbucket-set' && d[4].state, 1);
    assert.equal(d[5]!.type === 'checkpoint-start' && d[5].checkpointId, 3n);
    assert.equal(d[6]!.type === 'checkpoint-end' && d[6].checkpointId, 3n);
    assert.equal(d[7]!.type, 'noop');
  });

  test("engine-specific bytes before the key are split off; the doc's extlen-8 checkpoint is accepted", () => {
    // A mutation as ep-engine 2.x shipped it: 4 engine-specific bytes (rev seqno) before the key.
    const withEs = c.decodePacket(Buffer.concat([hex`80 41 0001 10 00 0000 00000016 00000001 0000000000000001`, hex`0004 0000 ff 000000 00000000 00000000`, hex`00000007`, Buffer.from('kv')]));
    const m = c.decodeTapMessage(withEs);
    assert.ok(m.type === 'mutation');
    assert.deepEqual([m.engineSpecific, m.key.toString(), m.value.toString()], [hex`00000007`, 'k', 'v']);
    const docForm = c.decodePacket(hex`80 46 0000 08 00 0000 00000010 00000001 0000000000000000 0000 0000 ff 000000 0000000000000009`);
    const cp = c.decodeTapMessage(docForm);
    assert.ok(cp.type === 'checkpoint-start' && cp.checkpointId === 9n);
    assert.throws(() => c.decodeTapMessage(c.makeRequest(c.Opcode.TapOpaque, { extras: Buffer.alloc(8) })), c.ProtocolError);
    assert.throws(() => c.decodeTapMessage(c.makeRequest(c.Opcode.Get, { extras: Buffer.alloc(8) })), c.ProtocolError);
  });

  test('DEREGISTER_TAP_CLIENT: the name is the key', () => {
    const p = c.encodeDeregisterTapClientRequest('reg1', 4);
    assert.deepEqual(c.encodePacket(p), Buffer.concat([hex`80 9e 0004 00 00 0000 00000004 00000004 0000000000000000`, Buffer.from('reg1')]));
    assert.deepEqual(c.decodeDeregisterTapClientRequest(c.decodePacket(c.encodePacket(p))), { name: 'reg1' });
    assert.throws(() => c.decodeDeregisterTapClientRequest(c.makeRequest(c.Opcode.DeregisterTapClient)), c.ProtocolError);
  });
});

describe('codec > tap > parser', () => {
  test('each frame whole, byte by byte, and split at every offset', () => {
    for (const [i, bytes] of FRAMES.entries()) {
      const expected = c.decodePacket(bytes);
      assert.deepEqual(new c.PacketParser().push(bytes), [expected], `frame ${i} whole`);
      const parser = new c.PacketParser();
      const byByte = [...bytes].flatMap((b) => parser.push(Buffer.from([b])));
      assert.deepEqual(byByte, [expected], `frame ${i} byte by byte`);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const p = new c.PacketParser();
        assert.deepEqual([...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))], [expected], `frame ${i} split at ${cut}`);
        assert.equal(p.bufferedBytes, 0);
      }
    }
  });

  test('all frames back to back, split at every offset', () => {
    const stream = Buffer.concat(FRAMES);
    const expected = FRAMES.map((f) => c.decodePacket(f));
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new c.PacketParser();
      assert.deepEqual([...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))], expected, `split at ${cut}`);
    }
  });
});
