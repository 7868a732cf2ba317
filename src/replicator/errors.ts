/**
 * Errors of the replicator and the changes follower, as a table (practice §11.4): every code says
 * whether a retry can help, and callers branch on `code`, never on messages.
 *
 * Retry rules follow couch-replication.md §1.5: connection errors, timeouts, 408 and any 5xx are
 * retried with backoff (couch_replicator_httpc.erl); 401/403/409/412 and other 4xx are not.
 */

export const REPLICATION_ERRORS = {
  REP_ERR_NETWORK: { retriable: true, message: 'network error' },
  REP_ERR_TIMEOUT: { retriable: true, message: 'request timed out' },
  REP_ERR_HTTP_RETRIABLE: { retriable: true, message: 'server answered with a retriable status' },
  REP_ERR_HTTP: { retriable: false, message: 'server answered with an error status' },
  REP_ERR_UNAUTHORIZED: { retriable: false, message: 'unauthorized' },
  REP_ERR_FORBIDDEN: { retriable: false, message: 'forbidden' },
  REP_ERR_DB_NOT_FOUND: { retriable: false, message: 'database not found' },
  REP_ERR_BAD_RESPONSE: { retriable: true, message: 'malformed response from peer' },
  REP_ERR_BAD_REQUEST: { retriable: false, message: 'invalid replication request' },
  REP_ERR_WRITE_FAILED: { retriable: false, message: 'document write failed' },
  REP_ERR_CHECKPOINT: { retriable: true, message: 'checkpoint commit failure' },
  REP_ERR_ABORTED: { retriable: false, message: 'aborted' },
  REP_ERR_RETRIES_EXHAUSTED: { retriable: false, message: 'retries exhausted' },
} as const;

export type ReplicationErrorCode = keyof typeof REPLICATION_ERRORS;

export interface ReplicationErrorContext {
  method?: string;
  /** The URL without credentials. */
  url?: string;
  status?: number;
  /** CouchDB `error` / `reason` of the response body, when it had them. */
  error?: string;
  reason?: string;
  attempts?: number;
  docId?: string;
}

export class ReplicationError extends Error {
  readonly code: ReplicationErrorCode;
  readonly retriable: boolean;
  readonly context: ReplicationErrorContext;

  constructor(code: ReplicationErrorCode, detail?: string, context: ReplicationErrorContext = {}, cause?: unknown) {
    const base = REPLICATION_ERRORS[code].message;
    super(detail ? `${base}: ${detail}` : base, cause === undefined ? undefined : { cause });
    this.name = 'ReplicationError';
    this.code = code;
    this.retriable = REPLICATION_ERRORS[code].retriable;
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
export function codeForStatus(status: number): ReplicationErrorCode {
  if (status === 408 || status === 429 || status >= 500) return 'REP_ERR_HTTP_RETRIABLE';
  if (status === 401) return 'REP_ERR_UNAUTHORIZED';
  if (status === 403) return 'REP_ERR_FORBIDDEN';
  return 'REP_ERR_HTTP';
}

/** The message of an unknown thrown value, for logs and `_scheduler/jobs` `info.error`. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
