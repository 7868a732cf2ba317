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
 * (CB_ERR_VALUE_RANGE), never a rounded number. The one place the protocol uses the
 * all-ones u64 is the stream-request end seqno; see SEQNO_INFINITY in stream-req.ts.
 */
import { encodeFrameInfos, decodeStreamId, streamIdFrame } from '../frame-info.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

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
