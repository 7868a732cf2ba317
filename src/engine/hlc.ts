/**
 * CAS values: a hybrid logical clock, as kv_engine's `HLC` makes them.
 *
 * The CAS is the wall clock in nanoseconds with the low 16 bits masked off, bumped by one whenever
 * the clock has not moved past the last value handed out. So CAS values are unique and strictly
 * increasing per bucket, and still say roughly when a document was written (kv_engine
 * engines/ep/src/hlc.h).
 */
import type { Clock } from './clock.js';

export class HybridLogicalClock {
  private last = 0n;

  constructor(private readonly clock: Clock) {}

  /** Raise the floor, e.g. to the highest CAS found on disk at start-up. */
  observe(cas: bigint): void {
    if (cas > this.last) this.last = cas;
  }

  next(): bigint {
    const now = (BigInt(this.clock.now()) * 1_000_000n) & ~0xffffn;
    this.last = now > this.last ? now : this.last + 1n;
    return this.last;
  }
}
