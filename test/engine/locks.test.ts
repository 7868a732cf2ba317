/**
 * The lock table's own bookkeeping (src/engine/locks.ts) through the engine API: a lock only
 * holds the version it locked (an expiry, which does not consult the table, ends it), the
 * HTTP face's compare-and-write refuses a locked document, and lapsed locks are swept once the
 * table has grown, so it never keeps dead entries in proportion to past traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestEngine } from '../helpers/engine.js';
import { ManualClock } from '../helpers/clock.js';
import { isEngineError } from '../../src/engine/errors.js';
import { LOCKED_CAS } from '../../src/engine/locks.js';

test('a lock holds the version it locked: after an expiry and a re-create the key is free', async () => {
  const clock = new ManualClock();
  const t = await openTestEngine(16, { clock });
  try {
    const b = t.bucket;
    await b.set('k', 'v', { expiry: 5 });
    const locked = b.getAndLock('k', 30);
    assert.equal(b.get('k').cas, LOCKED_CAS);
    clock.advance(5000);
    assert.throws(() => b.get('k'), (err: unknown) => isEngineError(err, 'KEY_ENOENT'));
    await b.quiesce();
    await b.add('k', 'new');
    assert.notEqual(b.get('k').cas, LOCKED_CAS);
    await b.set('k', 'again');
    assert.throws(() => b.unlock('k', locked.cas), (err: unknown) => isEngineError(err, 'NOT_LOCKED'));
    assert.equal(b.lockStats().held, 0, 'the stale entry was dropped when read');
  } finally {
    await t.close();
  }
});

test('writeVersion (the HTTP face) is refused with LOCKED while the document is locked', async () => {
  const t = await openTestEngine(16);
  try {
    const b = t.bucket;
    const w = await b.set('doc', '{"a":1}');
    const locked = b.getAndLock('doc', 10);
    await assert.rejects(b.writeVersion('doc', w.cas, { value: Buffer.from('{"a":2}'), deleted: false, xattrs: null }), (err: unknown) => isEngineError(err, 'LOCKED'));
    b.unlock('doc', locked.cas);
    await b.writeVersion('doc', w.cas, { value: Buffer.from('{"a":2}'), deleted: false, xattrs: null });
    assert.equal(b.get('doc').value.toString(), '{"a":2}');
  } finally {
    await t.close();
  }
});

test('lapsed locks are swept when the table reaches its sweep size', async () => {
  const clock = new ManualClock();
  const t = await openTestEngine(16, { clock });
  try {
    const b = t.bucket;
    const keys = Array.from({ length: 1024 }, (_, i) => `k${i}`);
    for (const k of keys) await b.set(k, 'v');
    for (const k of keys.slice(0, 1023)) b.getAndLock(k, 1);
    assert.equal(b.lockStats().held, 1023);
    clock.advance(1000);
    b.getAndLock(keys[1023]!, 10);
    const stats = b.lockStats();
    assert.deepEqual([stats.held, stats.expired, stats.locked], [1, 1023, 1024]);
    // The lock taken during the sweep is the one still held.
    assert.equal(b.get(keys[1023]!).cas, LOCKED_CAS);
    assert.notEqual(b.get(keys[0]!).cas, LOCKED_CAS);
  } finally {
    await t.close();
  }
});
