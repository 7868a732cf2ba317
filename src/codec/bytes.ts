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

/*
 * Big-endian stores without Buffer#writeUInt*BE's argument checks, for the single-allocation
 * frame encoders of the hot paths (packet.ts writeHeaderFields, ops/get.ts, ops/mutation.ts,
 * dcp/*.ts): a pipelined GET reply made six checked calls, about a tenth of its cost (issue #16).
 * Callers pass values that fit; a u64 is a number below 2^53 (seqnos, vbucket UUIDs).
 */

export function putU16(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 8;
  out[at + 1] = v;
}

export function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

export function putU64(out: Uint8Array, at: number, v: number): void {
  putU32(out, at, Math.floor(v / 0x1_0000_0000));
  putU32(out, at + 4, v >>> 0);
}

/** Big-endian reads without Buffer#readUInt*BE's checks; the caller makes sure the bytes are there. */
export function getU16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function getU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/** A u64 as a number: exact below 2^53 (seqnos, bucket sequences, rev seqnos). */
export function getU64(buf: Uint8Array, at: number): number {
  return getU32(buf, at) * 0x1_0000_0000 + getU32(buf, at + 4);
}
