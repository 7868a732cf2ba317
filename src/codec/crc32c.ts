/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum kv_engine reports for a
 * document body (`$document.value_crc32c`, the `${Mutation.value_crc32c}` macro; platform
 * crc32c.h). Table-driven, one byte at a time: bodies checksummed here are single documents.
 */
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

export function crc32c(data: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
