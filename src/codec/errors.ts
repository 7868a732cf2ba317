/**
 * Typed errors raised by the codec.
 *
 * A ProtocolError means the bytes on the wire cannot be a valid memcached-binary
 * frame (bad magic, inconsistent lengths, body over the cap) or a message does not
 * have the layout its opcode requires (wrong extras length, short value). The codec
 * never recovers from one: the caller closes the connection (kv_engine does the same,
 * it disconnects clients that send malformed packets; docs/BinaryProtocol.md).
 *
 * `code` is stable and meant for branching; `message` may change.
 */

export const PROTOCOL_ERROR_CODES = [
  'CB_ERR_SHORT_READ', // a read ran past the end of the buffer
  'CB_ERR_BAD_MAGIC', // byte 0 is not a known magic
  'CB_ERR_BAD_LENGTH', // framing + extras + key exceed the total body, or a field too long to encode
  'CB_ERR_BODY_TOO_LARGE', // total body length above the configured cap
  'CB_ERR_BAD_LAYOUT', // extras/key/value lengths do not match what the opcode requires
  'CB_ERR_UNEXPECTED_OPCODE', // a decoder was handed a packet of another opcode
  'CB_ERR_VALUE_RANGE', // a number does not fit its wire field or its JS representation
  'CB_ERR_BAD_FRAME_INFO', // malformed flexible framing extras
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export interface ProtocolErrorContext {
  readonly opcode?: number;
  readonly magic?: number;
  readonly offset?: number;
  readonly [key: string]: unknown;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly context: ProtocolErrorContext;

  constructor(code: ProtocolErrorCode, message: string, context: ProtocolErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.context = context;
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
