/**
 * Engine errors: a table of stable codes that every protocol face maps to its own wire form.
 *
 * The KV server maps `status` to the memcached status (kv_engine include/mcbp/protocol/status.h),
 * the HTTP face maps `http` to a CouchDB `{error, reason}` reply. Behaviour reads the table; nothing
 * branches on message text.
 */

export const ENGINE_ERRORS = {
  KEY_ENOENT: { status: 0x01, http: 404, retriable: false, message: 'key not found' },
  KEY_EEXISTS: { status: 0x02, http: 409, retriable: false, message: 'key exists or CAS mismatch' },
  E2BIG: { status: 0x03, http: 413, retriable: false, message: 'value too large' },
  EINVAL: { status: 0x04, http: 400, retriable: false, message: 'invalid arguments' },
  NOT_STORED: { status: 0x05, http: 404, retriable: false, message: 'not stored' },
  DELTA_BADVAL: { status: 0x06, http: 400, retriable: false, message: 'non-numeric value for counter' },
  NOT_MY_VBUCKET: { status: 0x07, http: 503, retriable: true, message: 'vbucket is not active here' },
  NO_BUCKET: { status: 0x08, http: 404, retriable: false, message: 'no such bucket' },
  ERANGE: { status: 0x22, http: 400, retriable: false, message: 'seqno range is invalid' },
  ENOMEM: { status: 0x82, http: 503, retriable: true, message: 'out of memory' },
  ETMPFAIL: { status: 0x86, http: 503, retriable: true, message: 'temporary failure' },
  CLOSED: { status: 0x84, http: 503, retriable: true, message: 'engine is closed' },
} as const;

export type EngineErrorCode = keyof typeof ENGINE_ERRORS;

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: EngineErrorCode, message?: string, context: Record<string, unknown> = {}) {
    const entry = ENGINE_ERRORS[code];
    super(message ?? entry.message);
    this.name = 'EngineError';
    this.code = code;
    this.status = entry.status;
    this.retriable = entry.retriable;
    this.context = context;
  }
}

export function isEngineError(err: unknown, code?: EngineErrorCode): err is EngineError {
  return err instanceof EngineError && (code === undefined || err.code === code);
}
