/**
 * Key → vbucket mapping, exactly as Couchbase clients compute it.
 *
 * CRC32 (IEEE, reflected, init 0xffffffff, final xor) of the key bytes, then
 * `((crc >> 16) & 0x7fff) % numVBuckets` (libcouchbase vbucket.c `vbucket_get_vbucket_by_key`;
 * go-couchbase vbmap.go `VBHash` uses `& (n - 1)`, identical for powers of two).
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function vbucketOf(key: Uint8Array | string, numVBuckets: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return ((crc32(bytes) >>> 16) & 0x7fff) % numVBuckets;
}
