/**
 * A malformed frame closes that one connection, and the server keeps serving everyone else
 * (issue 3 "Connection rules"; the header checks are dcp.md §1.1).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_BODY_LENGTH, Status, encodeGetRequest, encodePacket, encodeStoreRequest } from '../../src/codec/index.js';
import { expectStatus, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

/** A 24-byte request header with the given fields (magic 0x80 unless told). */
function header(fields: { magic?: number; opcode?: number; keyLength?: number; extrasLength?: number; bodyLength: number }): Buffer {
  const h = Buffer.alloc(24);
  h[0] = fields.magic ?? 0x80;
  h[1] = fields.opcode ?? 0x00;
  h.writeUInt16BE(fields.keyLength ?? 0, 2);
  h[4] = fields.extrasLength ?? 0;
  h.writeUInt32BE(fields.bodyLength, 8);
  return h;
}

const CASES: ReadonlyArray<{ name: string; bytes: Buffer }> = [
  { name: 'a bad magic byte', bytes: Buffer.concat([header({ magic: 0x42, bodyLength: 0 })]) },
  { name: 'extras longer than the body', bytes: Buffer.concat([header({ extrasLength: 10, bodyLength: 4 }), Buffer.alloc(4)]) },
  { name: 'a key longer than the body', bytes: Buffer.concat([header({ keyLength: 300, bodyLength: 5 }), Buffer.alloc(5)]) },
  { name: 'a body over the size cap', bytes: header({ opcode: 0x01, extrasLength: 8, keyLength: 1, bodyLength: DEFAULT_MAX_BODY_LENGTH + 1 }) },
  { name: 'a body of 4 GiB', bytes: header({ bodyLength: 0xffffffff }) },
];

async function roundTrip(f: KvFixture, kv: RawKv, key: string, value: string): Promise<void> {
  expectStatus(await kv.request(encodeStoreRequest({ key, value, vbucket: f.vb(key) })), Status.Success);
  const got = expectStatus(await kv.request(encodeGetRequest({ key, vbucket: f.vb(key) })), Status.Success);
  assert.equal(got.value.toString(), value);
}

describe('malformed frames', () => {
  for (const { name, bytes } of CASES) {
    test(`${name} closes that connection only`, RAW_TEST, () =>
      withServer(async (f) => {
        const witness = await f.open();
        const victim = await f.open();
        await roundTrip(f, victim, 'before', 'ok');
        victim.sendBytes(bytes);
        await victim.waitClosed();
        // The connection opened before keeps working, and new ones are accepted.
        await roundTrip(f, witness, 'witness', 'still here');
        await roundTrip(f, await f.open(), 'newcomer', 'welcome');
      }));
  }

  test('a frame split across many writes is still one frame; garbage after it closes the connection', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const wire = encodePacket(encodeStoreRequest({ key: 'split', value: 'pieces', vbucket: f.vb('split') }, { opaque: 77 }));
      for (let i = 0; i < wire.length; i++) kv.sendBytes(wire.subarray(i, i + 1));
      const res = expectStatus(await kv.next(), Status.Success);
      assert.equal(res.opaque, 77);
      assert.equal(f.bucket.get('split').value.toString(), 'pieces');
      kv.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await kv.waitClosed();
      await roundTrip(f, await f.open(), 'after', 'fine');
    }));

  test('a connection that closes in the middle of a frame leaves nothing behind', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      kv.sendBytes(header({ opcode: 0x01, extrasLength: 8, keyLength: 4, bodyLength: 1000 }));
      kv.sendBytes(Buffer.alloc(100));
      kv.close();
      await kv.closed;
      await roundTrip(f, await f.open(), 'next', 'served');
      assert.throws(() => f.bucket.get(Buffer.alloc(4)), /not found/);
    }));
});
