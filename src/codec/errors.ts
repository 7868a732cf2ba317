/**
 * Typed errors raised by the codec.
 *
 * A ProtocolError means the bytes on the wire cannot be a valid memcached-binary
 * frame (bad magic, inconsistent lengths, body over the cap) or a message does not
 * have the layout its opcode requires (wrong extras length, short value). The codec
 * never recovers from one: the caller closes the connection (kv_engine does the same,
 * it disconnects clients that send malformed packets; docs/BinaryProtocol.md).
 *
 * `code` (`CODEC_<KIND>`) is stable and meant for branching; `message` may change.
 */

import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

/** The codec's table: kind -> description. Codes are `CODEC_<KIND>`. */
export const PROTOCOL_ERRORS = {
  SHORT_READ: 'a read ran past the end of the buffer',
  BAD_MAGIC: 'byte 0 is not a known magic',
  BAD_LENGTH: 'framing + extras + key exceed the total body, or a field too long to encode',
  BODY_TOO_LARGE: 'total body length above the configured cap',
  BAD_LAYOUT: 'extras/key/value lengths do not match what the opcode requires',
  UNEXPECTED_OPCODE: 'a decoder was handed a packet of another opcode',
  VALUE_RANGE: 'a number does not fit its wire field or its JS representation',
  BAD_FRAME_INFO: 'malformed flexible framing extras',
} as const;

/** Codec errors that are not framing errors (the xattr section of a value). */
const CODEC_OTHER_ERRORS = {
  XATTR_BLOB_INVALID: 'the xattr section of a value (datatype 0x04) is malformed',
  JSON_SYNTAX: 'text handed to the JSON tree (json-tree.ts) is not JSON',
  JSON_TOO_DEEP: 'JSON nested deeper than the JSON tree allows (json-tree.ts MAX_JSON_DEPTH)',
} as const;

registerErrorCodes('CODEC', 'src/codec/errors.ts', { ...PROTOCOL_ERRORS, ...CODEC_OTHER_ERRORS });

export type ProtocolErrorKind = keyof typeof PROTOCOL_ERRORS;
export type ProtocolErrorCode = `CODEC_${ProtocolErrorKind}`;
export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[] = Object.keys(PROTOCOL_ERRORS).map((k) =>
  errorCode('CODEC', k as ProtocolErrorKind),
);

export interface ProtocolErrorContext {
  readonly opcode?: number;
  readonly magic?: number;
  readonly offset?: number;
  readonly [key: string]: unknown;
}

export class ProtocolError extends FreshetError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError';
  readonly kind: ProtocolErrorKind;
  readonly context: ProtocolErrorContext;

  constructor(kind: ProtocolErrorKind, message: string, context: ProtocolErrorContext = {}, options?: ErrorOptions) {
    super(errorCode('CODEC', kind), message, { cause: options?.cause });
    this.kind = kind;
    this.context = context;
  }
}

/** A value's xattr section that cannot be split (codec/xattr.ts). */
export class XattrBlobError extends FreshetError<'CODEC_XATTR_BLOB_INVALID'> {
  override readonly name = 'XattrBlobError';
  constructor(message: string) {
    super(errorCode('CODEC', 'XATTR_BLOB_INVALID'), message);
  }
}

/** Text that is not JSON (json-tree.ts). */
export class JsonSyntaxError extends FreshetError<'CODEC_JSON_SYNTAX'> {
  override readonly name = 'JsonSyntaxError';
  constructor(message: string) {
    super(errorCode('CODEC', 'JSON_SYNTAX'), message);
  }
}

/** JSON nested too deep (json-tree.ts). */
export class JsonDepthError extends FreshetError<'CODEC_JSON_TOO_DEEP'> {
  override readonly name = 'JsonDepthError';
  constructor(message: string) {
    super(errorCode('CODEC', 'JSON_TOO_DEEP'), message);
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
