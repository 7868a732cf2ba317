/** DCP semantics beyond byte layouts: seqno sentinel, versions, stream ids, event data. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { DCP_GOLDEN } from './fixtures/golden-dcp.js';
import { hex } from './fixtures/hex.js';

describe('codec > dcp > stream-req seqnos', () => {
  const base = { vbucket: 3, startSeqno: 10, vbUuid: 0xabc, snapStartSeqno: 10, snapEndSeqno: 10 };

  test('end seqno defaults to SEQNO_INFINITY = all-ones and compares naturally', () => {
    const p = c.encodeStreamRequest(base);
    assert.deepEqual(p.extras.subarray(16, 24), hex`ffffffffffffffff`);
    const d = c.decodeStreamRequest(c.decodePacket(c.encodePacket(p)));
    assert.equal(d.endSeqno, c.SEQNO_INFINITY);
    assert.ok(Number.MAX_SAFE_INTEGER <= d.endSeqno);
  });

  test('any seqno at or above 2^53 decodes to SEQNO_INFINITY; a uuid that large stays that large', () => {
    const p = c.encodeStreamRequest({ ...base, endSeqno: 100 });
    p.extras.writeBigUInt64BE(1n << 60n, 8); // start
    assert.equal(c.decodeStreamRequest(p).startSeqno, c.SEQNO_INFINITY);
    p.extras.writeBigUInt64BE((1n << 63n) + 1n, 24); // uuid: nearest number, never a 48-bit uuid
    assert.ok(c.decodeStreamRequest(p).vbUuid >= 2 ** 53);
  });

  test('encoding rejects negative or fractional seqnos', () => {
    assert.throws(() => c.encodeStreamRequest({ ...base, startSeqno: -1 }), c.ProtocolError);
    assert.throws(() => c.encodeStreamRequest({ ...base, snapEndSeqno: 1.5 }), c.ProtocolError);
  });

  test('rollback body must be 8 bytes; other statuses are reported, not thrown', () => {
    const bad = c.makeResponse(c.Opcode.DcpStreamReq, { status: c.Status.Rollback, value: Buffer.alloc(16) });
    assert.throws(() => c.decodeStreamRequestResponse(bad), c.ProtocolError);
    const busy = c.makeResponse(c.Opcode.DcpStreamReq, { status: c.Status.KeyEexists });
    assert.deepEqual(c.decodeStreamRequestResponse(busy), { kind: 'error', status: c.Status.KeyEexists });
    const rb = c.encodeStreamRequestRollback(900);
    assert.deepEqual(c.decodeStreamRequestResponse(rb), { kind: 'rollback', rollbackSeqno: 900 });
  });
});

describe('codec > dcp > messages', () => {
  test('snapshot marker V2.1 (version byte 1) and bad lengths are rejected', () => {
    const p = c.encodeSnapshotMarker({ opaque: 1, vbucket: 0, version: 'v2.0', startSeqno: 1, endSeqno: 2, flags: 2 });
    p.extras[0] = 1;
    assert.throws(() => c.decodeSnapshotMarker(p), c.ProtocolError);
    p.extras[0] = 2; // claims V2.2 but carries 36 bytes
    assert.throws(() => c.decodeSnapshotMarker(p), c.ProtocolError);
  });

  test('stream id frames ride on stream messages (magic 0x08)', () => {
    const m = c.encodeDcpMutation({
      opaque: 9, vbucket: 1, streamId: 12, key: 'k', value: 'v', cas: 5n, datatype: 0,
      bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0,
    });
    const bytes = c.encodePacket(m);
    assert.equal(bytes[0], c.Magic.AltClientRequest);
    const back = c.decodeDcpMutation(c.decodePacket(bytes));
    assert.equal(back.streamId, 12);
    assert.equal(back.opaque, 9);
    const end = c.decodeStreamEnd(c.decodePacket(c.encodePacket(c.encodeStreamEnd({ opaque: 9, vbucket: 1, streamId: 12, reason: 6 }))));
    assert.deepEqual(end, { opaque: 9, vbucket: 1, streamId: 12, reason: c.StreamEndReason.Rollback });
    const close = c.encodeCloseStreamRequest({ vbucket: 4, streamId: 2 });
    assert.deepEqual(c.decodeCloseStreamRequest(c.decodePacket(c.encodePacket(close))), { vbucket: 4, streamId: 2 });
  });

  test('deletion version follows the extras length', () => {
    const v1 = c.decodeDcpDeletion(c.encodeDcpDeletion({ opaque: 1, vbucket: 0, version: 1, key: 'k', cas: 1n, bySeqno: 2, revSeqno: 3 }));
    assert.equal(v1.version, 1);
    assert.equal(v1.deleteTime, undefined);
    const v2 = c.decodeDcpDeletion(
      c.encodeDcpDeletion({ opaque: 1, vbucket: 0, version: 2, key: 'k', cas: 1n, bySeqno: 2, revSeqno: 3, deleteTime: 7 }),
    );
    assert.equal(v2.version, 2);
    assert.equal(v2.deleteTime, 7);
    assert.equal(v2.nmeta, undefined);
  });

  test('system event data: begin collection v1 from the fixture, and the other events', () => {
    const g = DCP_GOLDEN.find((x) => x.name.startsWith('DCP_SYSTEM_EVENT'))!;
    const p = c.decodePacket(g.bytes);
    assert.deepEqual(c.decodeSystemEventData(c.decodeSystemEvent(p), p), {
      type: 'BeginCollection', name: 'mycollection', manifestUid: 2, scopeId: 0, collectionId: 8, maxTtl: 72000,
    });
    const drop = { type: 'DropScope', manifestUid: 5, scopeId: 9 } as const;
    const ev = { opaque: 1, vbucket: 0, bySeqno: 3, event: c.SystemEventId.DropScope, version: 0, key: Buffer.alloc(0), value: c.encodeSystemEventValue(drop) };
    const ep = c.encodeSystemEvent(ev);
    assert.deepEqual(c.decodeSystemEventData(c.decodeSystemEvent(ep), ep), drop);
    const fb = c.encodeSystemEvent({ ...ev, event: c.SystemEventId.ModifyCollection, version: 2, value: hex`0102` });
    assert.deepEqual(c.decodeSystemEventData(c.decodeSystemEvent(fb), fb), { type: 'Opaque', event: 5, version: 2 });
    const short = c.encodeSystemEvent({ ...ev, value: hex`01` });
    assert.throws(() => c.decodeSystemEventData(c.decodeSystemEvent(short), short), c.ProtocolError);
  });

  test('observe-seqno format must match its length; error maps are validated', () => {
    const p = c.encodeObserveSeqnoResponse({ vbucket: 1, vbUuid: 2, lastPersistedSeqno: 3, currentSeqno: 4 });
    p.value[0] = 1;
    assert.throws(() => c.decodeObserveSeqnoResponse(p), c.ProtocolError);
    const notJson = c.makeResponse(c.Opcode.GetErrorMap, { value: Buffer.from('nope') });
    assert.throws(() => c.decodeErrorMapResponse(notJson), c.ProtocolError);
    const noRevision = c.makeResponse(c.Opcode.GetErrorMap, { value: Buffer.from('{"version":2,"errors":{}}') });
    assert.throws(() => c.decodeErrorMapResponse(noRevision), c.ProtocolError);
    const entry = { name: 'KEY_ENOENT', desc: 'Not Found', attrs: ['item-only'] };
    const ok = c.encodeErrorMapResponse({ version: 2, revision: 3, errors: { '1': entry } });
    assert.deepEqual(c.decodeErrorMapResponse(ok).errors['1'], entry);
  });

  test('PLAIN payload parses back; STAT terminator is recognised', () => {
    assert.deepEqual(c.parsePlainPayload(c.plainPayload('u', 'p w')), { authzid: '', user: 'u', password: 'p w' });
    assert.equal(c.parsePlainPayload(Buffer.from('no-nuls')), undefined);
    assert.equal(c.decodeStatResponse(c.encodeStatTerminator()), undefined);
    assert.equal(c.isStatTerminator(c.encodeStatResponse({ name: 'a', value: '1' })), false);
  });
});
