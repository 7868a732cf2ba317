/**
 * TAP (the change feed before DCP; removed from Couchbase in 5.0): TAP_CONNECT from the client,
 * the producer's stream messages, and DEREGISTER_TAP_CLIENT. Sources: kv_engine docs/TAP.md
 * (deleted in 8e73a910d), include/memcached/protocol_binary.h before 9c316ef83 and the daemon's
 * ship_tap_log (memcached.cc, before 2f628c1bc); shared/specs/tap-xdcr-collections.md §1.
 *
 * TAP_CONNECT 0x40 (client -> server request, magic 0x80; no response on success):
 *   extras  0 or 4: flags u32 (TapConnectFlag; no extras = 0)
 *   key     the connection name (a registered client's identity)
 *   value   each set flag's data, in bit order LSB -> MSB:
 *             BACKFILL       u64 "oldest entry" epoch seconds (0xFFFF...FF or a future date = future only)
 *             LIST_VBUCKETS  u16 count, count x u16 vbucket id
 *             CHECKPOINT     u16 count, count x (u16 vbucket, u64 last checkpoint id); optional
 *
 * Server -> client messages are requests (magic 0x80) whose opaque is the TAP seqno (an ack
 * echoes it). Every one starts its extras with the 8-byte TAP prefix:
 *   0 u16 engine-specific length   2 u16 tap flags (TapFlag)   4 u8 ttl (0xff)   5 3 bytes reserved
 * followed by:
 *   TAP_MUTATION 0x41, CHECKPOINT_START 0x46, CHECKPOINT_END 0x47: extlen 16 = prefix, item flags
 *     u32, item expiry u32; CAS in the header; engine-specific bytes, key, value (no value with
 *     TAP_FLAG_NO_VALUE). A checkpoint message carries key "checkpoint_start"/"checkpoint_end" and
 *     the checkpoint id as a u64 value (the daemon ships the checkpoint item in the mutation
 *     layout; docs/TAP.md shows extlen 8 with the id as value: the decoder accepts both).
 *   TAP_DELETE 0x42: extlen 8; engine-specific bytes, key, (value); CAS in the header.
 *   TAP_OPAQUE 0x44: extlen 8; 4 engine-specific bytes = command (TapOpaqueCommand), no key.
 *   TAP_VBUCKET_SET 0x45: extlen 8; 4 engine-specific bytes = vbucket state (1 active .. 4 dead).
 *   NOOP 0x0a: a plain NOOP request, extlen 0, no body (ship_tap_log's TAP_NOOP): an idle stream's
 *     keep-alive, which carries no data.
 * With keylen 0 a generic parser sees the engine-specific bytes of OPAQUE and VBUCKET_SET as the
 * value; for the other messages this codec sends no engine-specific bytes (length 0), so key and
 * value sit where a plain memcached parser (Python's tap.py) expects them.
 *
 * DEREGISTER_TAP_CLIENT 0x9e: request, key = the registered client's name; no extras or value.
 */
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { Magic } from '../magic.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, layoutError, toBuffer, type Bytes } from '../layout.js';
import { HEADER_LENGTH, makeRequest, writeHeader, type Packet } from '../packet.js';

/** TAP_CONNECT flags (protocol_binary.h TAP_CONNECT_FLAG_*). */
export const TapConnectFlag = {
  Backfill: 0x01,
  Dump: 0x02,
  ListVbuckets: 0x04,
  TakeoverVbuckets: 0x08,
  SupportAck: 0x10,
  RequestKeysOnly: 0x20,
  Checkpoint: 0x40,
  RegisteredClient: 0x80,
  FixFlagByteorder: 0x100,
} as const;

/** Flags in the TAP prefix of a stream message (TAP_FLAG_*). */
export const TapFlag = { Ack: 0x01, NoValue: 0x02, NetworkByteOrder: 0x04 } as const;

/** TAP_OPAQUE commands (TAP_OPAQUE_*), carried as the 4 engine-specific bytes. */
export const TapOpaqueCommand = {
  EnableAutoNack: 0,
  InitialVbucketStream: 1,
  EnableCheckpointSync: 2,
  OpenCheckpoint: 3,
  CompleteVbFilterChange: 4,
  CloseTapStream: 7,
  CloseBackfill: 8,
} as const;

/** BACKFILL date meaning "only changes from now on". */
export const TAP_BACKFILL_FUTURE_ONLY = 0xffff_ffff_ffff_ffffn;
/** The ttl byte a producer sends (hop count; ep-engine ships 0xff). */
export const TAP_DEFAULT_TTL = 0xff;
export const TAP_CHECKPOINT_START_KEY = 'checkpoint_start';
export const TAP_CHECKPOINT_END_KEY = 'checkpoint_end';

export interface TapConnectRequest {
  readonly name: string;
  readonly flags: number;
  /** BACKFILL's date, when the flag is set. */
  readonly backfill?: bigint;
  /** LIST_VBUCKETS' ids, when the flag is set (an empty list means all). */
  readonly vbuckets?: readonly number[];
  /** CHECKPOINT's (vbucket, last checkpoint id) pairs, when the flag is set. */
  readonly checkpoints?: ReadonlyArray<{ readonly vbucket: number; readonly checkpointId: bigint }>;
}

export function encodeTapConnectRequest(req: TapConnectRequest, opaque = 0): Packet {
  const w = new BufferWriter(32);
  if (req.flags & TapConnectFlag.Backfill) w.u64(req.backfill ?? 0n);
  if (req.flags & TapConnectFlag.ListVbuckets) {
    const vbs = req.vbuckets ?? [];
    w.u16(vbs.length);
    for (const vb of vbs) w.u16(vb);
  }
  if (req.flags & TapConnectFlag.Checkpoint) {
    const cps = req.checkpoints ?? [];
    w.u16(cps.length);
    for (const cp of cps) w.u16(cp.vbucket).u64(cp.checkpointId);
  }
  return makeRequest(Opcode.TapConnect, {
    opaque,
    key: Buffer.from(req.name, 'utf8'),
    extras: new BufferWriter(4).u32(req.flags).toBuffer(),
    value: w.toBuffer(),
  });
}

/** Decode TAP_CONNECT; a layout the flags do not account for is a ProtocolError (Einval). */
export function decodeTapConnectRequest(p: Packet): TapConnectRequest {
  expectOpcode(p, Opcode.TapConnect);
  expectExtras(p, 0, 4);
  const flags = p.extras.length === 4 ? p.extras.readUInt32BE(0) : 0;
  const v = p.value;
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > v.length) throw layoutError(p, `${what} needs ${n} bytes at offset ${pos}, value has ${v.length}`);
  };
  const out: { name: string; flags: number; backfill?: bigint; vbuckets?: number[]; checkpoints?: Array<{ vbucket: number; checkpointId: bigint }> } = {
    name: p.key.toString('utf8'),
    flags,
  };
  if (flags & TapConnectFlag.Backfill) {
    need(8, 'BACKFILL date');
    out.backfill = v.readBigUInt64BE(pos);
    pos += 8;
  }
  if (flags & TapConnectFlag.ListVbuckets) {
    need(2, 'LIST_VBUCKETS count');
    const n = v.readUInt16BE(pos);
    pos += 2;
    need(2 * n, `LIST_VBUCKETS ids (${n})`);
    out.vbuckets = [];
    for (let i = 0; i < n; i++, pos += 2) out.vbuckets.push(v.readUInt16BE(pos));
  }
  // CHECKPOINT's list is optional: ep-engine read it only when bytes remained ("pairs if present").
  if (flags & TapConnectFlag.Checkpoint && pos < v.length) {
    need(2, 'CHECKPOINT count');
    const n = v.readUInt16BE(pos);
    pos += 2;
    need(10 * n, `CHECKPOINT pairs (${n})`);
    out.checkpoints = [];
    for (let i = 0; i < n; i++, pos += 10) out.checkpoints.push({ vbucket: v.readUInt16BE(pos), checkpointId: v.readBigUInt64BE(pos + 2) });
  }
  if (pos !== v.length) throw layoutError(p, `${v.length - pos} bytes after the flag data`);
  return out;
}

/** What every stream message shares. */
export interface TapCommon {
  /** The TAP seqno (the header's opaque), what an ack echoes. */
  readonly seqno: number;
  readonly vbucket: number;
  /** TapFlag bits. */
  readonly tapFlags: number;
  readonly ttl?: number;
}

export interface TapItemMessage extends TapCommon {
  readonly key: Bytes;
  /** Omitted (and TapFlag.NoValue set by the caller) for a keys-only stream. */
  readonly value?: Bytes;
  readonly cas: bigint;
  readonly datatype?: number;
}

function frame(opcode: number, m: TapCommon, extrasLength: number, key: Buffer, value: Buffer, cas: bigint, datatype: number): { out: Buffer; at: number } {
  const body = extrasLength + key.length + value.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body);
  writeHeader(out, Magic.ClientRequest, opcode, 0, key.length, extrasLength, datatype, m.vbucket, body, m.seqno, cas);
  let at = HEADER_LENGTH;
  out.writeUInt16BE(0, at); // no engine-specific bytes in front of the key (OPAQUE/VBUCKET_SET set it below)
  out.writeUInt16BE(m.tapFlags, at + 2);
  out[at + 4] = m.ttl ?? TAP_DEFAULT_TTL;
  out[at + 5] = 0;
  out[at + 6] = 0;
  out[at + 7] = 0;
  at += 8;
  return { out, at };
}

function finish(out: Buffer, at: number, key: Buffer, value: Buffer): Buffer {
  key.copy(out, at);
  value.copy(out, at + key.length);
  return out;
}

/** TAP_MUTATION as a frame ready for the socket. */
export function encodeTapMutation(m: TapItemMessage & { readonly flags: number; readonly expiry: number }): Buffer {
  return itemFrame(Opcode.TapMutation, m, m.flags, m.expiry);
}

function itemFrame(opcode: number, m: TapItemMessage, flags: number, expiry: number): Buffer {
  const key = toBuffer(m.key);
  const value = toBuffer(m.value);
  const { out, at } = frame(opcode, m, 16, key, value, m.cas, m.datatype ?? 0);
  out.writeUInt32BE(flags >>> 0, at);
  out.writeUInt32BE(expiry >>> 0, at + 4);
  return finish(out, at + 8, key, value);
}

export function encodeTapDelete(m: TapItemMessage): Buffer {
  const key = toBuffer(m.key);
  const value = toBuffer(m.value);
  const { out, at } = frame(Opcode.TapDelete, m, 8, key, value, m.cas, m.datatype ?? 0);
  return finish(out, at, key, value);
}

/** TAP_OPAQUE or TAP_VBUCKET_SET: the prefix, then 4 engine-specific bytes. */
function engineSpecificFrame(opcode: number, m: TapCommon, word: number): Buffer {
  const es = Buffer.allocUnsafe(4);
  es.writeUInt32BE(word >>> 0, 0);
  const { out, at } = frame(opcode, m, 8, Buffer.alloc(0), es, 0n, 0);
  out.writeUInt16BE(4, HEADER_LENGTH); // engine-specific length
  return finish(out, at, Buffer.alloc(0), es);
}

export function encodeTapOpaque(m: TapCommon & { readonly command: number }): Buffer {
  return engineSpecificFrame(Opcode.TapOpaque, m, m.command);
}

export function encodeTapVbucketSet(m: TapCommon & { readonly state: number }): Buffer {
  return engineSpecificFrame(Opcode.TapVbucketSet, m, m.state);
}

/** CHECKPOINT_START / CHECKPOINT_END in the daemon's layout (mutation extras, id as u64 value). */
export function encodeTapCheckpoint(kind: 'start' | 'end', m: TapCommon & { readonly checkpointId: bigint; readonly cas?: bigint }): Buffer {
  const id = new BufferWriter(8).u64(m.checkpointId).toBuffer();
  const key = kind === 'start' ? TAP_CHECKPOINT_START_KEY : TAP_CHECKPOINT_END_KEY;
  return itemFrame(kind === 'start' ? Opcode.TapCheckpointStart : Opcode.TapCheckpointEnd, { ...m, key, value: id, cas: m.cas ?? 0n }, 0, 0);
}

export function encodeDeregisterTapClientRequest(name: string, opaque = 0): Packet {
  return makeRequest(Opcode.DeregisterTapClient, { opaque, key: Buffer.from(name, 'utf8') });
}

export function decodeDeregisterTapClientRequest(p: Packet): { readonly name: string } {
  expectOpcode(p, Opcode.DeregisterTapClient);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  return { name: p.key.toString('utf8') };
}

/** A decoded stream message (a consumer's view; the NOOP is the plain 0x0a request). */
export type TapMessage =
  | (TapCommon & { readonly type: 'mutation'; readonly key: Buffer; readonly value: Buffer; readonly cas: bigint; readonly flags: number; readonly expiry: number; readonly engineSpecific: Buffer })
  | (TapCommon & { readonly type: 'delete'; readonly key: Buffer; readonly value: Buffer; readonly cas: bigint; readonly engineSpecific: Buffer })
  | (TapCommon & { readonly type: 'opaque'; readonly command: number })
  | (TapCommon & { readonly type: 'vbucket-set'; readonly state: number })
  | (TapCommon & { readonly type: 'checkpoint-start' | 'checkpoint-end'; readonly checkpointId: bigint })
  | { readonly type: 'noop'; readonly seqno: number };

function prefix(p: Packet): TapCommon & { readonly esLength: number } {
  if (p.extras.length < 8) throw layoutError(p, `extras length ${p.extras.length}, a TAP message needs the 8-byte prefix`);
  return { seqno: p.opaque, vbucket: p.vbucket, esLength: p.extras.readUInt16BE(0), tapFlags: p.extras.readUInt16BE(2), ttl: p.extras[4]! };
}

/** Engine-specific bytes sit between extras and key: a generic parser counted them as key or value. */
function splitEngineSpecific(p: Packet, esLength: number): { es: Buffer; key: Buffer; value: Buffer } {
  const rest = Buffer.concat([p.key, p.value]);
  if (esLength + p.key.length > rest.length) throw layoutError(p, `engine-specific length ${esLength} exceeds the body`);
  return { es: rest.subarray(0, esLength), key: rest.subarray(esLength, esLength + p.key.length), value: rest.subarray(esLength + p.key.length) };
}

export function decodeTapMessage(p: Packet): TapMessage {
  if (p.opcode === Opcode.Noop) return { type: 'noop', seqno: p.opaque };
  const pre = prefix(p);
  const common: TapCommon = { seqno: pre.seqno, vbucket: pre.vbucket, tapFlags: pre.tapFlags, ttl: pre.ttl! };
  switch (p.opcode) {
    case Opcode.TapMutation: {
      expectExtras(p, 16);
      const { es, key, value } = splitEngineSpecific(p, pre.esLength);
      return { ...common, type: 'mutation', key, value, cas: p.cas, flags: p.extras.readUInt32BE(8), expiry: p.extras.readUInt32BE(12), engineSpecific: es };
    }
    case Opcode.TapDelete: {
      const { es, key, value } = splitEngineSpecific(p, pre.esLength);
      return { ...common, type: 'delete', key, value, cas: p.cas, engineSpecific: es };
    }
    case Opcode.TapOpaque:
    case Opcode.TapVbucketSet: {
      expectExtras(p, 8);
      if (p.value.length < 4) throw layoutError(p, 'needs 4 engine-specific bytes');
      const word = p.value.readUInt32BE(0);
      return p.opcode === Opcode.TapOpaque ? { ...common, type: 'opaque', command: word } : { ...common, type: 'vbucket-set', state: word };
    }
    case Opcode.TapCheckpointStart:
    case Opcode.TapCheckpointEnd: {
      expectExtras(p, 8, 16);
      const { value } = splitEngineSpecific(p, pre.esLength);
      if (value.length < 8) throw layoutError(p, 'checkpoint id needs 8 bytes');
      const type = p.opcode === Opcode.TapCheckpointStart ? 'checkpoint-start' : 'checkpoint-end';
      return { ...common, type, checkpointId: value.readBigUInt64BE(0) };
    }
    default:
      throw layoutError(p, 'not a TAP stream message');
  }
}
