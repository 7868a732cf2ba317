/**
 * Fields shared by DCP messages.
 *
 * Every DCP stream message (marker, mutation, deletion, ...) is a *request* from the
 * producer (magic 0x80, or 0x08 when a stream-id frame is attached) whose opaque is the
 * opaque of the STREAM_REQ that opened the stream, and whose vbucket field names the
 * vbucket (kv docs/dcp/documentation/commands/stream-request.md; dcp.md §1.1, §2.4).
 * With control `enable_stream_id` each message also carries frame info id 2 = stream id.
 *
 * Number policy for every file under dcp/: seqnos, rev seqnos and vbucket UUIDs are JS
 * numbers. kv UUIDs are 48-bit and seqnos are int64 values that stay far below 2^53
 * (dcp.md §3.3), so numbers are exact; a decoded value >= 2^53 is a ProtocolError
 * (CODEC_VALUE_RANGE), never a rounded number. The one place the protocol uses the
 * all-ones u64 is the stream-request end seqno; see SEQNO_INFINITY in stream-req.ts.
 *
 * Frame encoders. Mutations, deletions, expirations and V1 snapshot markers are the per-item hot
 * path of a backfill, so besides the Packet encoders their files have `encode...Frame` functions
 * that write one message straight into one buffer, extras in place: no Packet, no separate extras,
 * key or value copies. What is constant for a stream (magic, stream-id frame info, opaque,
 * vbucket, collection-aware keys) is computed once into a `DcpFramePrefix`. Their bytes equal the
 * Packet encoders' (test/codec/frames.test.ts). They take stored values and do not range-check.
 */
import { encodeFrameInfos, decodeStreamId, streamIdFrame } from '../frame-info.js';
import { Magic } from '../magic.js';
import { HEADER_LENGTH, makeRequest, writeHeader } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import { Slab } from '../../common/slab.js';
import { copyRange, putU64 } from '../bytes.js';

export interface DcpStreamHeader {
  /** Opaque of the stream (the STREAM_REQ's opaque). */
  readonly opaque: number;
  readonly vbucket: number;
  /** Present when the connection enabled `enable_stream_id`. */
  readonly streamId?: number;
}

/** A producer->consumer DCP request with the stream header fields filled in. */
export function dcpStreamRequest(opcode: number, h: DcpStreamHeader, init: PacketInit): Packet {
  return makeRequest(opcode, {
    ...init,
    opaque: h.opaque,
    vbucket: h.vbucket,
    framingExtras: h.streamId === undefined ? Buffer.alloc(0) : encodeFrameInfos([streamIdFrame(h.streamId)]),
  });
}

export function readStreamHeader(p: Packet): DcpStreamHeader {
  const streamId = decodeStreamId(p.framingExtras);
  return streamId === undefined
    ? { opaque: p.opaque, vbucket: p.vbucket }
    : { opaque: p.opaque, vbucket: p.vbucket, streamId };
}

/** What every frame of one stream shares, computed once per stream (see the header comment). */
export interface DcpFramePrefix {
  readonly magic: number;
  /** The stream-id frame info (id 2), or empty. */
  readonly framingExtras: Buffer;
  /** Where the extras start in every frame: after the header and the framing extras. */
  readonly extrasAt: number;
  readonly opaque: number;
  readonly vbucket: number;
  /**
   * Collection-aware connection (HELLO Collections): keys carry the unsigned-LEB128 id of the
   * item's collection as a prefix (kv commands/mutation.md "Collections Enabled").
   */
  readonly collections: boolean;
}

const NO_FRAMING = Buffer.alloc(0);

export function dcpFramePrefix(h: DcpStreamHeader, collections: boolean): DcpFramePrefix {
  // A stream id travels as frame info id 2 on every message, with the alternative magic.
  const framingExtras = h.streamId === undefined ? NO_FRAMING : encodeFrameInfos([streamIdFrame(h.streamId)]);
  return {
    magic: h.streamId === undefined ? Magic.ClientRequest : Magic.AltClientRequest,
    framingExtras,
    extrasAt: HEADER_LENGTH + framingExtras.length,
    opaque: h.opaque,
    vbucket: h.vbucket,
    collections,
  };
}

/**
 * Where item frames get their bytes: slabs of their own (common/slab.ts), cut in send order. With
 * Node's shared 8 KiB pool a backfill made a new pool ArrayBuffer every ~47 mutation frames of 171
 * bytes, 7% of its event-loop time plus the GC work each ArrayBuffer costs (issue #16). An
 * item frame lives until the connection's socket writer coalesces it (kv/socket-writer.ts, within
 * a microtask) or the socket has written it (bounded by backpressure), so a slab is freed soon
 * after its last frame. Frames a stream may hold for long (a collection-aware stream's held-back
 * snapshot marker) are not cut from a slab: one would pin the whole slab.
 */
const frames = new Slab(256 * 1024, 4096);

/**
 * One buffer for a whole frame, with the header and framing extras written. The caller writes
 * `extrasLength` bytes of extras at `prefix.extrasAt`, then the key and the value. `held`: the
 * caller may keep the frame for long (see the slabs above), so it gets a buffer of its own.
 */
export function allocDcpFrame(prefix: DcpFramePrefix, opcode: number, extrasLength: number, keyLength: number, valueLength: number, datatype: number, cas: bigint, held = false): Buffer {
  const framing = prefix.framingExtras.length;
  const size = prefix.extrasAt + extrasLength + keyLength + valueLength;
  const out = held ? Buffer.allocUnsafe(size) : frames.alloc(size);
  writeHeader(out, prefix.magic, opcode, framing, keyLength, extrasLength, datatype, prefix.vbucket, framing + extrasLength + keyLength + valueLength, prefix.opaque, cas);
  if (framing > 0) prefix.framingExtras.copy(out, HEADER_LENGTH);
  return out;
}

/** Bytes of the unsigned LEB128 form of a u32 collection id (1 for ids below 0x80, at most 5). */
function leb128Length(id: number): number {
  if (id < 0x80) return 1;
  if (id < 0x4000) return 2;
  if (id < 0x20_0000) return 3;
  return id < 0x1000_0000 ? 4 : 5;
}

/**
 * Bytes a document key takes on the wire: the key, plus the LEB128 collection id when
 * collection-aware. Ids below 0x80 (the default collection and the first 120 named ones) take the
 * one-byte path.
 */
export function dcpKeyLength(prefix: DcpFramePrefix, key: Buffer, collection = 0): number {
  return dcpKeyLengthOf(prefix, key.length, collection);
}

/** `dcpKeyLength` of a key of `length` bytes. */
export function dcpKeyLengthOf(prefix: DcpFramePrefix, length: number, collection = 0): number {
  return prefix.collections ? length + leb128Length(collection) : length;
}

/** Write the key at `at`, its LEB128 collection id first when collection-aware; returns where the value starts. */
export function writeDcpKey(prefix: DcpFramePrefix, out: Buffer, at: number, key: Buffer, collection = 0): number {
  return writeDcpKeyFrom(prefix, out, at, key, 0, key.length, collection);
}

/** `writeDcpKey` of the key `src[start, end)`, held in a larger buffer. */
export function writeDcpKeyFrom(prefix: DcpFramePrefix, out: Buffer, at: number, src: Buffer, start: number, end: number, collection = 0): number {
  if (prefix.collections) {
    let v = collection;
    while (v >= 0x80) {
      out[at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    out[at++] = v;
  }
  return at + copyRange(src, start, end, out, at);
}

/** A u64 seqno at `at`: seqnos stay below 2^53 (number policy above), so split without BigInt. */
export function writeSeqno(out: Buffer, at: number, v: number): void {
  putU64(out, at, v);
}
