/**
 * Any error the CouchDB layer meets, as the CouchDB error to report: engine errors (storage
 * faults included) phrased as CouchDB would phrase the equivalent situation. The HTTP face sends
 * it (response.ts); the replicator's local peer reports it per document, as a remote CouchDB
 * would.
 */
import { CouchError, isCouchError } from '../couch/errors.js';
import { asEngineFault, isEngineError, type EngineError, type EngineErrorKind } from '../engine/errors.js';
import { isAuthError } from '../auth/errors.js';

/** Engine errors as CouchDB would phrase the equivalent situation. */
const ENGINE_TO_COUCH: Partial<Record<EngineErrorKind, (err: EngineError) => CouchError>> = {
  KEY_ENOENT: () => new CouchError('not_found'),
  KEY_EEXISTS: () => new CouchError('conflict'),
  // A document locked over KV (GET_LOCKED) cannot be written now: CouchDB has no locks, and its
  // answer to a write that cannot be applied to the current revision is 409 conflict.
  LOCKED: () => new CouchError('conflict'),
  LOCKED_TMPFAIL: () => new CouchError('conflict'),
  NO_BUCKET: () => new CouchError('db_not_found'),
  // The keyspace's collection was dropped while a request was using it.
  UNKNOWN_COLLECTION: () => new CouchError('not_found_detail', { params: { detail: 'keyspace not found: its collection was dropped' } }),
  UNKNOWN_SCOPE: () => new CouchError('not_found_detail', { params: { detail: 'keyspace not found: its scope was dropped' } }),
  E2BIG: () => new CouchError('too_large'),
  ENOSPC: (err) => new CouchError('insufficient_storage', { params: { detail: err.message }, cause: err }),
};

/** Any thrown value as the CouchDB error to send. */
export function toCouchError(thrown: unknown): CouchError {
  const err = asEngineFault(thrown);
  if (isCouchError(err)) return err;
  if (isEngineError(err)) {
    const mapped = ENGINE_TO_COUCH[err.kind];
    if (mapped) return mapped(err);
    if (err.kind === 'EINVAL') return new CouchError('bad_request', { reason: err.message });
    return new CouchError('internal', { params: { detail: err.message }, cause: err });
  }
  if (isAuthError(err)) return new CouchError('unauthorized');
  const message = err instanceof Error ? err.message : String(err);
  return new CouchError('internal', { params: { detail: message }, cause: err });
}
