/**
 * PacketParser under every chunking (practice 5): each golden fixture whole, one byte at
 * a time, and split at every offset; several frames split across chunks; and malformed
 * frames rejected with ProtocolError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketParser, ProtocolError, decodePacket, encodePacket } from '../../src/codec/index.js';
import type { Packet } from '../../src/codec/index.js';
import { DCP_GOLDEN } from './fixtures/golden-dcp.js';
import { KV_CONSTRUCTED_GOLDEN } from './fixtures/golden-kv-constructed.js';
import { KV_GOLDEN } from './fixtures/golden-kv.js';
import { hex } from './fixtures/hex.js';

const FIXTURES = [...KV_GOLDEN, ...KV_CONSTRUCTED_GOLDEN, ...DCP_GOLDEN];

function feed(parser: PacketParser, chunks: readonly Buffer[]): Packet[] {
  return chunks.flatMap((c) => parser.push(c));
}

function bytesOf(packets: readonly Packet[]): Buffer[] {
  return packets.map(encodePacket);
}

describe('codec > parser > chunking', () => {
  test('every fixture whole, byte by byte, and split at every offset', () => {
    for (const g of FIXTURES) {
      const expected = decodePacket(g.bytes);
      const whole = feed(new PacketParser(), [g.bytes]);
      assert.deepEqual(whole, [expected], `${g.name}: whole`);

      const byByte = feed(
        new PacketParser(),
        [...g.bytes].map((b) => Buffer.from([b])),
      );
      assert.deepEqual(byByte, [expected], `${g.name}: byte by byte`);

      for (let cut = 0; cut <= g.bytes.length; cut++) {
        const parser = new PacketParser();
        const got = feed(parser, [g.bytes.subarray(0, cut), g.bytes.subarray(cut)]);
        assert.deepEqual(got, [expected], `${g.name}: split at ${cut}`);
        assert.equal(parser.bufferedBytes, 0);
      }
    }
  });

  test('all fixtures back to back, split at every offset of the stream', () => {
    const stream = Buffer.concat(FIXTURES.map((g) => g.bytes));
    const expected = bytesOf(FIXTURES.map((g) => decodePacket(g.bytes)));
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const parser = new PacketParser();
      const got = feed(parser, [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(bytesOf(got), expected, `split at ${cut}`);
    }
  });

  test('two messages split across three chunks (pg-protocol "split buffer" case)', () => {
    const a = KV_GOLDEN[1]!.bytes; // GET response, 33 bytes
    const b = DCP_GOLDEN[14]!.bytes; // DCP mutation, 65 bytes
    const both = Buffer.concat([a, b]);
    const parser = new PacketParser();
    assert.deepEqual(parser.push(both.subarray(0, 20)), []); // mid-header of the first
    const first = parser.push(both.subarray(20, 50)); // end of first + mid-header of second
    assert.equal(first.length, 1);
    assert.deepEqual(encodePacket(first[0]!), a);
    assert.ok(parser.bufferedBytes > 0);
    const second = parser.push(both.subarray(50));
    assert.equal(second.length, 1);
    assert.deepEqual(encodePacket(second[0]!), b);
    assert.equal(parser.bufferedBytes, 0);
  });

  test('packets stay intact after later pushes (no buffer reuse)', () => {
    const g = DCP_GOLDEN[14]!.bytes;
    const parser = new PacketParser();
    const half = Math.floor(g.length / 2);
    const kept = [...parser.push(g.subarray(0, half)), ...parser.push(g.subarray(half))];
    // push more traffic through the same parser, then check the first packet again
    for (let i = 0; i < 5; i++) parser.push(Buffer.concat([g, g.subarray(0, 10)]).subarray(i === 0 ? 0 : 10));
    assert.equal(kept.length, 1);
    assert.deepEqual(encodePacket(kept[0]!), g);
  });
});

describe('codec > parser > malformed frames', () => {
  const header = (magic: string, extras: string, bodyLen: string): Buffer =>
    hex`${magic} 00 0005 ${extras} 00 0000 ${bodyLen} 00000000 0000000000000000`;

  test('bad magic', () => {
    assert.throws(
      () => new PacketParser().push(header('42', '00', '00000000')),
      (e: unknown) => e instanceof ProtocolError && e.code === 'CODEC_BAD_MAGIC',
    );
  });

  test('extras + key longer than the body', () => {
    // key 5 + extras 8 > body 10
    assert.throws(
      () => new PacketParser().push(header('80', '08', '0000000a')),
      (e: unknown) => e instanceof ProtocolError && e.code === 'CODEC_BAD_LENGTH',
    );
  });

  test('framing extras longer than the body (alt magic)', () => {
    const bad = hex`08 00 10 00 00 00 0000 00000004 00000000 0000000000000000 00000000`;
    assert.throws(
      () => new PacketParser().push(bad),
      (e: unknown) => e instanceof ProtocolError && e.code === 'CODEC_BAD_LENGTH',
    );
  });

  test('body over the configured cap, detected from the header alone', () => {
    const parser = new PacketParser({ maxBodyLength: 1024 });
    assert.throws(
      () => parser.push(header('81', '00', '00000401')),
      (e: unknown) => e instanceof ProtocolError && e.code === 'CODEC_BODY_TOO_LARGE',
    );
  });

  test('default cap is 21 MiB', () => {
    const over = 21 * 1024 * 1024 + 1;
    const h = header('81', '00', over.toString(16).padStart(8, '0'));
    assert.throws(
      () => new PacketParser().push(h),
      (e: unknown) => e instanceof ProtocolError && e.code === 'CODEC_BODY_TOO_LARGE',
    );
    const at = header('81', '00', (over - 1).toString(16).padStart(8, '0'));
    assert.deepEqual(new PacketParser().push(at), []); // accepted, waiting for the body
  });

  test('malformed header split across chunks is still detected', () => {
    const bad = header('42', '00', '00000000');
    const parser = new PacketParser();
    assert.deepEqual(parser.push(bad.subarray(0, 10)), []);
    assert.throws(() => parser.push(bad.subarray(10)), ProtocolError);
  });

  test('after an error the parser stays failed', () => {
    const parser = new PacketParser();
    assert.throws(() => parser.push(header('42', '00', '00000000')), ProtocolError);
    assert.throws(() => parser.push(KV_GOLDEN[0]!.bytes), ProtocolError);
  });
});
