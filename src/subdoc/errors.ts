/**
 * The sub-document domain's errors. A `SubdocError` carries the memcached status kv_engine answers
 * for the failure (the names of codec/status.ts, kv include/mcbp/protocol/status.h): a path-level
 * one (PATH_ENOENT, VALUE_CANTINSERT, ...) becomes one spec's status in a multi-path reply, a
 * document-level one (KEY_ENOENT, EINVAL, ...) the status of the whole command.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';
import { Status, type StatusName } from '../codec/status.js';

export const SUBDOC_ERRORS = {
  STATUS: 'a sub-document command or path refused with a memcached status (`status`, `statusName`)',
  SPEC_FAILED: 'a multi-mutation stopped at a failing spec (`index`, and its SubdocError `error`)',
} as const;

registerErrorCodes('SUBDOC', 'src/subdoc/errors.ts', SUBDOC_ERRORS);

export class SubdocError extends FreshetError<'SUBDOC_STATUS'> {
  readonly status: number;

  constructor(
    readonly statusName: StatusName,
    message: string,
  ) {
    super(errorCode('SUBDOC', 'STATUS'), message);
    this.name = 'SubdocError';
    this.status = Status[statusName];
  }
}

export function isSubdocError(err: unknown): err is SubdocError {
  return err instanceof SubdocError;
}

/** The first failing spec of a mutation: nothing is written (docs "CMD_MULTI_MUTATION"). */
export class SpecFailure extends FreshetError<'SUBDOC_SPEC_FAILED'> {
  constructor(
    readonly index: number,
    readonly error: SubdocError,
  ) {
    super(errorCode('SUBDOC', 'SPEC_FAILED'), `spec ${index}: ${error.message}`);
    this.name = 'SpecFailure';
  }
}
