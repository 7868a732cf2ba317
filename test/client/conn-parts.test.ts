/** The connection's parts in isolation: in-flight table, slot pool, inbox. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { QueueFullError } from '../../src/client/conn-errors.js';
import { Inbox } from '../../src/client/conn-inbox.js';
import { InflightTable } from '../../src/client/conn-inflight.js';
import { SlotPool } from '../../src/client/conn-slots.js';

describe('client > conn-inflight', () => {
  test('a response completes earlier quiet entries only, in send order', () => {
    const t = new InflightTable();
    const log: string[] = [];
    const add = (opaque: number, quiet: boolean): void =>
      t.add({
        opaque,
        opcode: 0,
        quiet,
        resolve: (p) => log.push(`${opaque}:${p === null ? 'silent' : p.status}`),
        reject: () => log.push(`${opaque}:rejected`),
      });
    add(10, true);
    add(11, false);
    add(12, true);
    add(5, false); // opaques need not be increasing: send order decides
    assert.equal(t.onResponse(c.makeResponse(0, { opaque: 11 })), true);
    assert.deepEqual(log, ['10:silent', '11:0']);
    assert.equal(t.onResponse(c.makeResponse(0, { opaque: 99 })), false);
    t.onResponse(c.makeResponse(0, { opaque: 5, status: 1 }));
    assert.deepEqual(log, ['10:silent', '11:0', '12:silent', '5:1']);
    assert.equal(t.size, 0);
  });

  test('multi-response entries collect until isLast', () => {
    const t = new InflightTable();
    const got: { all: c.Packet[] | undefined } = { all: undefined as c.Packet[] | undefined };
    const collected = (): c.Packet[] | undefined => got.all; // read through a call: no narrowing
    t.add({
      opaque: 1,
      opcode: 0x10,
      quiet: false,
      isLast: (p) => p.key.length === 0,
      resolve: (_p, a) => {
        got.all = a;
      },
      reject: () => undefined,
    });
    t.onResponse(c.makeResponse(0x10, { opaque: 1, key: Buffer.from('a') }));
    assert.ok(collected() === undefined, 'not resolved before the last packet');
    t.onResponse(c.makeResponse(0x10, { opaque: 1 }));
    assert.equal(collected()?.length, 2);
  });
});

describe('client > conn-slots', () => {
  test('waiters get freed slots in order; overflow and abort reject', async () => {
    const pool = new SlotPool(1, 1);
    await pool.acquire();
    const order: number[] = [];
    const w1 = pool.acquire().then(() => order.push(1));
    await assert.rejects(pool.acquire(), QueueFullError);
    pool.release();
    await w1;
    assert.deepEqual(order, [1]);
    const ac = new AbortController();
    const w2 = pool.acquire(ac.signal);
    ac.abort(new Error('gone'));
    await assert.rejects(w2, /gone/);
    assert.equal(pool.waiting, 0);
  });
});

describe('client > conn-inbox', () => {
  test('pauses above the high-water mark, resumes at the low one, delivers then ends', async () => {
    const calls: string[] = [];
    const inbox = new Inbox<Buffer>({
      highWaterMark: 10,
      lowWaterMark: 4,
      sizeOf: (b) => b.length,
      onPause: () => calls.push('pause'),
      onResume: () => calls.push('resume'),
    });
    for (let i = 0; i < 4; i++) inbox.push(Buffer.alloc(4, i));
    assert.deepEqual(calls, ['pause']);
    await inbox.next();
    await inbox.next();
    assert.deepEqual(calls, ['pause']);
    await inbox.next(); // 4 bytes left
    assert.deepEqual(calls, ['pause', 'resume']);
    inbox.close();
    assert.deepEqual((await inbox.next()).value, Buffer.alloc(4, 3));
    assert.equal((await inbox.next()).done, true);
  });

  test('a waiting reader gets the next push; close(error) rejects it', async () => {
    const inbox = new Inbox<number>({ highWaterMark: 1, lowWaterMark: 0, sizeOf: () => 1, onPause: () => undefined, onResume: () => undefined });
    const first = inbox.next();
    inbox.push(7);
    assert.deepEqual(await first, { value: 7, done: false });
    const second = inbox.next();
    inbox.close(new Error('peer gone'));
    await assert.rejects(second, /peer gone/);
  });
});
