/**
 * DCP item messages as a replica reads them (src/cluster/replica-items.ts): packets built with the
 * codec's encoders and its xattr encoder (src/codec/xattr.ts, whose own cases are in
 * test/codec/xattr.test.ts), decoded back into every field Freshet stores.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datatype, DcpOpenFlag, encodeDcpDeletion, encodeDcpExpiration, encodeDcpMutation, encodeSnapshotMarker, encodeXattrBlob } from '../../src/codec/index.js';
import { REPLICA_DCP_OPTIONS } from '../../src/cluster/replica-handshake.js';
import { controlsFor, dcpOpenFlags } from '../../src/consumer/stream-setup.js';
import { replicatedChange } from '../../src/cluster/replica-items.js';

const H = { opaque: 9, vbucket: 5 };
const XATTRS = '{"_sync":{"rev":"3-c"},"meta":{"x":[1,"two"]}}';
const CAS = 0x1234_5678_9abc_0000n;

describe('cluster > replicated items', () => {
  test('the replica open flags ask for xattrs, delete times and deleted user xattrs; noops and expirations on, no flow control', () => {
    const o = { ...REPLICA_DCP_OPTIONS, keysOnly: false };
    assert.equal(dcpOpenFlags(o), DcpOpenFlag.Producer | DcpOpenFlag.IncludeXattrs | DcpOpenFlag.IncludeDeleteTimes | DcpOpenFlag.IncludeDeletedUserXattrs);
    assert.deepEqual(
      controlsFor(o).map((c) => `${c.key}=${c.value}${c.required ? '' : '?'}`),
      ['enable_noop=true', 'set_noop_interval=20', 'enable_expiry_opcode=true', 'send_stream_end_on_client_close_stream=true?'],
    );
  });

  test('a mutation keeps value, datatype, flags, expiry, CAS, seqnos and xattrs', () => {
    const blob = encodeXattrBlob(Buffer.from(XATTRS))!;
    const p = encodeDcpMutation({
      ...H, key: 'k', value: Buffer.concat([blob, Buffer.from('{"a":1}')]), cas: CAS, datatype: Datatype.Json | Datatype.Xattr,
      bySeqno: 77, revSeqno: 42, flags: 0xdeadbeef, expiration: 2_000_000_000,
    });
    assert.deepEqual({ ...replicatedChange(p)! }, {
      key: Buffer.from('k'), seqno: 77, revSeqno: 42, cas: CAS, deleted: false, expired: false, value: Buffer.from('{"a":1}'),
      datatype: Datatype.Json, flags: 0xdeadbeef, expiry: 2_000_000_000, deleteTime: 0, xattrs: Buffer.from(XATTRS),
    });
    const raw = replicatedChange(encodeDcpMutation({ ...H, key: 'r', value: Buffer.from([0, 1, 2]), cas: 1n, datatype: 0, bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0 }))!;
    assert.deepEqual([raw.datatype, raw.value, raw.xattrs], [0, Buffer.from([0, 1, 2]), null]);
  });

  test('a deletion keeps CAS, seqnos, delete time and every xattr; an expiration is marked expired', () => {
    const blob = encodeXattrBlob(Buffer.from(XATTRS))!;
    const d = replicatedChange(encodeDcpDeletion({ ...H, version: 2, key: 'k', value: blob, datatype: Datatype.Xattr, cas: CAS, bySeqno: 78, revSeqno: 43, deleteTime: 1_700_000_000 }))!;
    assert.deepEqual([d.deleted, d.expired, d.cas, d.revSeqno, d.seqno, d.deleteTime, d.value.length], [true, false, CAS, 43, 78, 1_700_000_000, 0]);
    assert.equal(d.xattrs?.toString(), XATTRS);
    const e = replicatedChange(encodeDcpExpiration({ ...H, key: 'k', cas: CAS, bySeqno: 79, revSeqno: 44, deleteTime: 1_700_000_001 }))!;
    assert.deepEqual([e.deleted, e.expired, e.seqno, e.deleteTime, e.xattrs], [true, true, 79, 1_700_000_001, null]);
  });

  test('other messages are not items', () => {
    assert.equal(replicatedChange(encodeSnapshotMarker({ ...H, version: 'v1', startSeqno: 1, endSeqno: 2, flags: 1 })), undefined);
  });
});
