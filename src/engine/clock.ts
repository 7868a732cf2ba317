/**
 * The engine's one source of wall-clock time. Every time the engine reads (CAS values, expiry
 * deadlines, delete times, the purge age, the pagers' "now") comes from a `Clock`, so tests can
 * move time forward instead of sleeping, and the engine never reads `Date.now()` behind it.
 */

/** Milliseconds since the Unix epoch, like `Date.now()`. */
export interface Clock {
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/** Whole Unix seconds, the unit of memcached expiry and delete times. */
export function clockSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
