/**
 * DCP_OPEN 0x50 (consumer -> producer; answered).
 * Source: kv docs/dcp/documentation/commands/open-connection.md; dcp.md §2.4.
 *
 * Request extras 8:
 *   0  4  reserved (historically a seqno; ignored, send 0)
 *   4  4  flags (OPEN_FLAG_TABLE)
 * key = connection name (<= 200 bytes, printable ASCII); value = optional JSON
 * {"consumer_name": ...} (consumer connections only).
 * Response: status only. Reusing a name makes the server drop the older connection.
 *
 * Collections is not an open flag on current servers (0x10 is unused): it is HELLO
 * feature 0x12.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export const OPEN_FLAG_TABLE = [
  { bit: 0x01, name: 'Producer' }, // set: open a producer (the sender is the consumer)
  { bit: 0x02, name: 'Invalid' }, // was Notifier; must be clear
  { bit: 0x04, name: 'IncludeXattrs' },
  { bit: 0x08, name: 'NoValue' },
  { bit: 0x10, name: 'Unused' }, // was Collections
  { bit: 0x20, name: 'IncludeDeleteTimes' }, // deletions use the V2 21-byte extras
  { bit: 0x40, name: 'NoValueWithUnderlyingDatatype' },
  { bit: 0x80, name: 'PiTR' }, // removed
  { bit: 0x100, name: 'IncludeDeletedUserXattrs' },
  { bit: 0x200, name: 'SkipDeletesInInitialBackfill' },
] as const;

export const DcpOpenFlag = Object.fromEntries(OPEN_FLAG_TABLE.map((f) => [f.name, f.bit])) as {
  readonly [K in (typeof OPEN_FLAG_TABLE)[number]['name']]: Extract<(typeof OPEN_FLAG_TABLE)[number], { name: K }>['bit'];
};

export interface DcpOpenRequest {
  readonly name: string;
  readonly flags: number;
  /** Optional JSON value, e.g. {"consumer_name": "..."}. */
  readonly value?: Bytes;
}

export function encodeDcpOpenRequest(req: DcpOpenRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.DcpOpen, {
    ...init,
    extras: new BufferWriter(8).u32(0).u32(req.flags).toBuffer(),
    key: Buffer.from(req.name, 'utf8'),
    value: toBuffer(req.value),
  });
}

export function decodeDcpOpenRequest(p: Packet): { readonly name: string; readonly flags: number; readonly value: Buffer } {
  expectOpcode(p, Opcode.DcpOpen);
  expectExtras(p, 8);
  expectKey(p, true);
  const r = new BufferReader(p.extras);
  r.skip(4); // reserved
  return { name: p.key.toString('utf8'), flags: r.u32(), value: p.value };
}

/** Flag names set in `flags`, for logs. */
export function dcpOpenFlagNames(flags: number): string[] {
  return OPEN_FLAG_TABLE.filter((f) => (flags & f.bit) !== 0).map((f) => f.name);
}
