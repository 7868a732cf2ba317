/**
 * The live-feed schedule (src/http/changes-pace.ts) as a table: what is due, and how long to wait,
 * for given clock readings. No timers: the clock values are passed in.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FeedPace, type PaceOptions } from '../../src/http/changes-pace.js';

interface Row {
  name: string;
  opts: PaceOptions;
  /** now, lastWriteAt, moved */
  at: [number, number, boolean];
  due: ReturnType<FeedPace['due']>;
  wait: number;
}

// Every pace below starts at t=0 with no row sent.
const ROWS: Row[] = [
  { name: 'timeout not yet due', opts: { heartbeatMs: null, timeoutMs: 100, progressMs: null }, at: [40, 0, true], due: null, wait: 60 },
  { name: 'timeout due, counted from the last row', opts: { heartbeatMs: null, timeoutMs: 100, progressMs: null }, at: [100, 90, false], due: 'timeout', wait: 0 },
  { name: 'heartbeat overrides timeout', opts: { heartbeatMs: 50, timeoutMs: 10, progressMs: null }, at: [40, 0, false], due: null, wait: 10 },
  { name: 'heartbeat counted from the last write', opts: { heartbeatMs: 50, timeoutMs: 10, progressMs: null }, at: [60, 30, true], due: null, wait: 20 },
  { name: 'heartbeat due', opts: { heartbeatMs: 50, timeoutMs: 10, progressMs: null }, at: [80, 30, true], due: 'heartbeat', wait: 0 },
  { name: 'progress replaces a due heartbeat when moved', opts: { heartbeatMs: 50, timeoutMs: 10, progressMs: 50 }, at: [50, 0, true], due: 'progress', wait: 0 },
  { name: 'no progress without movement', opts: { heartbeatMs: 50, timeoutMs: 10, progressMs: 50 }, at: [50, 0, false], due: 'heartbeat', wait: 0 },
  { name: 'progress on its own clock, before the heartbeat', opts: { heartbeatMs: 500, timeoutMs: 10, progressMs: 30 }, at: [20, 0, true], due: null, wait: 10 },
  { name: 'progress without heartbeat still lets the timeout end the feed', opts: { heartbeatMs: null, timeoutMs: 100, progressMs: 30 }, at: [100, 0, false], due: 'timeout', wait: 0 },
  { name: 'progress due before the timeout', opts: { heartbeatMs: null, timeoutMs: 100, progressMs: 30 }, at: [30, 0, true], due: 'progress', wait: 0 },
];

describe('FeedPace', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const pace = new FeedPace(row.opts, 0);
      const [now, lastWriteAt, moved] = row.at;
      assert.equal(pace.due(now, lastWriteAt, moved), row.due);
      assert.equal(pace.waitMs(now, lastWriteAt, moved), row.wait);
    });
  }

  test('rows and progress reports restart their clocks', () => {
    const pace = new FeedPace({ heartbeatMs: null, timeoutMs: 100, progressMs: 30 }, 0);
    pace.rowsSent(80);
    assert.equal(pace.due(150, 80, false), null);
    assert.equal(pace.waitMs(150, 80, false), 30);
    assert.equal(pace.due(150, 80, true), 'progress');
    pace.progressSent(150);
    assert.equal(pace.due(170, 150, true), null);
    assert.equal(pace.waitMs(170, 150, true), 10);
    assert.equal(pace.due(180, 150, false), 'timeout');
  });
});
