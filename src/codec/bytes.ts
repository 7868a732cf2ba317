/**
 * Byte copies for the frame encoders that take a CAS, key or value out of a larger buffer (a
 * stored record: codec/ops/get.ts, codec/dcp/mutation.ts).
 */

/** Below this many bytes a byte loop beats Buffer#copy, which makes a view of the source range first. */
const SMALL_COPY = 64;

/**
 * Copy `src[start, end)` into `out` at `at`; returns the bytes copied. For the frame encoders that
 * take a CAS, key or value out of a larger buffer (a stored record): `Buffer#copy` of a range
 * allocates a Uint8Array view per call, a measurable share of a backfill's time (issue #16).
 */
export function copyRange(src: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  const n = end - start;
  if (n < SMALL_COPY) {
    for (let i = 0; i < n; i++) out[at + i] = src[start + i]!;
  } else {
    out.set(src.subarray(start, end), at);
  }
  return n;
}
