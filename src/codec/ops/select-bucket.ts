/**
 * SELECT_BUCKET 0x89. Source: kv docs/BinaryProtocol.md "0x89 Select Bucket"; dcp.md §2.2;
 * couchbase-sdk-bootstrap.md §3.4.
 *
 * Request: no extras; key = bucket name ("@no bucket@" deselects); no value.
 * Response: status only (Success, Eaccess for unknown/forbidden, KeyEnoent while the
 * bucket config is not yet propagated).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export const NO_BUCKET_NAME = '@no bucket@';

export function encodeSelectBucketRequest(bucket: string, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.SelectBucket, { ...init, key: Buffer.from(bucket, 'utf8') });
}

export function decodeSelectBucketRequest(p: Packet): { readonly bucket: string } {
  expectOpcode(p, Opcode.SelectBucket);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  return { bucket: p.key.toString('utf8') };
}
