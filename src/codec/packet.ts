/**
 * The generic memcached-binary packet: 24-byte header + body.
 * Source: kv docs/BinaryProtocol.md "Packet Structure", "Request header",
 * "Response header", and the flexible-framing variants; dcp.md §1.1.
 *
 *   Off Size  Request (0x80)          Response (0x81)
 *    0   1    magic                   magic
 *    1   1    opcode                  opcode
 *    2   2    key length              key length
 *    4   1    extras length           extras length
 *    5   1    datatype                datatype
 *    6   2    vbucket id              status
 *    8   4    total body length       total body length
 *   12   4    opaque                  opaque
 *   16   8    CAS                     CAS
 * With magic 0x08/0x18 byte 2 is the framing-extras length and byte 3 the key length.
 * Body = framing extras, extras, key, value (value length = body - the other three).
 *
 * `Packet` carries both `vbucket` and `status`: decoding fills the one bytes 6-7 mean for
 * that magic and sets the other to 0; encoding writes `vbucket` for request magics and
 * `status` for response magics. Byte sections are Buffers; decoded ones are subarrays of
 * the input (no copy), so a caller keeping a value long-term may want to copy it.
 */
import { ProtocolError } from './errors.js';
import { Magic, isAltMagic, isRequestMagic, isValidMagic, responseMagicFor } from './magic.js';
import { readBigU64BE, writeBigU64BE } from './u64.js';
import { getU16, getU32, putU16, putU32 } from './bytes.js';

export const HEADER_LENGTH = 24;

/** kv's default max item size is 20 MiB; 21 MiB leaves room for key, extras and xattrs. */
export const DEFAULT_MAX_BODY_LENGTH = 21 * 1024 * 1024;

export interface Packet {
  magic: number;
  opcode: number;
  datatype: number;
  vbucket: number;
  status: number;
  opaque: number;
  cas: bigint;
  framingExtras: Buffer;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
}

export interface PacketHeader {
  readonly magic: number;
  readonly opcode: number;
  readonly framingExtrasLength: number;
  readonly keyLength: number;
  readonly extrasLength: number;
  readonly datatype: number;
  readonly vbucket: number;
  readonly status: number;
  readonly bodyLength: number;
  readonly opaque: number;
  readonly cas: bigint;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decode and validate the header at `offset`. Checks the magic, that framing extras +
 * extras + key fit in the body, and that the body is within `maxBodyLength`.
 */
export function decodeHeader(buf: Buffer, offset = 0, maxBodyLength = DEFAULT_MAX_BODY_LENGTH): PacketHeader {
  if (buf.length - offset < HEADER_LENGTH) {
    throw new ProtocolError('SHORT_READ', `header needs ${HEADER_LENGTH} bytes, ${buf.length - offset} available`, {
      offset,
    });
  }
  const magic = buf[offset] as number;
  if (!isValidMagic(magic)) {
    throw new ProtocolError('BAD_MAGIC', `invalid magic 0x${magic.toString(16)}`, { magic, offset });
  }
  const opcode = buf[offset + 1] as number;
  const alt = isAltMagic(magic);
  const framingExtrasLength = alt ? (buf[offset + 2] as number) : 0;
  // Unchecked reads (codec/bytes.ts): the 24 bytes were checked to be there above.
  const keyLength = alt ? (buf[offset + 3] as number) : getU16(buf, offset + 2);
  const extrasLength = buf[offset + 4] as number;
  const datatype = buf[offset + 5] as number;
  const specific = getU16(buf, offset + 6);
  const bodyLength = getU32(buf, offset + 8);
  const opaque = getU32(buf, offset + 12);
  // Most requests carry CAS 0 (every plain GET): two word reads spare them any BigInt work.
  const cas = getU32(buf, offset + 16) === 0 && getU32(buf, offset + 20) === 0 ? 0n : readBigU64BE(buf, offset + 16);
  if (bodyLength > maxBodyLength) {
    throw new ProtocolError('BODY_TOO_LARGE', `body length ${bodyLength} exceeds cap ${maxBodyLength}`, {
      magic,
      opcode,
      opaque,
    });
  }
  if (framingExtrasLength + extrasLength + keyLength > bodyLength) {
    throw new ProtocolError(
      'BAD_LENGTH',
      `framing ${framingExtrasLength} + extras ${extrasLength} + key ${keyLength} exceed body ${bodyLength}`,
      { magic, opcode, opaque },
    );
  }
  const request = isRequestMagic(magic);
  return {
    magic,
    opcode,
    framingExtrasLength,
    keyLength,
    extrasLength,
    datatype,
    vbucket: request ? specific : 0,
    status: request ? 0 : specific,
    bodyLength,
    opaque,
    cas,
  };
}

/** Decode the body sections given a header that starts at `offset` (whole frame must be present). */
export function decodeBody(buf: Buffer, offset: number, h: PacketHeader): Packet {
  let pos = offset + HEADER_LENGTH;
  const end = pos + h.bodyLength;
  if (end > buf.length) {
    throw new ProtocolError('SHORT_READ', `frame needs ${end - offset} bytes, ${buf.length - offset} available`, {
      offset,
    });
  }
  // Straight-line views, no per-call closure: this runs once per frame on every connection.
  const framingExtras = h.framingExtrasLength === 0 ? EMPTY : buf.subarray(pos, (pos += h.framingExtrasLength));
  const extras = h.extrasLength === 0 ? EMPTY : buf.subarray(pos, (pos += h.extrasLength));
  const key = h.keyLength === 0 ? EMPTY : buf.subarray(pos, (pos += h.keyLength));
  const value = pos === end ? EMPTY : buf.subarray(pos, end);
  return {
    magic: h.magic,
    opcode: h.opcode,
    datatype: h.datatype,
    vbucket: h.vbucket,
    status: h.status,
    opaque: h.opaque,
    cas: h.cas,
    framingExtras,
    extras,
    key,
    value,
  };
}

/** Decode one complete frame at `offset` (convenience for tests and one-shot buffers). */
export function decodePacket(buf: Buffer, offset = 0, maxBodyLength = DEFAULT_MAX_BODY_LENGTH): Packet {
  return decodeBody(buf, offset, decodeHeader(buf, offset, maxBodyLength));
}

/** Bytes the packet occupies on the wire (what DCP flow control counts, dcp.md §3.6). */
export function packetSize(p: Pick<Packet, 'framingExtras' | 'extras' | 'key' | 'value'>): number {
  return HEADER_LENGTH + p.framingExtras.length + p.extras.length + p.key.length + p.value.length;
}

function checkInt(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new ProtocolError('VALUE_RANGE', `${what} out of range: ${v}`);
  }
}

/**
 * Write the 24-byte header at the start of `out` (layout above). Shared by `encodePacket` and the
 * single-allocation frame encoders of the hot paths (ops/get.ts, ops/mutation.ts, dcp/*.ts), which
 * size one buffer for the whole frame and fill the body in place. No range checks: callers pass
 * values that fit (encodePacket checks them; the frame encoders take them from decoded requests
 * and stored items; a CAS is written modulo 2^64, u64.ts).
 * `framingLength` must be 0 unless the magic is an alt magic (0x08/0x18).
 */
export function writeHeader(
  out: Buffer,
  magic: number,
  opcode: number,
  framingLength: number,
  keyLength: number,
  extrasLength: number,
  datatype: number,
  vbucketOrStatus: number,
  bodyLength: number,
  opaque: number,
  cas: bigint,
): void {
  writeHeaderFields(out, magic, opcode, framingLength, keyLength, extrasLength, datatype, vbucketOrStatus, bodyLength, opaque);
  writeBigU64BE(out, 16, cas);
}

/**
 * `writeHeader` without the CAS (bytes 16-23), for an encoder that copies the CAS from stored
 * bytes (ops/get.ts, dcp/mutation.ts `...From`). Byte stores rather than Buffer#writeUInt*BE,
 * whose argument checks were a measurable share of a pipelined GET (issue #16).
 */
export function writeHeaderFields(
  out: Buffer,
  magic: number,
  opcode: number,
  framingLength: number,
  keyLength: number,
  extrasLength: number,
  datatype: number,
  vbucketOrStatus: number,
  bodyLength: number,
  opaque: number,
): void {
  out[0] = magic;
  out[1] = opcode;
  // With no framing extras the alt layout (byte 2 = 0, byte 3 = key length <= 255) is the same
  // bytes as the 16-bit key length, so only the framing length picks the split.
  if (framingLength > 0) {
    out[2] = framingLength;
    out[3] = keyLength;
  } else {
    putU16(out, 2, keyLength);
  }
  out[4] = extrasLength;
  out[5] = datatype;
  putU16(out, 6, vbucketOrStatus);
  putU32(out, 8, bodyLength);
  putU32(out, 12, opaque);
}

/**
 * Encode a packet. If `framingExtras` is non-empty and the magic is a classic
 * client magic (0x80/0x81), the flexible-framing twin (0x08/0x18) is used, since
 * framing extras can only be expressed with those magics.
 */
export function encodePacket(p: Packet): Buffer {
  let magic = p.magic;
  if (!isValidMagic(magic)) throw new ProtocolError('BAD_MAGIC', `invalid magic 0x${magic.toString(16)}`, { magic });
  if (p.framingExtras.length > 0 && !isAltMagic(magic)) {
    if (magic === Magic.ClientRequest) magic = Magic.AltClientRequest;
    else if (magic === Magic.ClientResponse) magic = Magic.AltClientResponse;
    else throw new ProtocolError('BAD_LENGTH', `magic 0x${magic.toString(16)} cannot carry framing extras`, { magic });
  }
  const alt = isAltMagic(magic);
  checkInt(p.opcode, 0xff, 'opcode');
  checkInt(p.datatype, 0xff, 'datatype');
  checkInt(p.opaque, 0xffffffff, 'opaque');
  if (p.cas < 0n || p.cas >= 1n << 64n) throw new ProtocolError('VALUE_RANGE', `cas out of range: ${p.cas}`);
  const specific = isRequestMagic(magic) ? p.vbucket : p.status;
  checkInt(specific, 0xffff, isRequestMagic(magic) ? 'vbucket' : 'status');
  if (p.extras.length > 0xff) throw new ProtocolError('BAD_LENGTH', `extras length ${p.extras.length} > 255`);
  if (alt && p.framingExtras.length > 0xff) {
    throw new ProtocolError('BAD_LENGTH', `framing extras length ${p.framingExtras.length} > 255`);
  }
  const keyMax = alt ? 0xff : 0xffff;
  if (p.key.length > keyMax) throw new ProtocolError('BAD_LENGTH', `key length ${p.key.length} > ${keyMax}`);
  const bodyLength = p.framingExtras.length + p.extras.length + p.key.length + p.value.length;
  if (bodyLength > 0xffffffff) throw new ProtocolError('BAD_LENGTH', `body length ${bodyLength} > 2^32-1`);

  const out = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  writeHeader(out, magic, p.opcode, p.framingExtras.length, p.key.length, p.extras.length, p.datatype, specific, bodyLength, p.opaque, p.cas);
  let pos = HEADER_LENGTH;
  for (const section of [p.framingExtras, p.extras, p.key, p.value]) {
    out.set(section, pos);
    pos += section.length;
  }
  return out;
}

// --- builders -----------------------------------------------------------------

export type PacketInit = Partial<Omit<Packet, 'opcode'>>;

function build(magic: number, opcode: number, init: PacketInit): Packet {
  return {
    magic: init.magic ?? magic,
    opcode,
    datatype: init.datatype ?? 0,
    vbucket: init.vbucket ?? 0,
    status: init.status ?? 0,
    opaque: init.opaque ?? 0,
    cas: init.cas ?? 0n,
    framingExtras: init.framingExtras ?? EMPTY,
    extras: init.extras ?? EMPTY,
    key: init.key ?? EMPTY,
    value: init.value ?? EMPTY,
  };
}

/** A client request (magic 0x80) with zero/empty defaults. */
export function makeRequest(opcode: number, init: PacketInit = {}): Packet {
  return build(Magic.ClientRequest, opcode, init);
}

/** A response (magic 0x81) with zero/empty defaults. */
export function makeResponse(opcode: number, init: PacketInit = {}): Packet {
  return build(Magic.ClientResponse, opcode, init);
}

/** A response to `req`: same opcode and opaque, the matching response magic. */
export function replyTo(req: Pick<Packet, 'magic' | 'opcode' | 'opaque'>, init: PacketInit = {}): Packet {
  return build(responseMagicFor(req.magic), req.opcode, { opaque: req.opaque, ...init });
}

export { EMPTY as EMPTY_BUFFER };
