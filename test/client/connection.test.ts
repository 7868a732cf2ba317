/**
 * KvConnection against a scripted fake peer: pipelining and opaque matching, timeouts,
 * quiet commands, the in-flight bound, and closing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { ConnectionClosedError, KvClientError, QueueFullError, RequestTimeoutError } from '../../src/client/conn-errors.js';
import type { ConnectionStatusEvent } from '../../src/client/connection.js';
import { connected, track } from './fixtures/setup.js';

const get = (key: string): c.Packet => c.encodeGetRequest({ key });
const hit = (req: c.Packet, value: string): c.Packet =>
  c.encodeGetResponse({ flags: 0, value, cas: 1n }, { opaque: req.opaque });

describe('client > connection > pipelining', () => {
  test('requests are written before any reply and matched by opaque out of order', async (t) => {
    const { conn, server } = await connected(t);
    const keys = ['a', 'b', 'c'];
    const pending = keys.map((k) => conn.request(get(k)));
    const reqs = await server.take(3); // all three arrived with no reply sent yet
    assert.equal(new Set(reqs.map((r) => r.opaque)).size, 3, 'distinct opaques');
    assert.deepEqual(reqs.map((r) => r.key.toString()), keys);
    // reply in reverse order, in one write
    server.send(...[...reqs].reverse().map((r) => hit(r, `value-of-${r.key.toString()}`)));
    const res = await Promise.all(pending);
    assert.deepEqual(res.map((r) => c.decodeGetResponse(r).value.toString()), keys.map((k) => `value-of-${k}`));
    assert.equal(conn.inFlight, 0);
  });

  test('non-success statuses resolve as data; an unknown opaque is reported, not fatal', async (t) => {
    const { conn, server } = await connected(t);
    const events: ConnectionStatusEvent[] = [];
    conn.onStatus((e) => events.push(e));
    const p = conn.request(get('missing'));
    const req = await server.takeOne();
    server.send(c.replyTo(req, { opaque: 0xabcdef }), c.replyTo(req, { status: c.Status.KeyEnoent }));
    const res = await p;
    assert.equal(res.status, c.Status.KeyEnoent);
    assert.equal(conn.stats.unmatchedResponses, 1);
    assert.ok(events.some((e) => e.type === 'unmatched-response' && e.packet.opaque === 0xabcdef));
    assert.equal(conn.state, 'open');
  });

  test('a caller-chosen opaque is kept (DCP stream-request routing)', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.request(c.encodeStreamRequest({ vbucket: 3, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }), {
      opaque: 0x1000,
    });
    const req = await server.takeOne();
    assert.equal(req.opaque, 0x1000);
    server.send(c.encodeStreamRequestOk([{ vbUuid: 7, seqno: 0 }], { opaque: 0x1000 }));
    assert.deepEqual(c.decodeStreamRequestResponse(await p), { kind: 'ok', failoverLog: [{ vbUuid: 7, seqno: 0 }] });
  });
});

describe('client > connection > timeouts', () => {
  test('a request without a reply times out; the late reply is ignored', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.request(get('slow'), { timeoutMs: 20 });
    const req = await server.takeOne();
    await assert.rejects(p, (e: unknown) => e instanceof RequestTimeoutError && e.code === 'KVCLIENT_TIMEOUT');
    assert.equal(conn.stats.timeouts, 1);
    assert.equal(conn.inFlight, 0);
    // the late reply is unmatched, and the connection keeps working
    const next = conn.request(get('next'));
    const req2 = await server.takeOne();
    server.send(hit(req, 'late'), hit(req2, 'fresh'));
    assert.equal(c.decodeGetResponse(await next).value.toString(), 'fresh');
    assert.equal(conn.stats.unmatchedResponses, 1);
  });

  test('an injected clock drives the timeout (no real waiting)', async (t) => {
    const timers: Array<() => void> = [];
    const clock = {
      setTimeout: (fn: () => void) => timers.push(fn),
      clearTimeout: () => undefined,
    };
    const { conn, server } = await connected(t, { clock, requestTimeoutMs: 5000 });
    const p = conn.request(get('x'));
    await server.takeOne();
    assert.equal(timers.length, 1);
    timers[0]!();
    await assert.rejects(p, RequestTimeoutError);
  });

  test('a caller AbortSignal aborts the request', async (t) => {
    const { conn, server } = await connected(t);
    const ac = new AbortController();
    const p = conn.request(get('x'), { signal: ac.signal });
    await server.takeOne();
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof KvClientError && e.code === 'KVCLIENT_ABORTED');
  });
});

describe('client > connection > quiet commands', () => {
  test('quiet gets resolve null when a later response arrives; hits and errors resolve with packets', async (t) => {
    const { conn, server } = await connected(t);
    const miss1 = conn.requestQuiet(c.encodeGetRequest({ key: 'm1', opcode: c.Opcode.GetKQ }));
    const found = conn.requestQuiet(c.encodeGetRequest({ key: 'h', opcode: c.Opcode.GetKQ }));
    const miss2 = conn.requestQuiet(c.encodeGetRequest({ key: 'm2', opcode: c.Opcode.GetKQ }));
    const failed = conn.requestQuiet(c.encodeStoreRequest({ opcode: c.Opcode.SetQ, key: 'big', value: 'v' }));
    const end = conn.request(c.encodeNoopRequest());
    const [rm1, rh, rm2, rf, rn] = await server.take(5);
    assert.ok(rm1 && rh && rm2 && rf && rn);
    assert.ok(rm1.opaque < rh.opaque && rh.opaque < rn.opaque, 'opaques increase in send order');
    // the hit response proves the quiet get sent before it missed...
    const early = track(miss1);
    const later = track(miss2);
    server.send(c.encodeGetResponse({ opcode: c.Opcode.GetKQ, flags: 0, key: 'h', value: 'V', cas: 2n }, { opaque: rh.opaque }));
    assert.equal(c.decodeGetResponse((await found)!).value.toString(), 'V');
    await new Promise((r) => setImmediate(r));
    assert.equal(early.settled, true, 'earlier quiet get completed by the later response');
    // ...but says nothing about the quiet get sent after it
    assert.equal(later.settled, false, 'later quiet get still open');
    server.send(c.replyTo(rf, { status: c.Status.E2big }), c.replyTo(rn));
    assert.equal(await miss1, null);
    assert.equal(await miss2, null);
    assert.equal((await failed)?.status, c.Status.E2big);
    assert.equal((await end).status, c.Status.Success);
  });

  test('request() refuses quiet opcodes and requestQuiet() loud ones', async (t) => {
    const { conn } = await connected(t);
    await assert.rejects(conn.request(c.encodeGetRequest({ key: 'k', opcode: c.Opcode.GetQ })), KvClientError);
    await assert.rejects(conn.requestQuiet(c.encodeGetRequest({ key: 'k' })), KvClientError);
  });
});

describe('client > connection > in-flight bound', () => {
  test('at most maxInFlight are written; maxQueued may wait; beyond that QueueFullError', async (t) => {
    const { conn, server } = await connected(t, { maxInFlight: 2, maxQueued: 1 });
    const p1 = conn.request(get('1'));
    const p2 = conn.request(get('2'));
    const p3 = conn.request(get('3'));
    await assert.rejects(conn.request(get('4')), QueueFullError);
    const [r1, r2] = await server.take(2);
    assert.equal(server.pending, 0);
    assert.equal(conn.inFlight, 2);
    server.send(hit(r1!, 'one'));
    await p1;
    const r3 = await server.takeOne(); // the waiter got the freed slot
    assert.equal(r3.key.toString(), '3');
    server.send(hit(r2!, 'two'), hit(r3, 'three'));
    assert.equal(c.decodeGetResponse(await p3).value.toString(), 'three');
    await p2;
  });
});

describe('client > connection > close', () => {
  test('close() rejects in-flight and waiting requests with ConnectionClosedError', async (t) => {
    const { conn, server } = await connected(t, { maxInFlight: 1 });
    const events: ConnectionStatusEvent[] = [];
    conn.onStatus((e) => events.push(e));
    const inflight = conn.request(get('a'));
    const waiting = conn.request(get('b'));
    await server.takeOne();
    // handlers attached before close() so the rejections are never unhandled
    const rejected = Promise.all([
      assert.rejects(inflight, (e: unknown) => e instanceof ConnectionClosedError && e.code === 'KVCLIENT_CONN_CLOSED'),
      assert.rejects(waiting, ConnectionClosedError),
    ]);
    await conn.close();
    await rejected;
    await assert.rejects(conn.request(get('c')), ConnectionClosedError);
    await assert.rejects(conn.send(c.encodeBufferAck(10)), ConnectionClosedError);
    assert.equal(conn.state, 'closed');
    assert.ok(events.some((e) => e.type === 'closed'));
  });

  test('a peer close rejects in-flight requests', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.request(get('a'));
    await server.takeOne();
    server.socket.end();
    await assert.rejects(p, ConnectionClosedError);
  });

  test('a malformed frame from the peer closes with the ProtocolError as cause', async (t) => {
    const { conn, server } = await connected(t);
    const events: ConnectionStatusEvent[] = [];
    conn.onStatus((e) => events.push(e));
    const p = conn.request(get('a'));
    await server.takeOne();
    server.send(Buffer.alloc(24, 0x42)); // magic 0x42
    await assert.rejects(p, (e: unknown) => e instanceof ConnectionClosedError && e.cause instanceof c.ProtocolError);
    assert.equal(conn.state, 'closed');
    assert.ok(events.some((e) => e.type === 'error' && e.error instanceof c.ProtocolError));
  });

  test('the connected status event is observable after connect()', async (t) => {
    const { conn } = await connected(t);
    const seen = await new Promise<ConnectionStatusEvent>((resolve) => conn.onStatus(resolve));
    assert.equal(seen.type, 'connected');
  });
});
