/**
 * Unit tests of the failed-login throttle (src/auth/throttle.ts) with an injected clock and an
 * injected timer, so delays, expiry and the table bound are checked exactly and without waiting.
 * The faces' use of it over real sockets is in test/server/auth-throttle.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, DEFAULT_AUTH_THROTTLE, clientAddress, type AuthThrottleOptions } from '../../src/auth/throttle.js';

interface Logged {
  level: 'warn' | 'info';
  obj: Record<string, unknown>;
  msg: string;
}

/** A throttle over a fake clock; `waits` records each requested delay, released by `release`. */
function rig(opts: AuthThrottleOptions | false = {}) {
  let now = 1_000_000;
  const waits: Array<{ ms: number; done: () => void }> = [];
  const logs: Logged[] = [];
  const throttle = new AuthThrottle(opts, {
    now: () => now,
    wait: (ms) => new Promise<void>((resolve) => waits.push({ ms, done: resolve })),
    log: {
      warn: (obj: object | string, msg?: string) => void logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
      info: (obj: object | string, msg?: string) => void logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
    },
  });
  return {
    throttle,
    waits,
    logs,
    advance: (ms: number) => {
      now += ms;
    },
    release: () => {
      for (const w of waits.splice(0)) w.done();
    },
  };
}

function fail(t: AuthThrottle, address: string, n: number, user = 'Administrator'): void {
  for (let i = 0; i < n; i++) t.failed(address, user, 'test');
}

describe('AuthThrottle', () => {
  test('free failures, then a delay doubling from baseDelayMs up to maxDelayMs', () => {
    const { throttle } = rig({ freeFailures: 3, baseDelayMs: 100, maxDelayMs: 700 });
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      seen.push(throttle.delayFor('10.0.0.1'));
      fail(throttle, '10.0.0.1', 1);
    }
    assert.deepEqual(seen, [0, 0, 0, 100, 200, 400, 700]);
    assert.equal(throttle.admit('10.0.0.2'), true, 'another address is not delayed');
  });

  test('defaults: 5 free failures, 100 ms doubling, capped at 5 s, 10 000 addresses, 5 minutes', () => {
    assert.deepEqual(DEFAULT_AUTH_THROTTLE, {
      freeFailures: 5,
      baseDelayMs: 100,
      maxDelayMs: 5000,
      maxEntries: 10_000,
      forgetAfterMs: 300_000,
      maxWaiting: 4,
    });
    const { throttle } = rig();
    fail(throttle, 'a', 5);
    assert.equal(throttle.delayFor('a'), 100);
    fail(throttle, 'a', 100);
    assert.equal(throttle.delayFor('a'), 5000, 'capped, and 2**large does not overflow into Infinity/NaN');
  });

  test('admit waits the delay on the timer, then lets the attempt through', async () => {
    const { throttle, waits, release } = rig({ freeFailures: 1, baseDelayMs: 50 });
    assert.equal(throttle.admit('a'), true);
    fail(throttle, 'a', 1);
    const gate = throttle.admit('a');
    assert.notEqual(gate, true);
    assert.deepEqual(waits.map((w) => w.ms), [50]);
    release();
    assert.equal(await gate, true);
    assert.equal(throttle.stats().throttledAttempts, 1);
  });

  test('at most maxWaiting attempts per address wait; more are refused unchecked and counted', async () => {
    const { throttle, waits, release } = rig({ freeFailures: 0, baseDelayMs: 10, maxWaiting: 2 });
    fail(throttle, 'a', 1);
    fail(throttle, 'b', 1);
    const gates = [throttle.admit('a'), throttle.admit('a'), throttle.admit('a'), throttle.admit('b')];
    assert.equal(waits.length, 3, 'two from a and one from b hold a timer; the third from a does not');
    assert.equal(await gates[2], false);
    release();
    assert.deepEqual(await Promise.all(gates), [true, true, false, true]);
    assert.equal(throttle.stats().rejectedAttempts, 1);
    // Once the waiting ones are done, the address may queue again.
    const again = throttle.admit('a');
    assert.equal(waits.length, 1);
    release();
    assert.equal(await again, true);
  });

  test('check(): runs the verifier only when admitted and records its outcome', async () => {
    const { throttle, release } = rig({ freeFailures: 0, baseDelayMs: 10, maxWaiting: 1 });
    fail(throttle, 'a', 1);
    let calls = 0;
    const wrong = (): boolean => {
      calls++;
      return false;
    };
    const first = throttle.check('a', 'u', 'test', wrong);
    const refused = await throttle.check('a', 'u', 'test', wrong);
    assert.equal(refused, false);
    assert.equal(calls, 0, 'the refused attempt never reached the password check');
    release();
    assert.equal(await first, false);
    assert.equal(calls, 1);
    assert.equal(throttle.stats().failedLogins, 2);
    assert.equal(throttle.delayFor('a'), 20, 'the checked failure counts towards the next delay');
  });

  test('a success from the address forgets its failures; the state change is logged once each way', () => {
    const { throttle, logs } = rig({ freeFailures: 2 });
    fail(throttle, '10.0.0.1', 4, 'mallory');
    assert.equal(throttle.stats().throttledAddresses, 1);
    throttle.succeeded('10.0.0.1');
    assert.equal(throttle.delayFor('10.0.0.1'), 0);
    assert.deepEqual(throttle.stats(), {
      failedLogins: 4,
      failuresByFace: { test: 4 },
      throttledAttempts: 0,
      rejectedAttempts: 0,
      throttledAddresses: 0,
      trackedAddresses: 0,
    });
    const warns = logs.filter((l) => l.level === 'warn' && l.msg !== 'failed login');
    assert.deepEqual(warns.map((l) => l.msg), ['address throttled after repeated failed logins', 'address no longer throttled']);
    assert.equal(warns[1]!.obj.reason, 'successful login');
    const failed = logs.filter((l) => l.msg === 'failed login');
    assert.equal(failed.length, 4, 'each failed login is logged');
    assert.ok(failed.every((l) => l.level === 'warn'), 'failed logins are warnings');
    assert.deepEqual(failed[0]!.obj, { address: '10.0.0.1', user: 'mallory', face: 'test' });
  });

  test('an address is forgotten forgetAfterMs after its last failure', () => {
    const { throttle, advance, logs } = rig({ freeFailures: 1, forgetAfterMs: 60_000 });
    fail(throttle, 'a', 2);
    advance(30_000);
    fail(throttle, 'b', 2);
    advance(29_999);
    assert.equal(throttle.delayFor('a'), 200, 'still remembered just before the horizon');
    advance(1);
    assert.equal(throttle.delayFor('a'), 0, 'forgotten at the horizon');
    assert.equal(throttle.delayFor('b'), 200);
    assert.equal(throttle.stats().trackedAddresses, 1);
    assert.equal(logs.filter((l) => l.obj.reason === 'expired').length, 1);
    advance(30_000);
    assert.deepEqual([throttle.stats().trackedAddresses, throttle.stats().throttledAddresses], [0, 0]);
  });

  test('the table holds at most maxEntries addresses, dropping the least recently failing', () => {
    const { throttle } = rig({ freeFailures: 1, maxEntries: 3 });
    for (let i = 0; i < 1000; i++) fail(throttle, `10.0.${i >> 8}.${i & 255}`, 2);
    const s = throttle.stats();
    assert.equal(s.trackedAddresses, 3);
    assert.equal(s.throttledAddresses, 3, 'the throttled count follows evictions');
    assert.equal(throttle.delayFor('10.0.0.0'), 0, 'the oldest was evicted');
    assert.equal(throttle.delayFor('10.0.3.231'), 200, 'the newest is kept');
    // A failure refreshes an address's place: 10.0.3.229 fails again and survives the next two.
    fail(throttle, '10.0.3.229', 1);
    fail(throttle, 'x', 1);
    fail(throttle, 'y', 1);
    assert.equal(throttle.delayFor('10.0.3.229'), 400);
    assert.equal(throttle.delayFor('10.0.3.230'), 0);
  });

  test('false: no delays, failures still counted and logged', () => {
    const { throttle, logs } = rig(false);
    fail(throttle, 'a', 50);
    assert.equal(throttle.admit('a'), true);
    assert.equal(throttle.stats().failedLogins, 50);
    assert.equal(throttle.stats().trackedAddresses, 0);
    assert.equal(logs.filter((l) => l.level === 'warn' && l.msg === 'failed login').length, 50);
  });

  test('bad options are refused', () => {
    assert.throws(() => new AuthThrottle({ baseDelayMs: -1 }), RangeError);
    assert.throws(() => new AuthThrottle({ maxEntries: 0 }), RangeError);
    assert.throws(() => new AuthThrottle({ maxDelayMs: Number.NaN }), RangeError);
  });

  test('clientAddress folds IPv4-mapped IPv6 onto IPv4', () => {
    assert.equal(clientAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(clientAddress('::FFFF:10.1.2.3'), '10.1.2.3');
    assert.equal(clientAddress('::1'), '::1');
    assert.equal(clientAddress('127.0.0.2'), '127.0.0.2');
    assert.equal(clientAddress(undefined), 'unknown');
  });
});
