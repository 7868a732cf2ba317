/**
 * Connection-level pieces in isolation: the DCP_OPEN rules, the DCP_CONTROL table, the
 * flow-control buffer log and the noop/idle clock (with an injected clock, no sleeping).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Status } from '../../src/codec/status.js';
import { DcpOpenFlag } from '../../src/codec/dcp/open.js';
import { applyControl, DCP_CONTROLS, type ControlTarget } from '../../src/dcp/controls.js';
import { checkOpen } from '../../src/dcp/open.js';
import { BufferLog } from '../../src/dcp/flow-control.js';
import { Liveness, type LivenessHost } from '../../src/dcp/liveness.js';
import { initialSettings, type ProducerSettings } from '../../src/dcp/settings.js';

const P = DcpOpenFlag.Producer;

describe('dcp > DCP_OPEN flags', () => {
  const cases: Array<[string, number, number | 'ok', boolean?]> = [
    ['producer', P, 'ok'],
    ['producer with xattrs, delete times, no value', P | DcpOpenFlag.IncludeXattrs | DcpOpenFlag.IncludeDeleteTimes | DcpOpenFlag.NoValue, 'ok'],
    ['notifier bit (retired)', P | DcpOpenFlag.Invalid, Status.Einval],
    ['unused 0x10', P | 0x10, Status.Einval],
    ['unknown high bit', P | 0x4000, Status.Einval],
    ['NoValue with NoValueWithUnderlyingDatatype', P | DcpOpenFlag.NoValue | DcpOpenFlag.NoValueWithUnderlyingDatatype, Status.Einval],
    ['IncludeDeletedUserXattrs without IncludeXattrs', P | DcpOpenFlag.IncludeDeletedUserXattrs, Status.Einval],
    ['a consumer', 0, Status.NotSupported],
    ['PiTR', P | DcpOpenFlag.PiTR, Status.NotSupported],
    ['SkipDeletesInInitialBackfill without collections', P | DcpOpenFlag.SkipDeletesInInitialBackfill, Status.Einval],
    ['SkipDeletesInInitialBackfill with collections', P | DcpOpenFlag.SkipDeletesInInitialBackfill, 'ok', true],
  ];
  for (const [name, flags, want, collections] of cases) {
    test(name, () => {
      const d = checkOpen(flags, Buffer.alloc(0), collections ?? false);
      assert.equal(d.ok ? 'ok' : d.status, want);
    });
  }

  test('a value must be a JSON object with consumer_name, and only for consumers', () => {
    assert.equal(checkOpen(P, Buffer.from('{"consumer_name":"x"}'), false).ok, false);
    const consumer = checkOpen(0, Buffer.from('{"consumer_name":"x"}'), false);
    assert.ok(!consumer.ok && consumer.status === Status.NotSupported, 'a valid consumer open still gets NotSupported');
    // kv dcp_open_validator: RAW datatype for an empty value, JSON for a non-empty one.
    const jsonEmpty = checkOpen(P, Buffer.alloc(0), false, 0x01);
    assert.ok(!jsonEmpty.ok && jsonEmpty.status === Status.Einval && jsonEmpty.reason === 'datatype should be set to RAW');
    const rawValue = checkOpen(0, Buffer.from('{"consumer_name":"x"}'), false, 0x00);
    assert.ok(!rawValue.ok && rawValue.status === Status.Einval);
    const junk = checkOpen(P, Buffer.from('nope'), false);
    assert.ok(!junk.ok && junk.status === Status.Einval);
  });
});

function target(s: Partial<ProducerSettings> = {}): ControlTarget & { buffer: number | null } {
  const t = {
    settings: { ...initialSettings('conn', P, false), ...s },
    buffer: null as number | null,
    setBufferSize(n: number) {
      t.buffer = n;
    },
  };
  return t;
}

describe('dcp > DCP_CONTROL table', () => {
  test('connection_buffer_size takes a decimal u32 (0 disables)', () => {
    const t = target();
    assert.equal(applyControl(t, 'connection_buffer_size', '20000000'), Status.Success);
    assert.equal(t.buffer, 20_000_000);
    assert.equal(applyControl(t, 'connection_buffer_size', '0'), Status.Success);
    assert.equal(t.buffer, 0);
    for (const bad of ['-1', '1e3', '4294967296', '', ' 12', 'abc']) {
      assert.equal(applyControl(t, 'connection_buffer_size', bad), Status.Einval, bad);
    }
  });

  test('enable_noop toggles; set_noop_interval takes seconds >= 0.1, fractions allowed', () => {
    const t = target();
    assert.equal(applyControl(t, 'enable_noop', 'true'), Status.Success);
    assert.equal(t.settings.noopEnabled, true);
    assert.equal(applyControl(t, 'enable_noop', 'false'), Status.Success);
    assert.equal(t.settings.noopEnabled, false);
    assert.equal(applyControl(t, 'set_noop_interval', '120'), Status.Success);
    assert.equal(t.settings.noopIntervalMs, 120_000);
    assert.equal(applyControl(t, 'set_noop_interval', '0.25'), Status.Success);
    assert.equal(t.settings.noopIntervalMs, 250);
    for (const bad of ['0', '0.05', '-3', 'x', '']) assert.equal(applyControl(t, 'set_noop_interval', bad), Status.Einval, bad);
  });

  test('set_priority, send_stream_end_on_client_close_stream (one-way), expiry opcode (needs delete times)', () => {
    const t = target();
    assert.equal(applyControl(t, 'set_priority', 'high'), Status.Success);
    assert.equal(t.settings.priority, 'high');
    assert.equal(applyControl(t, 'set_priority', 'urgent'), Status.Einval);
    assert.equal(applyControl(t, 'send_stream_end_on_client_close_stream', 'true'), Status.Success);
    assert.equal(applyControl(t, 'send_stream_end_on_client_close_stream', 'false'), Status.Success);
    assert.equal(t.settings.sendStreamEndOnClientClose, true, 'cannot be turned off again');
    assert.equal(applyControl(t, 'enable_expiry_opcode', 'true'), Status.Success);
    assert.equal(t.settings.expiryOpcode, false, 'no effect without IncludeDeleteTimes');
    const withTimes = target({ includeDeleteTimes: true });
    applyControl(withTimes, 'enable_expiry_opcode', 'true');
    assert.equal(withTimes.settings.expiryOpcode, true);
  });

  test('what cbdatasource, gocbcore and java-dcp-client send is accepted; the rest refused as kv does', () => {
    const coll = target({ collections: true });
    const accepted: Array<[string, string]> = [
      ['supports_cursor_dropping', 'true'],
      ['supports_cursor_dropping_vulcan', 'true'],
      ['supports_hifi_MFU', 'true'],
      ['enable_stream_id', 'true'],
      ['enable_out_of_order_snapshots', 'true_with_seqno_advanced'],
      ['backfill_order', 'sequential'],
      ['max_marker_version', '2.2'],
      ['v7_dcp_status_codes', 'true'],
      ['consumer_name', 'replica-1'],
    ];
    for (const [k, v] of accepted) assert.equal(applyControl(coll, k, v), Status.Success, k);
    assert.equal(coll.settings.markerVersion, 'v2.2');
    assert.equal(coll.settings.streamIds, true);
    const refused: Array<[string, string, number]> = [
      ['stream_buffer_size', '1000', Status.NotSupported],
      ['enable_sync_writes', 'true', Status.NotSupported],
      ['change_streams', 'true', Status.NotSupported],
      // System events stay in the version 0/1 structs: FlatBuffers must not be promised.
      ['flatbuffers_system_events', 'true', Status.NotSupported],
      ['force_value_compression', 'true', Status.Einval],
      ['enable_ext_metadata', 'true', Status.Einval],
      ['enable_value_compression', 'true', Status.Einval],
      ['include_deleted_user_xattrs', 'true', Status.Einval],
      ['enable_stream_id', 'false', Status.Einval],
      ['no_such_control', 'true', Status.Einval],
      ['__proto__', 'x', Status.Einval],
    ];
    for (const [k, v, want] of refused) assert.equal(applyControl(coll, k, v), want, k);
    assert.equal(applyControl(target(), 'max_marker_version', '2.2'), Status.Einval, 'V2.2 markers need collections');
    // An empty value is refused by kv's validator, whatever the key (dcp_control_validator).
    const on = target({ noopEnabled: true });
    for (const k of ['enable_noop', 'send_stream_end_on_client_close_stream', 'enable_expiry_opcode', 'supports_hifi_MFU']) {
      assert.equal(applyControl(on, k, ''), Status.Einval, k);
    }
    assert.equal(on.settings.noopEnabled, true, 'an empty enable_noop leaves noops on');
    assert.ok(Object.keys(DCP_CONTROLS).length >= 20);
  });
});

describe('dcp > flow control buffer log', () => {
  test('disabled until sized; full at or above the window; an ack reopens it', () => {
    const log = new BufferLog();
    log.sent(1000);
    assert.equal(log.full, false);
    assert.equal(log.unacked, 0, 'not counted while disabled');
    log.setBufferSize(100);
    log.sent(60);
    assert.equal(log.full, false);
    log.sent(60); // may overshoot with the last message
    assert.equal(log.full, true);
    assert.equal(log.acknowledge(30), true, 'ack reopened the window');
    assert.deepEqual([log.unacked, log.totalAcked, log.full], [90, 30, false]);
    assert.equal(log.acknowledge(500), false);
    assert.equal(log.unacked, 0, 'over-acks clamp to zero');
    log.sent(100);
    log.setBufferSize(0);
    assert.deepEqual([log.enabled, log.full, log.unacked], [false, false, 0]);
  });
});

describe('dcp > noops and idle timeout', () => {
  function harness(noopIntervalMs: number) {
    let clock = 1_000_000;
    const sent: number[] = [];
    const disconnects: string[] = [];
    const host: LivenessHost & { hasStreams: boolean } = {
      settings: { ...initialSettings('c', P, false), noopEnabled: true, noopIntervalMs },
      hasStreams: true,
      sendNoop: (opaque) => sent.push(opaque),
      disconnect: (reason) => disconnects.push(reason),
    };
    const live = new Liveness(host, () => clock);
    return { live, host, sent, disconnects, advance: (ms: number) => (clock += ms) };
  }

  test('one noop per interval, each after the previous reply; opaques count from 10,000,000', () => {
    const h = harness(1000);
    h.live.tick(); // armed: noop enabled and a stream open
    h.advance(999);
    h.live.tick();
    assert.deepEqual(h.sent, []);
    h.advance(1);
    h.live.tick();
    assert.deepEqual(h.sent, [10_000_000]);
    h.advance(1000);
    h.live.tick();
    assert.deepEqual(h.sent, [10_000_000], 'no second noop while the first is unanswered');
    assert.equal(h.live.noopReply(10_000_000), true);
    h.live.tick();
    assert.deepEqual(h.sent, [10_000_000, 10_000_001]);
    assert.equal(h.live.noopReply(42), false, 'a reply to no outstanding noop');
    h.live.stop();
  });

  test('nothing received for twice the interval disconnects; nothing happens before noops are armed', () => {
    const h = harness(1000);
    h.host.hasStreams = false;
    h.advance(10_000);
    h.live.tick();
    assert.deepEqual([h.sent, h.disconnects], [[], []]);
    h.host.hasStreams = true;
    h.advance(5000);
    h.live.tick(); // arms: the clocks start now, the long unarmed wait does not count
    assert.deepEqual(h.disconnects, []);
    h.advance(1000);
    h.live.tick(); // noop sent, never answered
    h.advance(1000);
    h.live.tick();
    assert.deepEqual(h.disconnects, []);
    h.advance(1001);
    h.live.tick();
    assert.equal(h.disconnects.length, 1);
    h.live.stop();
  });

  test('any message from the consumer keeps it alive', () => {
    const h = harness(1000);
    h.live.tick();
    for (let i = 0; i < 10; i++) {
      h.advance(1500);
      h.live.received();
      h.live.tick();
    }
    assert.deepEqual(h.disconnects, []);
    h.live.stop();
  });
});
