/**
 * A clock that moves only when a test moves it, for the engine's `clock` option: expiry, delete
 * times, purge age and CAS then follow the test instead of the wall clock, so nothing sleeps.
 */
import type { Clock } from '../../src/engine/clock.js';

export class ManualClock implements Clock {
  #ms: number;

  constructor(startMs = Date.now()) {
    this.#ms = startMs;
  }

  now(): number {
    return this.#ms;
  }

  /** Whole Unix seconds, the unit of expiry and delete times. */
  seconds(): number {
    return Math.floor(this.#ms / 1000);
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward, not by ${ms} ms`);
    this.#ms += ms;
  }
}
