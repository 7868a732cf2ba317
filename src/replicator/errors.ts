/**
 * Errors of the replicator and the changes follower, as a table (practice §11.4): every code says
 * whether a retry can help, and callers branch on `kind` (or the prefixed `code`), never on messages.
 *
 * Retry rules follow couch-replication.md §1.5: connection errors, timeouts, 408 and any 5xx are
 * retried with backoff (couch_replicator_httpc.erl); 401/403/409/412 and other 4xx are not.
 */

import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

/** Codes are `REPLICATOR_<KIND>` (common/errors.ts). */
export const REPLICATION_ERRORS = {
  NETWORK: { retriable: true, message: 'network error' },
  TIMEOUT: { retriable: true, message: 'request timed out' },
  HTTP_RETRIABLE: { retriable: true, message: 'server answered with a retriable status' },
  HTTP: { retriable: false, message: 'server answered with an error status' },
  UNAUTHORIZED: { retriable: false, message: 'unauthorized' },
  FORBIDDEN: { retriable: false, message: 'forbidden' },
  DB_NOT_FOUND: { retriable: false, message: 'database not found' },
  BAD_RESPONSE: { retriable: true, message: 'malformed response from peer' },
  BAD_REQUEST: { retriable: false, message: 'invalid replication request' },
  WRITE_FAILED: { retriable: false, message: 'document write failed' },
  CHECKPOINT: { retriable: true, message: 'checkpoint commit failure' },
  BODY_TOO_LARGE: { retriable: false, message: 'response body too large' },
  ABORTED: { retriable: false, message: 'aborted' },
  RETRIES_EXHAUSTED: { retriable: false, message: 'retries exhausted' },
} as const;

registerErrorCodes(
  'REPLICATOR',
  'src/replicator/errors.ts',
  Object.fromEntries(Object.entries(REPLICATION_ERRORS).map(([kind, e]) => [kind, e.message])),
);

export type ReplicationErrorKind = keyof typeof REPLICATION_ERRORS;
export type ReplicationErrorCode = `REPLICATOR_${ReplicationErrorKind}`;

export interface ReplicationErrorContext {
  method?: string;
  /** The URL without credentials. */
  url?: string;
  status?: number;
  /** CouchDB `error` / `reason` of the response body, when it had them. */
  error?: string;
  reason?: string;
  /** A `reason` that is no string (the object a validate_doc_update threw), as the body had it. */
  reasonValue?: unknown;
  attempts?: number;
  docId?: string;
  /** BODY_TOO_LARGE: the cap that was exceeded. */
  maxBytes?: number;
}

export class ReplicationError extends FreshetError<ReplicationErrorCode> {
  readonly kind: ReplicationErrorKind;
  readonly context: ReplicationErrorContext;

  constructor(kind: ReplicationErrorKind, detail?: string, context: ReplicationErrorContext = {}, cause?: unknown) {
    const entry = REPLICATION_ERRORS[kind];
    super(errorCode('REPLICATOR', kind), detail ? `${entry.message}: ${detail}` : entry.message, { retriable: entry.retriable, cause });
    this.name = 'ReplicationError';
    this.kind = kind;
    this.context = context;
  }

  get status(): number | undefined {
    return this.context.status;
  }
}

export function isReplicationError(value: unknown): value is ReplicationError {
  return value instanceof ReplicationError;
}

/**
 * What an HTTP status means for a replicator (couch_replicator_httpc.erl): 408, 429 and any 5xx
 * are worth another try, 401/403 are permission problems, 404 on a database means it is missing.
 */
export function codeForStatus(status: number): ReplicationErrorKind {
  if (status === 408 || status === 429 || status >= 500) return 'HTTP_RETRIABLE';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  return 'HTTP';
}

/** The message of an unknown thrown value, for logs and `_scheduler/jobs` `info.error`. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
