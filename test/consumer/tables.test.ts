/** The consumer's data tables: counters, error codes, message and status actions (practice 8). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STAT_NAMES, newStats, statsDelta } from '../../src/consumer/stats.js';
import { CONSUMER_ERROR_CODES, AllServerURLsConnectBucketError, AuthFailError } from '../../src/consumer/errors.js';
import { DCP_MESSAGE_TABLE, STREAM_END_ACTIONS, dataSeqno, messageKind, streamEndAction, streamReqAction } from '../../src/consumer/dcp-messages.js';
import { Opcode, STREAM_END_REASON_TABLE, Status } from '../../src/codec/index.js';
import { controlsFor, dcpOpenFlags } from '../../src/consumer/stream-setup.js';
import { DEFAULT_BUCKET_DATA_SOURCE_OPTIONS, resolveOptions } from '../../src/consumer/options.js';

describe('consumer > tables', () => {
  test('counters: unique cbdatasource-style names, all starting at zero; deltas', () => {
    assert.equal(new Set(STAT_NAMES).size, STAT_NAMES.length);
    assert.ok(STAT_NAMES.every((n) => /^tot[A-Z]/.test(n)));
    const a = newStats();
    assert.ok(Object.values(a).every((v) => v === 0));
    const b = { ...a, totKick: 2 };
    assert.deepEqual(statsDelta(a, b), { totKick: 2 });
  });

  test('error codes are listed once and carried by the cbdatasource error types', () => {
    assert.equal(new Set(CONSUMER_ERROR_CODES).size, CONSUMER_ERROR_CODES.length);
    assert.equal(new AllServerURLsConnectBucketError(['http://x']).code, 'CONSUMER_ALL_SERVERS_FAILED');
    assert.equal(new AuthFailError('s', 'u').code, 'CONSUMER_AUTH_FAIL');
  });

  test('every producer message has one action; unknown opcodes and magics have none', () => {
    assert.equal(new Set(DCP_MESSAGE_TABLE.map((r) => r.opcode)).size, DCP_MESSAGE_TABLE.length);
    assert.equal(messageKind(0x80, Opcode.DcpMutation), 'data');
    assert.equal(messageKind(0x08, Opcode.DcpSnapshotMarker), 'marker');
    assert.equal(messageKind(0x80, 0x7f), undefined);
    assert.equal(messageKind(0x82, Opcode.DcpMutation), undefined);
    for (const r of STREAM_END_REASON_TABLE) assert.ok(STREAM_END_ACTIONS.has(r.code), r.name);
    assert.equal(streamEndAction(99), 'refresh');
    assert.deepEqual([Status.Success, Status.Rollback, Status.Erange, Status.NotMyVbucket, Status.Enomem].map(streamReqAction), ['ok', 'rollback', 'rollback-to-zero', 'refresh', 'refresh']);
    assert.equal(dataSeqno(Buffer.from([0, 0, 0, 1, 0, 0, 0, 2])), 2 ** 32 + 2);
    assert.equal(dataSeqno(Buffer.alloc(4)), undefined);
  });

  test("cbdatasource's defaults, open flags and controls", () => {
    const o = resolveOptions();
    assert.deepEqual(
      [o.clusterManagerBackoffFactor, o.clusterManagerSleepInitMS, o.clusterManagerSleepMaxMS, o.dataManagerSleepInitMS, o.feedBufferSizeBytes, o.feedBufferAckThreshold, o.noopTimeIntervalSecs, o.pingTimeoutMS],
      [1.5, 100, 1000, 100, 20_000_000, 0.2, 120, 30_000],
    );
    assert.match(o.name, /^freshet-[0-9a-f]{12}$/);
    assert.equal(resolveOptions({ pingTimeoutMS: 0 }).pingTimeoutMS, DEFAULT_BUCKET_DATA_SOURCE_OPTIONS.pingTimeoutMS);
    assert.throws(() => resolveOptions({ feedBufferAckThreshold: 0 }), RangeError);
    assert.throws(() => resolveOptions({ feedBufferSizeBytes: -1 }), RangeError);
    assert.equal(dcpOpenFlags({ includeXAttrs: false, keysOnly: false }), 0x01);
    assert.equal(dcpOpenFlags({ includeXAttrs: true, keysOnly: true }), 0x01 | 0x04 | 0x08);
    assert.deepEqual(controlsFor({ feedBufferSizeBytes: 0, noopTimeIntervalSecs: 0 }).map((c) => c.key), ['send_stream_end_on_client_close_stream']);
  });
});
