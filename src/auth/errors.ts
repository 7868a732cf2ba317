/**
 * Authentication errors: one table of stable codes, read by both protocol faces.
 *
 * `status` is the memcached status the KV server answers with (kv_engine
 * include/mcbp/protocol/status.h); `http` is the HTTP status for the REST / CouchDB faces.
 * The mapping of SASL outcomes follows kv_engine daemon/protocol/mcbp/sasl_auth_command_context.cc:
 * cbsasl `BAD_PARAM` (a malformed SASL payload) is answered with `Einval` (0x04); `NO_USER`,
 * `PASSWORD_ERROR` and `NO_MECH` all become `AuthError` (0x20), so a client cannot tell an unknown
 * user from a wrong password. Codes are `AUTH_<KIND>` (common/errors.ts); `kind` is the table key.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

export const AUTH_ERRORS = {
  SASL_BAD_PARAM: { status: 0x04, http: 400, message: 'malformed SASL message' },
  SASL_BAD_STATE: { status: 0x04, http: 400, message: 'SASL message out of sequence' },
  SASL_NO_MECH: { status: 0x20, http: 401, message: 'unsupported SASL mechanism' },
  SASL_AUTH_FAILED: { status: 0x20, http: 401, message: 'authentication failed' },
  SCRAM_SERVER_INVALID: { status: 0x20, http: 401, message: 'server sent an invalid SCRAM message' },
  SCRAM_SERVER_SIGNATURE: { status: 0x20, http: 401, message: 'server signature does not verify' },
  BASIC_MALFORMED: { status: 0x04, http: 400, message: 'malformed Basic authorization header' },
  USER_INVALID: { status: 0x04, http: 400, message: 'invalid user definition' },
  USER_STORE_CORRUPT: { status: 0x84, http: 500, message: 'stored user records are malformed' },
} as const;

registerErrorCodes(
  'AUTH',
  'src/auth/errors.ts',
  Object.fromEntries(Object.entries(AUTH_ERRORS).map(([kind, e]) => [kind, e.message])),
);

export type AuthErrorKind = keyof typeof AUTH_ERRORS;
export type AuthErrorCode = `AUTH_${AuthErrorKind}`;

export class AuthError extends FreshetError<AuthErrorCode> {
  readonly kind: AuthErrorKind;
  readonly status: number;
  readonly http: number;
  readonly context: Record<string, unknown>;

  constructor(kind: AuthErrorKind, message?: string, context: Record<string, unknown> = {}) {
    const entry = AUTH_ERRORS[kind];
    super(errorCode('AUTH', kind), message ?? entry.message);
    this.name = 'AuthError';
    this.kind = kind;
    this.status = entry.status;
    this.http = entry.http;
    this.context = context;
  }
}

export function isAuthError(err: unknown, kind?: AuthErrorKind): err is AuthError {
  return err instanceof AuthError && (kind === undefined || err.kind === kind);
}
