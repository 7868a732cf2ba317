/**
 * Retry pacing (src/common/backoff.ts), shared by the consumer, the dev cluster's replicas and the
 * replicator: cbdatasource's ExponentialBackoffLoop contract as a table (practice 11), CouchDB's
 * doubling schedule with jitter, and the abortable sleep.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay, exponentialBackoffLoop, policyDelay, sleep } from '../../src/common/backoff.js';

describe('common > backoff', () => {
  test('delays grow by the factor from init and stop at max (cbdatasource defaults 100 ms x1.5 to 1 s)', () => {
    const got = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, 100, 1.5, 1000));
    assert.deepEqual(got, [100, 150, 225, 337.5, 506.25, 759.375, 1000, 1000]);
    const b = new Backoff(10, 2, 50);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 50]);
    assert.equal(b.attempt, 4);
    b.reset();
    assert.equal(b.next(), 10);
  });

  test('policy: 1-based doubling from initialMs to maxMs; jitter adds at most its fraction', () => {
    const exact = { initialMs: 250, maxMs: 10_000, retries: 10, jitter: 0 };
    assert.deepEqual([0, 1, 2, 3, 6, 7, 10].map((a) => policyDelay(exact, a)), [250, 250, 500, 1000, 8000, 10_000, 10_000]);
    const jittered = { ...exact, jitter: 0.1 };
    for (let i = 0; i < 200; i++) {
      const d = policyDelay(jittered, 3);
      assert.ok(d >= 1000 && d <= 1100 && Number.isInteger(d), `${d} within [1000, 1100]`);
    }
  });

  test('sleep: true after the time, false at once when aborted before or during', async () => {
    assert.equal(await sleep(1), true);
    const ac = new AbortController();
    ac.abort();
    assert.equal(await sleep(10_000, ac.signal), false);
    const ac2 = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac2.abort(), 5);
    assert.equal(await sleep(10_000, ac2.signal), false);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('loop: < 0 stops, > 0 retries at once, 0 sleeps; an abort ends it', async () => {
    const results = [1, 1, 0, 1, -1];
    const calls: number[] = [];
    const t0 = Date.now();
    await exponentialBackoffLoop(() => {
      calls.push(Date.now() - t0);
      return results.shift() ?? -1;
    }, 5, 2, 20);
    assert.equal(calls.length, 5);

    const ac = new AbortController();
    let n = 0;
    const loop = exponentialBackoffLoop(() => {
      if (++n === 3) ac.abort();
      return 0;
    }, 1, 1, 1, ac.signal);
    await loop;
    assert.equal(n, 3);
  });
});
