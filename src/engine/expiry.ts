/**
 * Expiry times, with memcached's rule: 0 means never; up to 30 days (2,592,000 s) is relative to
 * now; anything larger is an absolute Unix time (kv_engine daemon/mc_time.cc,
 * `memcached_maximum_relative_time`). An absolute time already in the past expires the item at once,
 * as memcached does.
 */
import { EngineError } from './errors.js';
import { clockSeconds, SYSTEM_CLOCK } from './clock.js';

export const MAX_RELATIVE_EXPIRY = 60 * 60 * 24 * 30;
export const MAX_EXPIRY = 0xffffffff;

/** The system clock in Unix seconds; the engine itself reads its own `Clock` (clock.ts). */
export function nowSeconds(): number {
  return clockSeconds(SYSTEM_CLOCK);
}

/** Turn a protocol expiry into the absolute epoch second stored with the item (0 = never). */
export function absoluteExpiry(expiry: number, now = nowSeconds()): number {
  if (!Number.isInteger(expiry) || expiry < 0 || expiry > MAX_EXPIRY) {
    throw new EngineError('EINVAL', `invalid expiry ${String(expiry)}: expected an integer 0..${MAX_EXPIRY}`);
  }
  if (expiry === 0) return 0;
  if (expiry <= MAX_RELATIVE_EXPIRY) return now + expiry;
  // An absolute time in the past still has to mean "expired", never "forever".
  return expiry <= now ? Math.max(1, now - 1) : expiry;
}

export function isExpired(expiryAbs: number, now = nowSeconds()): boolean {
  return expiryAbs !== 0 && expiryAbs <= now;
}
