/**
 * SASL_LIST_MECHS 0x20, SASL_AUTH 0x21, SASL_STEP 0x22.
 * Source: kv docs/sasl.md; dcp.md §2.2; couchbase-sdk-bootstrap.md §3.2.
 *
 * LIST_MECHS: empty request; response value = space-separated mechanism names.
 * AUTH/STEP request: no extras; key = mechanism name; value = client message.
 * AUTH/STEP response: value = server message. Status AuthContinue 0x21 asks for another
 * SASL_STEP, Success completes, AuthError 0x20 fails.
 * PLAIN's client message is authzid NUL user NUL password, authzid empty.
 */
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export type SaslOpcode = typeof Opcode.SaslAuth | typeof Opcode.SaslStep;

export function encodeListMechsRequest(init: PacketInit = {}): Packet {
  return makeRequest(Opcode.SaslListMechs, init);
}

export function encodeListMechsResponse(mechanisms: readonly string[], init: PacketInit = {}): Packet {
  return makeResponse(Opcode.SaslListMechs, { ...init, value: Buffer.from(mechanisms.join(' '), 'utf8') });
}

export function decodeListMechsResponse(p: Packet): { readonly mechanisms: string[] } {
  expectOpcode(p, Opcode.SaslListMechs);
  const text = p.value.toString('utf8').trim();
  return { mechanisms: text === '' ? [] : text.split(/\s+/) };
}

export interface SaslRequest {
  readonly opcode?: SaslOpcode;
  readonly mechanism: string;
  readonly payload: Bytes;
}

export function encodeSaslRequest(req: SaslRequest, init: PacketInit = {}): Packet {
  return makeRequest(req.opcode ?? Opcode.SaslAuth, {
    ...init,
    key: Buffer.from(req.mechanism, 'utf8'),
    value: toBuffer(req.payload),
  });
}

export function decodeSaslRequest(p: Packet): { readonly opcode: number; readonly mechanism: string; readonly payload: Buffer } {
  expectOpcode(p, Opcode.SaslAuth, Opcode.SaslStep);
  expectExtras(p, 0);
  expectKey(p, true);
  return { opcode: p.opcode, mechanism: p.key.toString('utf8'), payload: p.value };
}

export function encodeSaslResponse(opcode: SaslOpcode, payload: Bytes, init: PacketInit = {}): Packet {
  return makeResponse(opcode, { ...init, value: toBuffer(payload) });
}

export function decodeSaslResponse(p: Packet): { readonly payload: Buffer } {
  expectOpcode(p, Opcode.SaslAuth, Opcode.SaslStep);
  return { payload: p.value };
}

/** PLAIN client message: "\0user\0password" (RFC 4616, empty authzid). */
export function plainPayload(user: string, password: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(user, 'utf8'), Buffer.from([0]), Buffer.from(password, 'utf8')]);
}

/** Inverse of plainPayload; undefined if the message is not authzid NUL user NUL pass. */
export function parsePlainPayload(
  payload: Buffer,
): { readonly authzid: string; readonly user: string; readonly password: string } | undefined {
  const first = payload.indexOf(0);
  if (first < 0) return undefined;
  const second = payload.indexOf(0, first + 1);
  if (second < 0) return undefined;
  return {
    authzid: payload.subarray(0, first).toString('utf8'),
    user: payload.subarray(first + 1, second).toString('utf8'),
    password: payload.subarray(second + 1).toString('utf8'),
  };
}
