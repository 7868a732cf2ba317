/**
 * Engine errors: a table of stable codes that every protocol face maps to its own wire form.
 *
 * The KV server maps `status` to the memcached status (kv_engine include/mcbp/protocol/status.h),
 * the HTTP face maps `http` to a CouchDB `{error, reason}` reply. Behaviour reads the table; nothing
 * branches on message text. Codes are `ENGINE_<KIND>` (common/errors.ts); `kind` is the table key.
 */
import { isStorageError, type StorageError } from '../store/storage-fault.js';
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

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
  // SyncWrites (kv_engine docs/SyncWrites.md; issue #16).
  DURABILITY_INVALID_LEVEL: { status: 0xa0, http: 400, retriable: false, message: 'invalid durability level' },
  DURABILITY_IMPOSSIBLE: { status: 0xa1, http: 503, retriable: false, message: 'durability impossible' },
  SYNC_WRITE_IN_PROGRESS: { status: 0xa2, http: 409, retriable: true, message: 'a durable write of this key is in progress' },
  SYNC_WRITE_AMBIGUOUS: { status: 0xa3, http: 503, retriable: false, message: 'the durable write timed out: its outcome is unknown' },
  CLOSED: { status: 0x84, http: 503, retriable: true, message: 'engine is closed' },
  // A commit that failed for lack of space: kv_engine answers a failed flush with a temporary
  // failure (the client retries), CouchDB-style HTTP with 507 Insufficient Storage (RFC 4918).
  ENOSPC: { status: 0x86, http: 507, retriable: true, message: 'no space left on device' },
  // Any other failed commit (EIO, ...): an internal error, the writes were not stored.
  STORAGE: { status: 0x84, http: 500, retriable: false, message: 'storage write failed' },
  // Collections (kv_engine status.h): the context carries `manifestUid`, which KV returns as
  // {"manifest_uid":"<hex>"} so that the SDK refreshes its manifest (kv docs/Collections.md).
  UNKNOWN_COLLECTION: { status: 0x88, http: 404, retriable: false, message: 'unknown collection' },
  UNKNOWN_SCOPE: { status: 0x8c, http: 404, retriable: false, message: 'unknown scope' },
  SCOPE_EXISTS: { status: 0x02, http: 400, retriable: false, message: 'scope already exists' },
  COLLECTION_EXISTS: { status: 0x02, http: 400, retriable: false, message: 'collection already exists' },
  LIMIT: { status: 0x04, http: 400, retriable: false, message: 'limit reached' },
  // Document locks (locks.ts), kv_engine's engine_errc `locked`, `locked_tmpfail` and
  // `not_locked`. `status` is what a client that negotiated XERROR gets; the KV face answers the
  // others with kv's legacy statuses (kv/error-map.ts). HTTP: a locked document cannot be updated
  // now, CouchDB's 409 conflict.
  LOCKED: { status: 0x09, http: 409, retriable: true, message: 'document locked' },
  LOCKED_TMPFAIL: { status: 0x09, http: 409, retriable: true, message: 'document locked' },
  NOT_LOCKED: { status: 0x0e, http: 409, retriable: false, message: 'document not locked' },
  // kv_engine's engine_errc cas_value_invalid: a with-meta CAS too far ahead of this node's clock
  // (hlc_invalid_strategy "error"), refused so one write cannot poison every later CAS.
  CAS_INVALID: { status: 0x0f, http: 400, retriable: false, message: 'CAS value invalid' },
} as const;

registerErrorCodes(
  'ENGINE',
  'src/engine/errors.ts',
  Object.fromEntries(Object.entries(ENGINE_ERRORS).map(([kind, e]) => [kind, e.message])),
);

export type EngineErrorKind = keyof typeof ENGINE_ERRORS;
export type EngineErrorCode = `ENGINE_${EngineErrorKind}`;

export class EngineError extends FreshetError<EngineErrorCode> {
  readonly kind: EngineErrorKind;
  readonly status: number;
  readonly context: Record<string, unknown>;

  constructor(kind: EngineErrorKind, message?: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const entry = ENGINE_ERRORS[kind];
    super(errorCode('ENGINE', kind), message ?? entry.message, { retriable: entry.retriable, cause: options?.cause });
    this.name = 'EngineError';
    this.kind = kind;
    this.status = entry.status;
    this.context = context;
  }
}

/** A store-level commit failure as the engine error the faces answer with. */
export function storageEngineError(err: StorageError): EngineError {
  return new EngineError(err.full ? 'ENOSPC' : 'STORAGE', err.message, { errno: err.errno, committed: err.committed }, { cause: err });
}

/** A store write whose storage failure becomes the engine error the faces answer with. */
export async function engineWrite(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (err) {
    throw isStorageError(err) ? storageEngineError(err) : err;
  }
}

export function isEngineError(err: unknown, kind?: EngineErrorKind): err is EngineError {
  return err instanceof EngineError && (kind === undefined || err.kind === kind);
}

/** A thrown value with a storage fault (a failed LMDB commit) turned into its EngineError. */
export function asEngineFault(thrown: unknown): unknown {
  return isStorageError(thrown) ? storageEngineError(thrown) : thrown;
}

// The store's own errors, surfaced through the engine: nothing above the engine imports src/store.
export { StorageError, isStorageError, type StorageState } from '../store/storage-fault.js';
export { DataDirLockedError } from '../store/dir-lock.js';
