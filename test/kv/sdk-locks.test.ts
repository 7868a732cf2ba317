/**
 * The official `couchbase` SDK's `getAndLock` and `unlock` against Freshet (GET_LOCKED 0x94,
 * UNLOCK_KEY 0x95; rules in src/engine/locks.ts). The SDK negotiates XERROR, so a write to a
 * locked document is answered LOCKED, which the SDK retries (retry reason `key_value_locked`)
 * until its KV timeout; a write with the lock CAS goes through and unlocks. Lock expiry runs on
 * the engine clock, and locks in named collections are independent of the same key elsewhere.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AmbiguousTimeoutError, CasMismatchError, DocumentNotFoundError, DocumentNotLockedError, UnambiguousTimeoutError } from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { ManualClock } from '../helpers/clock.js';
import { SDK_TEST_TIMEOUT, connectSdk, withCollection } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };
const LOCKED_CAS = '18446744073709551615';
/** Short: every refused write waits this long while the SDK retries. */
const KV_TIMEOUT = 800;

/** The SDK gave up retrying because the document stayed locked. */
async function rejectsAsLocked(op: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(op, (err: unknown) => {
    assert.ok(err instanceof AmbiguousTimeoutError || err instanceof UnambiguousTimeoutError, `${what}: ${String(err)}`);
    const context = (err as { context?: { retry_reasons?: unknown } }).context;
    assert.ok(Array.isArray(context?.retry_reasons) && context.retry_reasons.includes('key_value_locked'), `${what}: retried because locked`);
    return true;
  });
}

describe('SDK getAndLock and unlock', () => {
  test('getAndLock, writes refused while locked, replace with the lock CAS, unlock errors', opts, async () => {
    const t = await startTestServer();
    try {
      await withCollection(
        t.server.ports.kv,
        'default',
        async (c) => {
          const stored = await c.upsert('doc', { n: 1 });
          const locked = await c.getAndLock('doc', 10);
          assert.deepEqual(locked.content, { n: 1 });
          assert.notEqual(locked.cas.toString(), stored.cas.toString());
          assert.equal((await c.get('doc')).cas.toString(), LOCKED_CAS, 'a reader sees CAS -1');

          await rejectsAsLocked(c.upsert('doc', { n: 2 }), 'upsert');
          await rejectsAsLocked(c.remove('doc'), 'remove');
          await rejectsAsLocked(c.replace('doc', { n: 2 }, { cas: stored.cas }), 'replace with the old CAS');
          await rejectsAsLocked(c.getAndLock('doc', 10), 'getAndLock again');
          assert.deepEqual((await c.get('doc')).content, { n: 1 }, 'nothing was written');

          // The SDK reports an UNLOCK with the wrong CAS as a CAS mismatch.
          await assert.rejects(c.unlock('doc', stored.cas), CasMismatchError);
          const replaced = await c.replace('doc', { n: 3 }, { cas: locked.cas });
          const after = await c.get('doc');
          assert.equal(after.cas.toString(), replaced.cas.toString(), 'the write released the lock');
          assert.deepEqual(after.content, { n: 3 });
          await assert.rejects(c.unlock('doc', replaced.cas), DocumentNotLockedError);
          await assert.rejects(c.unlock('missing', replaced.cas), DocumentNotFoundError);
          await assert.rejects(c.getAndLock('missing', 5), DocumentNotFoundError);

          const again = await c.getAndLock('doc', 10);
          await c.unlock('doc', again.cas);
          await c.upsert('doc', { n: 4 });
          assert.deepEqual((await c.get('doc')).content, { n: 4 });
        },
        { kvTimeout: KV_TIMEOUT },
      );
    } finally {
      await t.close();
    }
  });

  test('a lock lapses after its time on the engine clock', opts, async () => {
    const clock = new ManualClock();
    const t = await startTestServer({ clock });
    try {
      await withCollection(
        t.server.ports.kv,
        'default',
        async (c) => {
          await c.upsert('doc', 'v1');
          await c.getAndLock('doc', 3);
          clock.advance(2000);
          await rejectsAsLocked(c.upsert('doc', 'v2'), 'upsert after 2 of 3 s');
          clock.advance(1000);
          await c.upsert('doc', 'v3');
          assert.equal((await c.get('doc')).content, 'v3');
        },
        { kvTimeout: KV_TIMEOUT },
      );
    } finally {
      await t.close();
    }
  });

  test('a lock in a named collection leaves the same key in other collections writable', opts, async () => {
    const t = await startTestServer();
    const cluster = await connectSdk(t.server.ports.kv, { kvTimeout: KV_TIMEOUT });
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('inventory');
      await bucket.createCollection('inventory', 'airport');
      await bucket.createCollection('inventory', 'hotel');
      const scope = cluster.bucket('default').scope('inventory');
      const airport = scope.collection('airport');
      const hotel = scope.collection('hotel');
      const dflt = cluster.bucket('default').defaultCollection();
      for (const c of [airport, hotel, dflt]) await c.upsert('doc', { v: 0 });

      const locked = await airport.getAndLock('doc', 10);
      await hotel.upsert('doc', { v: 1 });
      await dflt.upsert('doc', { v: 1 });
      assert.notEqual((await hotel.get('doc')).cas.toString(), LOCKED_CAS);
      assert.equal((await airport.get('doc')).cas.toString(), LOCKED_CAS);
      await rejectsAsLocked(airport.upsert('doc', { v: 1 }), 'upsert in the locked collection');
      // The default collection's key is not locked, so unlocking it there is "not locked".
      await assert.rejects(dflt.unlock('doc', locked.cas), DocumentNotLockedError);

      await airport.unlock('doc', locked.cas);
      await airport.upsert('doc', { v: 2 });
      assert.deepEqual((await airport.get('doc')).content, { v: 2 });
    } finally {
      await cluster.close();
      await t.close();
    }
  });
});
