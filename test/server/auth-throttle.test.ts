/**
 * The failed-login throttle (src/auth/throttle.ts) seen from outside, as an attacker sees it: a
 * real server, wrong passwords hammered over real sockets on all three faces (CouchDB HTTP via
 * undici, the cluster manager's REST, raw KV SASL frames) from 127.0.0.1, while a client bound to
 * 127.0.0.2 stands for everybody else.
 *
 * Elapsed-time assertions are lower bounds only (each throttled attempt takes at least the
 * configured delay): a functional property, not a performance one. libuv's timer clock has
 * millisecond resolution, so a timer may fire up to 1 ms before the exact real-time delay; the
 * bounds allow that millisecond.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import {
  Opcode,
  Status,
  decodeStatResponse,
  encodeSaslRequest,
  encodeSelectBucketRequest,
  encodeStatRequest,
  isStatTerminator,
  plainPayload,
} from '../../src/codec/index.js';
import { formatBasicAuth } from '../../src/auth/basic.js';
import type { AuthThrottleConfig } from '../../src/auth/throttle.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { RawKv, authPlain, authScram, expectStatus } from '../kv/raw-client.js';

const BASE = 80;
const MAX = 160;
const THROTTLE: AuthThrottleConfig = { freeFailures: 3, baseDelayMs: BASE, maxDelayMs: MAX, maxWaiting: 2 };
const TEST = { timeout: 60_000 } as const;

interface World {
  server: TestServer;
  logs: Array<Record<string, unknown>>;
  /** Clients at 127.0.0.1 (the attacker) and 127.0.0.2 (someone else). */
  here: Agent;
  other: Agent;
  kv(localAddress?: string): Promise<RawKv>;
}

async function withWorld(fn: (w: World) => Promise<void>, authThrottle: AuthThrottleConfig = THROTTLE): Promise<void> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = await startTestServer({ authThrottle, logger });
  const here = new Agent({ connections: 16, localAddress: '127.0.0.1' });
  const other = new Agent({ connections: 16, localAddress: '127.0.0.2' });
  const conns: RawKv[] = [];
  try {
    await fn({
      server,
      logs,
      here,
      other,
      kv: async (localAddress) => {
        const kv = await RawKv.connect(server.server.ports.kv, '127.0.0.1', localAddress);
        conns.push(kv);
        return kv;
      },
    });
  } finally {
    for (const c of conns) c.close();
    await here.close();
    await other.close();
    await server.close();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

function atLeast(ms: number, delay: number, what: string): void {
  assert.ok(ms >= delay - 1, `${what}: took ${ms.toFixed(1)} ms, expected at least ${delay} ms`);
}

interface HttpReply {
  status: number;
  json: unknown;
}

async function http(
  agent: Agent,
  url: string,
  opts: { password?: string; method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (opts.password !== undefined) headers.authorization = formatBasicAuth(ADMIN.username, opts.password);
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers,
    dispatcher: agent,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

function stats(w: World) {
  return w.server.server.authThrottle.stats();
}

async function kvStats(kv: RawKv): Promise<Map<string, string>> {
  kv.send(encodeStatRequest({ group: '' }, { opaque: kv.opaque() }));
  const packets = await kv.collect((p) => p.status !== Status.Success || isStatTerminator(p));
  expectStatus(packets[packets.length - 1]!, Status.Success, 'STAT');
  const out = new Map<string, string>();
  for (const p of packets) {
    const e = decodeStatResponse(p);
    if (e) out.set(e.name, e.value);
  }
  return out;
}

describe('failed-login throttle', () => {
  test('CouchDB face: Basic and POST /_session slowed after the free failures; others and the right password still work', TEST, () =>
    withWorld(async (w) => {
      const couch = `http://127.0.0.1:${w.server.server.ports.http}`;
      for (let i = 0; i < 3; i++) {
        const r = await http(w.here, `${couch}/_session`, { password: `guess${i}` });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, { error: 'unauthorized', reason: 'Name or password is incorrect.' });
      }
      assert.equal(stats(w).throttledAttempts, 0, 'the free failures are not delayed');
      const fourth = await timed(() => http(w.here, `${couch}/_session`, { password: 'guess3' }));
      assert.equal(fourth.value.status, 401);
      atLeast(fourth.ms, BASE, 'first throttled Basic attempt');
      const fifth = await timed(() =>
        http(w.here, `${couch}/_session`, { method: 'POST', body: { name: ADMIN.username, password: 'guess4' } }),
      );
      assert.equal(fifth.value.status, 401, 'POST /_session answers the normal 401 after the delay');
      atLeast(fifth.ms, 2 * BASE, 'second throttled attempt (doubled)');
      assert.equal(stats(w).throttledAttempts, 2);

      // Another address: not delayed, and its right password works.
      const theirs = await http(w.other, `${couch}/_session`, { password: 'nope' });
      assert.equal(theirs.status, 401);
      const ok2 = await http(w.other, `${couch}/_session`, { password: ADMIN.password });
      assert.equal(ok2.status, 200);
      assert.equal(stats(w).throttledAttempts, 2, '127.0.0.2 was never delayed');

      // The right password from the throttled address succeeds after the (capped) delay.
      const right = await timed(() => http(w.here, `${couch}/_session`, { password: ADMIN.password }));
      assert.equal(right.value.status, 200);
      assert.equal((right.value.json as { userCtx: { name: string } }).userCtx.name, ADMIN.username);
      atLeast(right.ms, MAX, 'right password from a throttled address');
      // ...and resets it.
      assert.equal(stats(w).throttledAddresses, 0);
      assert.equal((await http(w.here, `${couch}/_session`, { password: 'again' })).status, 401);
      assert.equal(stats(w).throttledAttempts, 3, 'after the success the next failure is free again');

      // Logs: every failure with user and address, never the password; one warn per state change.
      const failures = w.logs.filter((l) => l.msg === 'failed login');
      assert.equal(failures.length, 7);
      assert.ok(failures.every((l) => l.user === ADMIN.username && l.face === 'couchdb' && l.level === 40));
      assert.deepEqual(failures.map((l) => l.address), ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.1']);
      assert.ok(!JSON.stringify(w.logs).includes('guess'), 'no password in the logs');
      const changes = w.logs.filter((l) => l.level === 40 && String(l.msg).startsWith('address')).map((l) => [l.msg, l.address]);
      assert.deepEqual(changes, [
        ['address throttled after repeated failed logins', '127.0.0.1'],
        ['address no longer throttled', '127.0.0.1'],
      ]);
    }),
  );

  test('REST (8091): the same, answering the Basic challenge after the delay', TEST, () =>
    withWorld(async (w) => {
      const rest = `http://127.0.0.1:${w.server.server.ports.mgmt}/pools/default`;
      for (let i = 0; i < 3; i++) assert.equal((await http(w.here, rest, { password: `guess${i}` })).status, 401);
      for (const delay of [BASE, 2 * BASE, MAX]) {
        const r = await timed(() => http(w.here, rest, { password: 'guess' }));
        assert.equal(r.value.status, 401);
        atLeast(r.ms, delay, `REST attempt delayed ${delay} ms`);
      }
      assert.equal((await http(w.other, rest, { password: ADMIN.password })).status, 200);
      assert.equal(stats(w).throttledAttempts, 3, '127.0.0.2 was never delayed');
      const right = await timed(() => http(w.here, rest, { password: ADMIN.password }));
      assert.equal(right.value.status, 200);
      atLeast(right.ms, MAX, 'right password from a throttled address');
      assert.equal(stats(w).failedLogins, 6);
    }),
  );

  test('REST: at most maxWaiting attempts of one address wait; the rest get the 401 at once, unchecked', TEST, () =>
    withWorld(async (w) => {
      const rest = `http://127.0.0.1:${w.server.server.ports.mgmt}/pools/default`;
      for (let i = 0; i < 3; i++) assert.equal((await http(w.here, rest, { password: `guess${i}` })).status, 401);
      const burst = await Promise.all(Array.from({ length: 6 }, () => http(w.here, rest, { password: 'burst' })));
      assert.deepEqual(burst.map((r) => r.status), [401, 401, 401, 401, 401, 401]);
      const s = stats(w);
      assert.equal(s.throttledAttempts + s.rejectedAttempts, 6);
      assert.ok(s.throttledAttempts <= 2 * 2, `at most maxWaiting wait at a time (${s.throttledAttempts} delayed)`);
      assert.ok(s.rejectedAttempts >= 2, `the excess is refused (${s.rejectedAttempts})`);
      assert.equal(s.failedLogins, 3 + s.throttledAttempts, 'refused attempts never reached the password check');
    }),
  );

  test('KV: PLAIN and SCRAM slowed; pipelined requests behind a delayed SASL see its outcome; stats', TEST, () =>
    withWorld(async (w) => {
      const kv = await w.kv('127.0.0.1');
      for (let i = 0; i < 3; i++) expectStatus(await authPlain(kv, ADMIN.username, `guess${i}`), Status.AuthError);
      const scram = await timed(() => authScram(kv, 'sha512', ADMIN.username, 'guess3'));
      expectStatus(scram.value, Status.AuthError, 'SCRAM');
      atLeast(scram.ms, BASE, 'SCRAM attempt');

      // One connection cannot run its guesses in parallel: a pipeline is answered one delay at a time,
      // and SELECT_BUCKET behind the right password runs after it, authenticated.
      const sasl = (password: string) => encodeSaslRequest({ mechanism: 'PLAIN', payload: plainPayload(ADMIN.username, password) }, { opaque: kv.opaque() });
      const pipeline = await timed(async () => {
        kv.send(sasl('guess4'), sasl('guess5'), sasl(ADMIN.password), encodeSelectBucketRequest('default', { opaque: kv.opaque() }));
        return kv.take(4);
      });
      assert.deepEqual(pipeline.value.map((p) => p.status), [Status.AuthError, Status.AuthError, Status.Success, Status.Success]);
      assert.deepEqual(pipeline.value.map((p) => p.opcode), [Opcode.SaslAuth, Opcode.SaslAuth, Opcode.SaslAuth, Opcode.SelectBucket]);
      atLeast(pipeline.ms, 3 * MAX, 'three delayed SASL_AUTHs on one connection (each 2 x BASE, capped at MAX)');

      // Another address meanwhile: undelayed.
      const before = stats(w).throttledAttempts;
      const theirs = await w.kv('127.0.0.2');
      expectStatus(await authPlain(theirs, ADMIN.username, 'nope'), Status.AuthError);
      expectStatus(await authPlain(theirs, ADMIN.username, ADMIN.password), Status.Success);
      assert.equal(stats(w).throttledAttempts, before);

      // STAT (general group) on the authenticated connection.
      const st = await kvStats(kv);
      assert.equal(st.get('auth_failed_logins'), '7');
      assert.equal(st.get('auth_throttled_attempts'), '4');
      assert.equal(st.get('auth_throttle_rejected'), '0');
      assert.equal(st.get('auth_throttled_addresses'), '0', 'both addresses logged in since');
      assert.equal(st.get('auth_throttle_tracked'), '0');
      assert.equal(st.get('auth_errors'), '7');
    }),
  );

  test('one throttle for all faces: HTTP failures delay KV from the same address; STAT shows it', TEST, () =>
    withWorld(async (w) => {
      const couch = `http://127.0.0.1:${w.server.server.ports.http}/_session`;
      for (let i = 0; i < 4; i++) assert.equal((await http(w.here, couch, { password: `guess${i}` })).status, 401);
      const kv = await w.kv('127.0.0.1');
      const guess = await timed(() => authPlain(kv, ADMIN.username, 'guess'));
      expectStatus(guess.value, Status.AuthError);
      atLeast(guess.ms, 2 * BASE, 'KV attempt after four HTTP failures');
      const watcher = await w.kv('127.0.0.2');
      expectStatus(await authPlain(watcher, ADMIN.username, ADMIN.password), Status.Success);
      const st = await kvStats(watcher);
      assert.equal(st.get('auth_failed_logins'), '5');
      assert.equal(st.get('auth_throttled_attempts'), '2');
      assert.equal(st.get('auth_throttled_addresses'), '1');
      assert.equal(st.get('auth_throttle_tracked'), '1');
    }),
  );

  test('authThrottle: false never delays, but still counts', TEST, () =>
    withWorld(async (w) => {
      const rest = `http://127.0.0.1:${w.server.server.ports.mgmt}/pools/default`;
      for (let i = 0; i < 10; i++) assert.equal((await http(w.here, rest, { password: `guess${i}` })).status, 401);
      assert.equal((await http(w.here, rest, { password: ADMIN.password })).status, 200);
      assert.deepEqual([stats(w).failedLogins, stats(w).throttledAttempts, stats(w).throttledAddresses], [10, 0, 0]);
    }, false),
  );
});
