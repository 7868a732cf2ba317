/**
 * Drift tests for the data tables (practice 8): unique codes and names, pinned counts,
 * consistent quiet/loud pairs, and lookups derived from the tables.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';

function assertUnique<T>(rows: readonly T[], key: (r: T) => unknown, what: string): void {
  const seen = new Set<unknown>();
  for (const r of rows) {
    const k = key(r);
    assert.ok(!seen.has(k), `duplicate ${what}: ${String(k)}`);
    seen.add(k);
  }
}

describe('codec > tables', () => {
  test('opcodes: unique, named, quiet twins consistent', () => {
    assertUnique(c.OPCODE_TABLE, (o) => o.code, 'opcode code');
    assertUnique(c.OPCODE_TABLE, (o) => o.name, 'opcode name');
    assert.equal(c.OPCODE_TABLE.length, 177);
    for (const o of c.OPCODE_TABLE) {
      assert.equal(c.Opcode[o.name], o.code);
      if ('quiet' in o) {
        const loud = c.opcodeInfo(o.loud);
        assert.ok(loud !== undefined && !('quiet' in loud), `${o.name} -> loud twin`);
        assert.equal(c.loudOpcode(o.code), o.loud);
      }
    }
    assert.equal(c.OPCODE_TABLE.filter((o) => 'quiet' in o).length, 17);
    assert.equal(c.OPCODE_TABLE.filter((o) => 'dcp' in o).length, 24);
    assert.equal(c.isQuietOpcode(c.Opcode.GetKQ), true);
    assert.equal(c.isQuietOpcode(c.Opcode.Get), false);
    assert.equal(c.isDcpOpcode(c.Opcode.DcpSeqnoAdvanced), true);
    assert.equal(c.Opcode.DcpSeqnoAdvanced, 0x64);
    assert.equal(c.Opcode.DcpOsoSnapshot, 0x65);
    assert.equal(c.opcodeName(0x57), 'DcpMutation');
    assert.equal(c.opcodeName(0x4f), '0x4f');
    assert.equal(c.ServerOpcode.ClustermapChangeNotification, 0x01);
  });

  test('statuses: unique, full table pinned, attributes from the error map', () => {
    assertUnique(c.STATUS_TABLE, (s) => s.code, 'status code');
    assertUnique(c.STATUS_TABLE, (s) => s.name, 'status name');
    assert.equal(c.STATUS_TABLE.length, 86);
    for (const s of c.STATUS_TABLE) {
      assert.equal(c.Status[s.name], s.code);
      assert.ok(s.desc.length > 0);
      assert.ok(s.code < c.RESERVED_USER_STATUS_START);
    }
    assert.equal(c.Status.Rollback, 0x23);
    assert.equal(c.Status.NotMyVbucket, 0x07);
    assert.equal(c.isRetriableStatus(c.Status.Etmpfail), true);
    assert.equal(c.isRetriableStatus(c.Status.KeyEnoent), false);
    assert.equal(c.isFatalStatus(c.Status.AuthStale), true);
    assert.equal(c.isFatalStatus(c.Status.Einval), false);
    assert.equal(c.isRetriableStatus(0x7777), false, 'unknown codes are failures');
    assert.equal(c.statusName(0x7777), '0x7777');
    assert.equal(c.isSuccess(0), true);
  });

  test('features, magics, datatypes', () => {
    assertUnique(c.FEATURE_TABLE, (f) => f.code, 'feature code');
    assertUnique(c.FEATURE_TABLE, (f) => f.name, 'feature name');
    assert.equal(c.Feature.Collections, 0x12);
    assert.equal(c.Feature.Xerror, 0x07);
    assert.equal(c.featureName(0x0c), 'Duplex');
    assertUnique(c.MAGIC_TABLE, (m) => m.code, 'magic');
    assert.deepEqual(
      c.MAGIC_TABLE.filter((m) => m.request).map((m) => m.code),
      [0x80, 0x08, 0x82],
    );
    assert.equal(c.isAltMagic(0x18), true);
    assert.equal(c.responseMagicFor(0x82), 0x83);
    assert.equal(c.responseMagicFor(0x08), 0x81);
    assert.deepEqual(c.datatypeNames(0x07), ['Json', 'Snappy', 'Xattr']);
    assert.equal(c.isValidDatatype(0x08), false);
  });

  test('DCP flag and reason tables', () => {
    assertUnique(c.STREAM_END_REASON_TABLE, (r) => r.code, 'stream end reason');
    assert.equal(c.STREAM_END_REASON_TABLE.length, 9);
    assert.equal(c.streamEndReasonName(4), 'Slow');
    assert.equal(c.streamEndReasonName(99), 'Unknown(99)');
    assert.deepEqual(c.snapshotFlagNames(0x0a), ['Disk', 'Ack']);
    assert.deepEqual(c.dcpOpenFlagNames(0x25), ['Producer', 'IncludeXattrs', 'IncludeDeleteTimes']);
    assert.equal(c.DcpStreamFlag.FromLatest, 0x40);
    assert.equal(c.VbucketState.Dead, 4);
  });
});
