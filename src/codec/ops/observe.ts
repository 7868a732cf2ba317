/**
 * OBSERVE 0x92: the persistence state of keys, the legacy way SDKs implement `persistTo` /
 * `replicateTo` (before SyncWrites). Source: kv_engine engines/ep/src/ep_engine.cc `observe`;
 * the key states are its `OBS_STATE_*` (include/memcached/protocol_binary.h).
 *
 * Request: no extras, no key; value = entries of
 *   0  2  vbucket id
 *   2  2  key length
 *   4  n  key (with the LEB128 collection prefix when the connection negotiated Collections)
 * Response value: entries of
 *   0  2  vbucket id
 *   2  2  key length
 *   4  n  key (as sent)
 *   n+4 1 key state (ObserveKeyState)
 *   n+5 8 CAS of the version observed (0 when not found)
 * The response header's CAS is persist-time (u32, ms, high half) | replicate-time (u32, low half):
 * kv_engine's estimate of how long persisting will take, a hint for the client's poll interval.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, layoutError, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

/** kv_engine OBS_STATE_*: found/not found × persisted or not. */
export const ObserveKeyState = {
  /** In memory, not yet on disk. */
  FoundNotPersisted: 0x00,
  /** In memory and on disk. */
  FoundPersisted: 0x01,
  /** No such key, or its deletion is on disk. */
  NotFound: 0x80,
  /** Deleted in memory, the deletion not yet on disk ("logically deleted"). */
  LogicallyDeleted: 0x81,
} as const;
export type ObserveKeyState = (typeof ObserveKeyState)[keyof typeof ObserveKeyState];

export interface ObserveKey {
  readonly vbucket: number;
  readonly key: Buffer;
}

export interface ObserveEntry extends ObserveKey {
  readonly state: number;
  readonly cas: bigint;
}

export interface ObserveResponse {
  readonly entries: readonly ObserveEntry[];
  /** Estimated ms until persisted (header CAS high half). */
  readonly persistTimeMs: number;
  /** Estimated ms until replicated (header CAS low half). */
  readonly replicateTimeMs: number;
}

export function encodeObserveRequest(keys: readonly { readonly vbucket: number; readonly key: Bytes }[], init: PacketInit = {}): Packet {
  const w = new BufferWriter();
  for (const k of keys) {
    const key = toBuffer(k.key);
    w.u16(k.vbucket).u16(key.length).bytes(key);
  }
  return makeRequest(Opcode.Observe, { ...init, value: w.toBuffer() });
}

export function decodeObserveRequest(p: Packet): ObserveKey[] {
  expectOpcode(p, Opcode.Observe);
  expectExtras(p, 0);
  expectKey(p, false);
  if (p.value.length === 0) throw layoutError(p, 'no keys to observe');
  const r = new BufferReader(p.value);
  const keys: ObserveKey[] = [];
  while (r.remaining > 0) {
    const vbucket = r.u16();
    const len = r.u16();
    if (len === 0) throw layoutError(p, 'empty key');
    keys.push({ vbucket, key: r.bytes(len) });
  }
  return keys;
}

export function encodeObserveResponse(res: ObserveResponse, init: PacketInit = {}): Packet {
  const w = new BufferWriter();
  for (const e of res.entries) w.u16(e.vbucket).u16(e.key.length).bytes(e.key).u8(e.state).u64(e.cas);
  const cas = (BigInt(res.persistTimeMs >>> 0) << 32n) | BigInt(res.replicateTimeMs >>> 0);
  return makeResponse(Opcode.Observe, { ...init, cas, value: w.toBuffer() });
}

export function decodeObserveResponse(p: Packet): ObserveResponse {
  expectOpcode(p, Opcode.Observe);
  const r = new BufferReader(p.value);
  const entries: ObserveEntry[] = [];
  while (r.remaining > 0) {
    const vbucket = r.u16();
    const key = r.bytes(r.u16());
    entries.push({ vbucket, key, state: r.u8(), cas: r.u64() });
  }
  return { entries, persistTimeMs: Number(p.cas >> 32n), replicateTimeMs: Number(p.cas & 0xffffffffn) };
}
