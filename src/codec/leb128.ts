/**
 * Unsigned LEB128, used for the collection-id prefix of keys on collection-aware
 * connections (HELLO Collections 0x12): DCP mutation/deletion/expiration keys and KV keys
 * start with the collection id as unsigned LEB128 (kv docs/dcp/documentation/commands/
 * mutation.md "Collections Enabled"; include/mcbp/protocol/unsigned_leb128.h).
 * Collection ids are u32, so at most 5 bytes.
 */
import { ProtocolError } from './errors.js';

export function encodeLeb128(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ProtocolError('VALUE_RANGE', `collection id out of u32 range: ${value}`);
  }
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return Buffer.from(out);
}

/** Decode a leading unsigned LEB128 u32; returns the value and the bytes it used. */
export function decodeLeb128(buf: Buffer, offset = 0): { readonly value: number; readonly length: number } {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 5; i++) {
    const byte = buf[offset + i];
    if (byte === undefined) throw new ProtocolError('SHORT_READ', 'truncated LEB128', { offset: offset + i });
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) throw new ProtocolError('VALUE_RANGE', `LEB128 value ${value} exceeds u32`);
      return { value, length: i + 1 };
    }
    mult *= 128;
  }
  throw new ProtocolError('VALUE_RANGE', 'LEB128 longer than 5 bytes', { offset });
}

/**
 * The collection-id prefix of a KV request key, as kv_engine's validator accepts it
 * (include/mcbp/protocol/unsigned_leb128.h `decodeCanonical`): at most 5 bytes, a u32, and in its
 * shortest form; a redundant trailing 0x00 group (e.g. `80 00` for 0) is refused, so one
 * collection id has exactly one spelling. Throws ProtocolError (answered EINVAL by the KV face).
 */
export function decodeCollectionPrefix(key: Buffer): { readonly value: number; readonly length: number } {
  const decoded = decodeLeb128(key);
  if (decoded.length > 1 && key[decoded.length - 1] === 0) {
    throw new ProtocolError('VALUE_RANGE', 'collection id prefix is not in shortest LEB128 form');
  }
  return decoded;
}

/** Split a collection-aware key into collection id and the user key (a subarray). */
export function splitCollectionKey(key: Buffer): { readonly collectionId: number; readonly key: Buffer } {
  const { value, length } = decodeLeb128(key);
  return { collectionId: value, key: key.subarray(length) };
}

export function joinCollectionKey(collectionId: number, key: Buffer | string): Buffer {
  return Buffer.concat([encodeLeb128(collectionId), typeof key === 'string' ? Buffer.from(key, 'utf8') : key]);
}
