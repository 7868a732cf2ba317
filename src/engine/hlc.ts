/**
 * CAS values: a hybrid logical clock, as kv_engine's `HLC` makes them.
 *
 * The CAS is the wall clock in nanoseconds with the low 16 bits masked off, bumped by one whenever
 * the clock has not moved past the last value handed out. So CAS values are unique and strictly
 * increasing per bucket, and still say roughly when a document was written (kv_engine
 * engines/ep/src/hlc.h).
 */
import type { Clock } from './clock.js';

/**
 * How far ahead of the wall clock a CAS set by another node (a with-meta write: XDCR, restore)
 * may be: kv_engine's `hlc_max_future_threshold_us`, past which its `hlc_invalid_strategy`
 * "error" refuses the write (CasValueInvalid). One hour, in the clock's nanoseconds.
 */
export const HLC_MAX_FUTURE_NS = 3_600n * 1_000_000_000n;

/** Above this no floor is taken: 2^40 more CAS values must still fit the wire's 64 bits. */
const MAX_FLOOR = (1n << 64n) - (1n << 40n);

export class HybridLogicalClock {
  private last = 0n;

  constructor(private readonly clock: Clock) {}

  /** The clock now, as a CAS (nanoseconds, low 16 bits masked). */
  private now(): bigint {
    return (BigInt(this.clock.now()) * 1_000_000n) & ~0xffffn;
  }

  /** Whether `cas` is further ahead of this clock than a with-meta write may set (see above). */
  tooFarAhead(cas: bigint): boolean {
    return cas > this.now() + HLC_MAX_FUTURE_NS;
  }

  /**
   * Raise the floor, e.g. to the highest CAS found on disk at start-up. A floor so high that the
   * next CAS would not fit 64 bits is not taken (it could only come from a poisoned version).
   */
  observe(cas: bigint): void {
    if (cas > this.last && cas < MAX_FLOOR) this.last = cas;
  }

  next(): bigint {
    const now = this.now();
    this.last = now > this.last ? now : this.last + 1n;
    return this.last;
  }
}
