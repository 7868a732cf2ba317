/** Retry pacing: cbdatasource's ExponentialBackoffLoop contract as a table (practice 11). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay, exponentialBackoffLoop } from '../../src/consumer/backoff.js';

describe('consumer > backoff', () => {
  test('delays grow by the factor from init and stop at max (cbdatasource defaults 100 ms x1.5 to 1 s)', () => {
    const got = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, 100, 1.5, 1000));
    assert.deepEqual(got, [100, 150, 225, 337.5, 506.25, 759.375, 1000, 1000]);
    const b = new Backoff(10, 2, 50);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 50]);
    b.reset();
    assert.equal(b.next(), 10);
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
