/**
 * DCP_CLOSE_STREAM 0x52 (consumer -> producer; answered).
 * Source: kv docs/dcp/documentation/commands/close-stream.md; dcp.md §2.4.
 *
 * Request: vbucket in the header; no extras, key or value; stream-id frame (id 2) when
 * the connection enabled `enable_stream_id`. The opaque is the request's own.
 * Response: Success, or KeyEnoent if no such stream, DcpStreamIdInvalid for a bad sid.
 * A STREAM_END(Closed) follows only if `send_stream_end_on_client_close_stream` was set.
 */
import { encodeFrameInfos, decodeStreamId, streamIdFrame } from '../frame-info.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface CloseStreamRequest {
  readonly vbucket: number;
  readonly streamId?: number;
}

export function encodeCloseStreamRequest(req: CloseStreamRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.DcpCloseStream, {
    ...init,
    vbucket: req.vbucket,
    framingExtras: req.streamId === undefined ? Buffer.alloc(0) : encodeFrameInfos([streamIdFrame(req.streamId)]),
  });
}

export function decodeCloseStreamRequest(p: Packet): CloseStreamRequest {
  expectOpcode(p, Opcode.DcpCloseStream);
  expectExtras(p, 0);
  expectKey(p, false);
  expectNoValue(p);
  const streamId = decodeStreamId(p.framingExtras);
  return streamId === undefined ? { vbucket: p.vbucket } : { vbucket: p.vbucket, streamId };
}
