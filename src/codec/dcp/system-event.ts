/**
 * DCP_SYSTEM_EVENT 0x5f (producer -> consumer; collection-aware connections only).
 * Source: kv docs/dcp/documentation/commands/system_event.md,
 * engines/ep/src/collections/*.h (CreateEventDcpData, ...); dcp.md §2.4.
 *
 * Extras 13:
 *   0  8  by_seqno
 *   8  4  event id (SYSTEM_EVENT_TABLE)
 *  12  1  version: 0/1 = fixed structs below, 2 = FlatBuffers (control
 *         flatbuffers_system_events), not decoded here
 * Key and value depend on the event (all integers big-endian):
 *   BeginCollection  key = collection name; v0 value 16: manifest uid(8) scope id(4)
 *                    collection id(4); v1 value 20: v0 + max_ttl(4)
 *   EndCollection    no key; value 16: manifest uid(8) scope id(4) collection id(4)
 *   CreateScope      key = scope name; value 12: manifest uid(8) scope id(4)
 *   DropScope        no key; value 12: manifest uid(8) scope id(4)
 *   ModifyCollection FlatBuffers only
 *
 * Erratum (system_event.md): the example's field table labels bytes 57-60 "Collection-ID"
 * and 61-64 "Scope-ID", but the struct (and kv's CreateEventDcpData) put the scope id
 * first; our fixture writes scope 0 then collection 8, the example's intent.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectOpcode, layoutError } from '../layout.js';
import type { Packet, PacketInit } from '../packet.js';
import { dcpStreamRequest, readStreamHeader } from './common.js';
import type { DcpStreamHeader } from './common.js';

export const SYSTEM_EVENT_TABLE = [
  { code: 0, name: 'BeginCollection' }, // created or flushed
  { code: 1, name: 'EndCollection' }, // dropped
  { code: 3, name: 'CreateScope' },
  { code: 4, name: 'DropScope' },
  { code: 5, name: 'ModifyCollection' }, // FlatBuffers only
] as const;

export const SystemEventId = Object.fromEntries(SYSTEM_EVENT_TABLE.map((e) => [e.name, e.code])) as {
  readonly [K in (typeof SYSTEM_EVENT_TABLE)[number]['name']]: Extract<(typeof SYSTEM_EVENT_TABLE)[number], { name: K }>['code'];
};

export interface SystemEvent extends DcpStreamHeader {
  readonly bySeqno: number;
  readonly event: number;
  readonly version: number;
  readonly key: Buffer;
  readonly value: Buffer;
}

export type SystemEventData =
  | {
      readonly type: 'BeginCollection';
      readonly name: string;
      readonly manifestUid: number;
      readonly scopeId: number;
      readonly collectionId: number;
      readonly maxTtl?: number;
    }
  | { readonly type: 'EndCollection'; readonly manifestUid: number; readonly scopeId: number; readonly collectionId: number }
  | { readonly type: 'CreateScope'; readonly name: string; readonly manifestUid: number; readonly scopeId: number }
  | { readonly type: 'DropScope'; readonly manifestUid: number; readonly scopeId: number }
  /** FlatBuffers (version 2), ModifyCollection, or an event id this codec does not know. */
  | { readonly type: 'Opaque'; readonly event: number; readonly version: number };

export function encodeSystemEvent(e: SystemEvent, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(13).u64(e.bySeqno).u32(e.event).u8(e.version).toBuffer();
  return dcpStreamRequest(Opcode.DcpSystemEvent, e, { ...init, extras, key: e.key, value: e.value });
}

export function decodeSystemEvent(p: Packet): SystemEvent {
  expectOpcode(p, Opcode.DcpSystemEvent);
  expectExtras(p, 13);
  const r = new BufferReader(p.extras);
  return {
    ...readStreamHeader(p),
    bySeqno: r.u64Number('by_seqno'),
    event: r.u32(),
    version: r.u8(),
    key: p.key,
    value: p.value,
  };
}

/** Interpret the key/value of a version 0/1 event; `p` is used for error context. */
export function decodeSystemEventData(e: SystemEvent, p: Packet): SystemEventData {
  if (e.version > 1) return { type: 'Opaque', event: e.event, version: e.version };
  const r = new BufferReader(e.value);
  const need = (...lengths: number[]): void => {
    if (!lengths.includes(e.value.length)) {
      throw layoutError(p, `system event ${e.event} v${e.version}: value length ${e.value.length}, expected ${lengths.join('/')}`);
    }
  };
  switch (e.event) {
    case SystemEventId.BeginCollection: {
      need(e.version === 0 ? 16 : 20);
      const base = {
        type: 'BeginCollection' as const,
        name: e.key.toString('utf8'),
        manifestUid: r.u64Number('manifest uid'),
        scopeId: r.u32(),
        collectionId: r.u32(),
      };
      return e.version === 1 ? { ...base, maxTtl: r.u32() } : base;
    }
    case SystemEventId.EndCollection:
      need(16);
      return { type: 'EndCollection', manifestUid: r.u64Number('manifest uid'), scopeId: r.u32(), collectionId: r.u32() };
    case SystemEventId.CreateScope:
      need(12);
      return { type: 'CreateScope', name: e.key.toString('utf8'), manifestUid: r.u64Number('manifest uid'), scopeId: r.u32() };
    case SystemEventId.DropScope:
      need(12);
      return { type: 'DropScope', manifestUid: r.u64Number('manifest uid'), scopeId: r.u32() };
    default:
      return { type: 'Opaque', event: e.event, version: e.version };
  }
}

/** Build the version 0/1 value for the fixed-struct events (producer side). */
export function encodeSystemEventValue(d: Exclude<SystemEventData, { type: 'Opaque' }>): Buffer {
  const w = new BufferWriter(20).u64(d.manifestUid).u32(d.scopeId);
  if (d.type === 'BeginCollection' || d.type === 'EndCollection') w.u32(d.collectionId);
  if (d.type === 'BeginCollection' && d.maxTtl !== undefined) w.u32(d.maxTtl);
  return w.toBuffer();
}
