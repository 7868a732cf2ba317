/**
 * DCP_SET_VBUCKET_STATE 0x5b (producer -> consumer, takeover streams only).
 * Source: kv docs/dcp/documentation/commands/set-vbucket-state.md; dcp.md §2.4.
 *
 * Extras 1: state (VBUCKET_STATE_TABLE). No key. Value optional JSON (topology).
 * External consumers never see it (it needs a TakeOver stream).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { dcpStreamRequest, readStreamHeader } from './common.js';
import type { DcpStreamHeader } from './common.js';

export const VBUCKET_STATE_TABLE = [
  { code: 0x01, name: 'Active' },
  { code: 0x02, name: 'Replica' },
  { code: 0x03, name: 'Pending' },
  { code: 0x04, name: 'Dead' },
] as const;

export const VbucketState = Object.fromEntries(VBUCKET_STATE_TABLE.map((s) => [s.name, s.code])) as {
  readonly [K in (typeof VBUCKET_STATE_TABLE)[number]['name']]: Extract<(typeof VBUCKET_STATE_TABLE)[number], { name: K }>['code'];
};

export interface SetVbucketState extends DcpStreamHeader {
  readonly state: number;
  readonly value?: Buffer;
}

export function encodeSetVbucketState(m: SetVbucketState & { readonly value?: Bytes }, init: PacketInit = {}): Packet {
  return dcpStreamRequest(Opcode.DcpSetVbucketState, m, {
    ...init,
    extras: Buffer.from([m.state]),
    value: toBuffer(m.value),
  });
}

export function decodeSetVbucketState(p: Packet): SetVbucketState {
  expectOpcode(p, Opcode.DcpSetVbucketState);
  expectExtras(p, 1);
  expectKey(p, false);
  const header = readStreamHeader(p);
  return p.value.length > 0
    ? { ...header, state: p.extras[0] as number, value: p.value }
    : { ...header, state: p.extras[0] as number };
}
