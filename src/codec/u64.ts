/**
 * Big-endian 64-bit unsigned BigInts (CAS values) in buffers, without Buffer's BigInt arithmetic.
 *
 * `Buffer#writeBigUInt64BE` / `readBigUInt64BE` split and join the value with BigInt shifts and
 * masks, allocating several BigInts per call; going through an 8-byte DataView scratch allocates
 * at most the result and is about three times faster to write. Every GET reply writes a CAS and
 * every GET decodes one from the stored record, so this shows on the KV request path.
 * No range checks: a value outside 0..2^64-1 is written modulo 2^64 (callers check, see
 * packet.ts encodePacket).
 */
const view = new DataView(new ArrayBuffer(8));
const bytes = new Uint8Array(view.buffer);

export function writeBigU64BE(out: Uint8Array, offset: number, value: bigint): void {
  view.setBigUint64(0, value);
  out[offset] = bytes[0]!;
  out[offset + 1] = bytes[1]!;
  out[offset + 2] = bytes[2]!;
  out[offset + 3] = bytes[3]!;
  out[offset + 4] = bytes[4]!;
  out[offset + 5] = bytes[5]!;
  out[offset + 6] = bytes[6]!;
  out[offset + 7] = bytes[7]!;
}

/** The value at `offset`; the caller makes sure 8 bytes are there. */
export function readBigU64BE(buf: Uint8Array, offset: number): bigint {
  bytes[0] = buf[offset]!;
  bytes[1] = buf[offset + 1]!;
  bytes[2] = buf[offset + 2]!;
  bytes[3] = buf[offset + 3]!;
  bytes[4] = buf[offset + 4]!;
  bytes[5] = buf[offset + 5]!;
  bytes[6] = buf[offset + 6]!;
  bytes[7] = buf[offset + 7]!;
  return view.getBigUint64(0);
}
