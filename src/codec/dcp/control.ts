/**
 * DCP_CONTROL 0x5e (consumer -> producer; always answered).
 * Source: kv docs/dcp/documentation/commands/control.md, engines/ep/src/dcp/dcp-types.h;
 * dcp.md §2.4.
 *
 * Request: no extras; key = control name; value = control value (ASCII).
 * Response: status only: Success, Einval (unknown key or bad value), NotSupported.
 *
 * Erratum (control.md, Appendix A): its example shows extras length 4, key length 0 and a
 * response opcode 0x51; DCP_CONTROL has no extras, the key is the control name, the value
 * its value, and the response opcode is 0x5e.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

/** Control keys a current producer accepts (dcp.md §2.4 table). */
export const DcpControlKey = {
  ConnectionBufferSize: 'connection_buffer_size',
  StreamBufferSize: 'stream_buffer_size',
  EnableNoop: 'enable_noop',
  SetNoopInterval: 'set_noop_interval',
  SetPriority: 'set_priority',
  ForceValueCompression: 'force_value_compression',
  SupportsCursorDropping: 'supports_cursor_dropping',
  SupportsCursorDroppingVulcan: 'supports_cursor_dropping_vulcan',
  SupportsHifiMfu: 'supports_hifi_MFU',
  SendStreamEndOnClientCloseStream: 'send_stream_end_on_client_close_stream',
  EnableExpiryOpcode: 'enable_expiry_opcode',
  EnableStreamId: 'enable_stream_id',
  EnableSyncWrites: 'enable_sync_writes',
  ConsumerName: 'consumer_name',
  EnableOutOfOrderSnapshots: 'enable_out_of_order_snapshots',
  IncludeDeletedUserXattrs: 'include_deleted_user_xattrs',
  V7DcpStatusCodes: 'v7_dcp_status_codes',
  FlatbuffersSystemEvents: 'flatbuffers_system_events',
  ChangeStreams: 'change_streams',
  MaxMarkerVersion: 'max_marker_version',
  BackfillOrder: 'backfill_order',
  CacheTransfer: 'cache_transfer',
} as const;

export interface DcpControlRequest {
  readonly key: string;
  readonly value: string;
}

export function encodeDcpControlRequest(req: DcpControlRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.DcpControl, {
    ...init,
    key: Buffer.from(req.key, 'utf8'),
    value: Buffer.from(req.value, 'utf8'),
  });
}

export function decodeDcpControlRequest(p: Packet): DcpControlRequest {
  expectOpcode(p, Opcode.DcpControl);
  expectExtras(p, 0);
  expectKey(p, true);
  return { key: p.key.toString('utf8'), value: p.value.toString('utf8') };
}
