/**
 * A reply that cannot be encoded (a field out of its wire range: a bug upstream) goes out as
 * Einternal for the same opcode and opaque, so the client's request is still answered, and the
 * connection is told; it was once thrown inside the connection's flush and the reply was lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Magic, Opcode, Status, decodePacket, makeRequest, replyTo } from '../../src/codec/index.js';
import { encodeReplyInto } from '../../src/kv/socket-writer.js';

test('an unencodable reply becomes Einternal with its opcode and opaque; the others go out as they are', () => {
  const req = makeRequest(Opcode.SubdocDictUpsert, { key: Buffer.from('k'), opaque: 0x1234 });
  const bad = replyTo(req, { status: Status.Success, cas: 1n << 64n });
  const good = replyTo({ ...req, opaque: 0x1235 }, { status: Status.Success, cas: 7n });
  const out: Buffer[] = [];
  const errors: unknown[] = [];
  encodeReplyInto(out, [bad, good], (err) => errors.push(err));
  assert.equal(out.length, 2);
  assert.equal(errors.length, 1);
  const first = decodePacket(out[0]!);
  assert.deepEqual([first.magic, first.opcode, first.opaque, first.status, first.cas, first.value.length], [Magic.ClientResponse, Opcode.SubdocDictUpsert, 0x1234, Status.Einternal, 0n, 0]);
  const second = decodePacket(out[1]!);
  assert.deepEqual([second.opaque, second.status, second.cas], [0x1235, Status.Success, 7n]);
});
