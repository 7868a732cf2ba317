/**
 * Small shared checks for per-opcode decoders: each decoder states the layout its opcode
 * requires and gets a ProtocolError (code CODEC_BAD_LAYOUT / CODEC_UNEXPECTED_OPCODE)
 * with the opcode in its context when a packet does not match.
 */
import { BufferWriter } from './buffer-writer.js';
import { ProtocolError } from './errors.js';
import { opcodeName } from './opcodes.js';
import type { Packet } from './packet.js';

export type Bytes = Buffer | string;

export function toBuffer(b: Bytes | undefined): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

export function expectOpcode(p: Packet, ...codes: readonly number[]): void {
  if (!codes.includes(p.opcode)) {
    throw new ProtocolError(
      'UNEXPECTED_OPCODE',
      `expected ${codes.map(opcodeName).join('|')}, got ${opcodeName(p.opcode)}`,
      { opcode: p.opcode, magic: p.magic },
    );
  }
}

function bad(p: Packet, msg: string): ProtocolError {
  return new ProtocolError('BAD_LAYOUT', `${opcodeName(p.opcode)}: ${msg}`, { opcode: p.opcode, magic: p.magic });
}

export function expectExtras(p: Packet, ...lengths: readonly number[]): void {
  if (!lengths.includes(p.extras.length)) {
    throw bad(p, `extras length ${p.extras.length}, expected ${lengths.join(' or ')}`);
  }
}

export function expectKey(p: Packet, required: boolean): void {
  if (required && p.key.length === 0) throw bad(p, 'key required');
  if (!required && p.key.length !== 0) throw bad(p, `key not allowed (length ${p.key.length})`);
}

export function expectNoValue(p: Packet): void {
  if (p.value.length !== 0) throw bad(p, `value not allowed (length ${p.value.length})`);
}

export function expectValueLength(p: Packet, ...lengths: readonly number[]): void {
  if (!lengths.includes(p.value.length)) throw bad(p, `value length ${p.value.length}, expected ${lengths.join(' or ')}`);
}

/** Value length must be a multiple of `unit` (lists of fixed-size records). */
export function expectValueMultiple(p: Packet, unit: number): void {
  if (p.value.length % unit !== 0) throw bad(p, `value length ${p.value.length} is not a multiple of ${unit}`);
}

export function layoutError(p: Packet, msg: string): ProtocolError {
  return bad(p, msg);
}

export function u32Buffer(v: number): Buffer {
  return new BufferWriter(4).u32(v).toBuffer();
}
