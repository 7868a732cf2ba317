/**
 * A latency histogram cheap enough for the KV request path and the commit path: fixed
 * power-of-two microsecond buckets (≤1 µs, ≤2 µs, ≤4 µs, … ≤2^23 µs ≈ 8.4 s, then +Inf) in a plain
 * array, filled with one `Math.clz32` and two additions per observation. It is a plain counter
 * object: the metrics module (src/metrics/) turns it into a Prometheus histogram at scrape time,
 * and KV `STAT timings` prints it in cbstats' shape. Power-of-two buckets are also how kv_engine's
 * HdrHistogram-backed timings read in cbstats.
 */

/** Buckets with a finite upper bound; the array has one more slot for +Inf. */
export const HISTOGRAM_FINITE_BUCKETS = 24;

/** Upper bounds in microseconds of the finite buckets (1, 2, 4, … 2^23). */
export const HISTOGRAM_BOUNDS_US: readonly number[] = Array.from({ length: HISTOGRAM_FINITE_BUCKETS }, (_, i) => 2 ** i);

const LARGEST = 2 ** (HISTOGRAM_FINITE_BUCKETS - 1);

export class LatencyHistogram {
  /** Non-cumulative counts per bucket; the last slot is above the largest bound. */
  readonly counts = new Float64Array(HISTOGRAM_FINITE_BUCKETS + 1);
  /** Sum of the observed values in microseconds. */
  sumUs = 0;
  count = 0;

  observe(micros: number): void {
    // Bucket i holds (2^(i-1), 2^i]: the bit length of ceil(µs) - 1.
    const us = micros <= 1 ? 1 : Math.ceil(micros);
    const i = us > LARGEST ? HISTOGRAM_FINITE_BUCKETS : 32 - Math.clz32(us - 1);
    this.counts[i]!++;
    this.sumUs += micros;
    this.count++;
  }
}
