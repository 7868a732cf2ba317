import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';
import { isEngineError, type EngineErrorKind } from '../../src/engine/errors.js';
import { DATATYPE_JSON, DATATYPE_RAW } from '../../src/engine/types.js';
import { MAX_VALUE_BYTES } from '../../src/engine/limits.js';
import { runExpiryPager } from '../../src/engine/maintenance.js';
import { ManualClock } from '../helpers/clock.js';

async function rejects(p: Promise<unknown> | (() => unknown), code: EngineErrorKind): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (err: unknown) => isEngineError(err, code));
}

describe('document operations', () => {
  let t: TestEngine;
  // Every engine time read follows this clock: expiry tests move it instead of sleeping.
  const clock = new ManualClock();
  before(async () => {
    t = await openTestEngine(64, { clock });
  });
  after(() => t.close());

  test('set then get returns value, flags, datatype and a mutation token', async () => {
    const b = t.bucket;
    const r = await b.set('doc', '{"a":1}', { flags: 0xdeadbeef });
    const item = b.get('doc');
    assert.equal(item.value.toString(), '{"a":1}');
    assert.equal(item.flags, 0xdeadbeef);
    assert.equal(item.datatype, DATATYPE_JSON);
    assert.equal(item.cas, r.cas);
    assert.equal(r.token.vbucket, b.vbucketOf('doc'));
    assert.equal(r.token.vbuuid, b.vbucketInfo(r.token.vbucket).uuid);
    assert.equal(r.token.seqno, b.vbucketInfo(r.token.vbucket).highSeqno);
    assert.equal((await b.set('raw', Buffer.from([0xff, 0x00]))).item.datatype, DATATYPE_RAW);
  });

  test('CAS values are unique and increasing; seqnos advance per vbucket', async () => {
    const b = t.bucket;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => b.set(`cas-${i % 7}`, String(i))));
    const cas = results.map((r) => r.cas);
    for (let i = 1; i < cas.length; i++) assert.ok(cas[i]! > cas[i - 1]!);
    const byVb = new Map<number, number>();
    for (const r of results) {
      const last = byVb.get(r.token.vbucket) ?? 0;
      assert.ok(r.token.seqno > last);
      byVb.set(r.token.vbucket, r.token.seqno);
    }
  });

  test('add fails on an existing key, replace on a missing one', async () => {
    const b = t.bucket;
    await b.add('ar', 'one');
    await rejects(b.add('ar', 'two'), 'KEY_EEXISTS');
    await rejects(b.replace('ar-missing', 'x'), 'KEY_ENOENT');
    await b.replace('ar', 'three');
    assert.equal(b.get('ar').value.toString(), 'three');
    await b.delete('ar');
    await b.add('ar', 'after-delete');
    assert.equal(b.get('ar').value.toString(), 'after-delete');
  });

  test('CAS-checked set, replace and delete', async () => {
    const b = t.bucket;
    const first = await b.set('c', 'v1');
    await rejects(b.set('c', 'v2', { cas: first.cas + 1n }), 'KEY_EEXISTS');
    const second = await b.replace('c', 'v2', { cas: first.cas });
    await rejects(b.delete('c', { cas: first.cas }), 'KEY_EEXISTS');
    await rejects(b.set('c-missing', 'x', { cas: 5n }), 'KEY_ENOENT');
    await b.delete('c', { cas: second.cas });
    await rejects(() => b.get('c'), 'KEY_ENOENT');
    await rejects(b.delete('c'), 'KEY_ENOENT');
  });

  test('a deletion keeps a tombstone with its own seqno, rev seqno and delete time', async () => {
    const b = t.bucket;
    const w = await b.set('tomb', 'x');
    const d = await b.delete('tomb');
    assert.ok(d.token.seqno > w.token.seqno);
    const meta = b.getMeta('tomb');
    assert.equal(meta.deleted, true);
    assert.equal(meta.revSeqno, 2);
    assert.ok(Math.abs(meta.deleteTime - clock.seconds()) <= 2);
  });

  test('append and prepend; missing key is NOT_STORED', async () => {
    const b = t.bucket;
    await b.set('ap', 'mid', { flags: 7 });
    await b.append('ap', '-end');
    await b.prepend('ap', 'start-');
    const item = b.get('ap');
    assert.equal(item.value.toString(), 'start-mid-end');
    assert.equal(item.flags, 7);
    await rejects(b.append('ap-missing', 'x'), 'NOT_STORED');
    await rejects(b.append('ap', 'x', item.cas - 1n), 'KEY_EEXISTS');
  });

  test('counters: initial, increment, decrement floor at 0, wrap at 2^64, no-create expiry', async () => {
    const b = t.bucket;
    const created = await b.increment('n', { delta: 5n, initial: 10n, expiry: 0 });
    assert.equal(created.value, 10n);
    assert.equal((await b.increment('n', { delta: 5n, initial: 0n, expiry: 0 })).value, 15n);
    assert.equal((await b.decrement('n', { delta: 100n, initial: 0n, expiry: 0 })).value, 0n);
    await b.set('big', '18446744073709551615');
    assert.equal((await b.increment('big', { delta: 2n, initial: 0n, expiry: 0 })).value, 1n);
    await rejects(b.increment('nocreate', { delta: 1n, initial: 1n, expiry: 0xffffffff }), 'KEY_ENOENT');
    await b.set('text', 'abc');
    await rejects(b.increment('text', { delta: 1n, initial: 0n, expiry: 0 }), 'DELTA_BADVAL');
    assert.equal(b.get('n').value.toString(), '0');
  });

  test('expiry: relative values become absolute, past absolute times are invisible at once', async () => {
    const b = t.bucket;
    await b.set('rel', 'x', { expiry: 100 });
    assert.ok(Math.abs(b.get('rel').expiry - (clock.seconds() + 100)) <= 2);
    const abs = clock.seconds() + 60 * 60 * 24 * 365;
    await b.set('abs', 'x', { expiry: abs });
    assert.equal(b.get('abs').expiry, abs);
    await b.set('past', 'x', { expiry: clock.seconds() - 3600 * 24 * 40 });
    await rejects(() => b.get('past'), 'KEY_ENOENT');
  });

  test('an expired item becomes an expiration tombstone with its own seqno on access', async () => {
    const b = t.bucket;
    await b.set('short', 'x', { expiry: 1 });
    const before = b.vbucketInfo(b.vbucketOf('short')).highSeqno;
    assert.equal(b.get('short').value.toString(), 'x');
    clock.advance(1000);
    await rejects(() => b.get('short'), 'KEY_ENOENT');
    await b.quiesce();
    const meta = b.getMeta('short');
    assert.equal(meta.deleted, true);
    assert.equal(meta.expired, true);
    assert.equal(meta.seqno, before + 1);
  });

  test('the expiry pager expires by the engine clock, and CAS values follow it', async () => {
    const b = t.bucket;
    const w = await b.set('paged', 'x', { expiry: 30 });
    await b.quiesce(); // the pager reads the expiry index on disk
    assert.ok(w.cas >> 16n >= (BigInt(clock.now()) * 1_000_000n) >> 16n, 'the CAS is the clock in ns, low bits masked');
    assert.equal(await runExpiryPager(b), 0, 'not due yet');
    clock.advance(31_000);
    assert.equal(await runExpiryPager(b), 1);
    await b.quiesce();
    const meta = b.getMeta('paged');
    assert.equal(meta.expired, true);
    assert.equal(meta.deleteTime, clock.seconds());
    assert.ok(meta.cas >> 16n >= (BigInt(clock.now()) * 1_000_000n) >> 16n);
  });

  test('touch and get-and-touch change the expiry with a new seqno', async () => {
    const b = t.bucket;
    const w = await b.set('tt', 'x');
    const r = await b.touch('tt', 500);
    assert.ok(r.token.seqno > w.token.seqno);
    assert.ok(Math.abs(b.get('tt').expiry - (clock.seconds() + 500)) <= 2);
    const g = await b.getAndTouch('tt', 0);
    assert.equal(g.item.value.toString(), 'x');
    assert.equal(b.get('tt').expiry, 0);
    await rejects(b.touch('tt-missing', 5), 'KEY_ENOENT');
  });

  test('bad input gets a typed error and leaves the store unchanged', async () => {
    const b = t.bucket;
    await b.set('keep', 'original');
    const high = b.vbucketInfo(b.vbucketOf('keep')).highSeqno;
    await rejects(() => b.set('k'.repeat(251), 'x'), 'EINVAL');
    await rejects(() => b.set('', 'x'), 'EINVAL');
    await rejects(() => b.set('keep', Buffer.alloc(MAX_VALUE_BYTES + 1)), 'E2BIG');
    await rejects(() => b.set('keep', 'x', { expiry: -1 }), 'EINVAL');
    await rejects(() => b.set('keep', 'x', { expiry: 1.5 }), 'EINVAL');
    await rejects(() => b.set('keep', 'x', { expiry: 2 ** 32 }), 'EINVAL');
    await rejects(() => b.set('keep', 'x', { flags: -1 }), 'EINVAL');
    assert.equal(b.get('keep').value.toString(), 'original');
    assert.equal(b.vbucketInfo(b.vbucketOf('keep')).highSeqno, high);
    // A 250-byte key and a 20 MiB value are still fine.
    await b.set('k'.repeat(250), Buffer.alloc(MAX_VALUE_BYTES));
    assert.equal(b.get('k'.repeat(250)).value.length, MAX_VALUE_BYTES);
  });

  test('operations on a vbucket that is not active get NOT_MY_VBUCKET', async () => {
    const b = t.bucket;
    const vb = b.vbucketOf('moved');
    await t.engine.setVBucketState('default', vb, 'replica');
    await rejects(() => b.set('moved', 'x'), 'NOT_MY_VBUCKET');
    await rejects(() => b.get('moved'), 'NOT_MY_VBUCKET');
    const info = await t.engine.setVBucketState('default', vb, 'active');
    assert.equal(info.failoverLog.length, 2, 'promotion to active starts a new branch');
    await b.set('moved', 'x');
  });
});
