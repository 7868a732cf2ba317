/**
 * GET_LOCKED 0x94 and UNLOCK_KEY 0x95: document locks (the SDKs' `getAndLock` and `unlock`).
 * Source: kv docs/BinaryProtocol.md "0x94 Get Locked" / "0x95 Unlock Key"; the layouts kv_engine
 * checks in daemon/mcbp_validators.cc (`get_locked_validator`, `unlock_validator`) and
 * get_locked_context.cc.
 *
 * GET_LOCKED request:  extras 0 or 4 = lock timeout in seconds (u32; absent or 0 = the server's
 *                      default, 15 s; above the maximum, 30 s, also the default); key; no value;
 *                      CAS 0.
 * GET_LOCKED response: like GET: extras 4 = item flags, value = document, datatype = the value's,
 *                      CAS in the header = the lock CAS (what UNLOCK_KEY and the unlocking
 *                      mutation must carry). Served with `encodeGetResponseFrame` (ops/get.ts).
 * UNLOCK_KEY request:  no extras; key; no value; CAS in the header = the lock CAS (required:
 *                      a CAS of 0 is an invalid request).
 * UNLOCK_KEY response: no extras, key or value.
 *
 * While a document is locked, GET answers with CAS 0xffffffffffffffff. Errors: LOCKED 0x09 (to a
 * client that negotiated XERROR) and NOT_LOCKED 0x0e (UNLOCK_KEY on an unlocked document).
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, layoutError, toBuffer, u32Buffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';
import type { GetResponse } from './get.js';

export interface GetLockedRequest {
  readonly key: Bytes;
  /** Lock timeout in seconds; undefined sends no extras (the server's default). */
  readonly lockTime?: number;
  readonly vbucket?: number;
}

export interface DecodedGetLockedRequest {
  readonly key: Buffer;
  /** 0 when the request carried no extras. */
  readonly lockTime: number;
  readonly vbucket: number;
}

export interface UnlockRequest {
  readonly key: Bytes;
  readonly cas: bigint;
  readonly vbucket?: number;
}

export interface DecodedUnlockRequest {
  readonly key: Buffer;
  readonly cas: bigint;
  readonly vbucket: number;
}

export function encodeGetLockedRequest(req: GetLockedRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.GetLocked, {
    vbucket: req.vbucket ?? 0,
    ...init,
    extras: req.lockTime === undefined ? Buffer.alloc(0) : u32Buffer(req.lockTime),
    key: toBuffer(req.key),
  });
}

export function decodeGetLockedRequest(p: Packet): DecodedGetLockedRequest {
  expectOpcode(p, Opcode.GetLocked);
  expectExtras(p, 0, 4);
  expectKey(p, true);
  expectNoValue(p);
  if (p.cas !== 0n) throw layoutError(p, 'CAS must be 0');
  return { key: p.key, lockTime: p.extras.length === 4 ? p.extras.readUInt32BE(0) : 0, vbucket: p.vbucket };
}

/** Decode a successful GET_LOCKED response (callers check `status` first). */
export function decodeGetLockedResponse(p: Packet): GetResponse {
  expectOpcode(p, Opcode.GetLocked);
  expectExtras(p, 4);
  return { flags: p.extras.readUInt32BE(0), value: p.value, datatype: p.datatype, cas: p.cas, key: p.key };
}

export function encodeUnlockRequest(req: UnlockRequest, init: PacketInit = {}): Packet {
  return makeRequest(Opcode.UnlockKey, { vbucket: req.vbucket ?? 0, ...init, key: toBuffer(req.key), cas: req.cas });
}

export function decodeUnlockRequest(p: Packet): DecodedUnlockRequest {
  expectOpcode(p, Opcode.UnlockKey);
  expectExtras(p, 0);
  expectKey(p, true);
  expectNoValue(p);
  if (p.cas === 0n) throw layoutError(p, 'the lock CAS is required');
  return { key: p.key, cas: p.cas, vbucket: p.vbucket };
}
