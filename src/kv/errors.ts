/**
 * The KV face's error table. Codes are `KV_<KIND>` (common/errors.ts).
 *
 * `KvReplyError` is a command refused with a memcached status the engine has no code for
 * (UnknownCollection, Einval for a misused opcode): replies.ts `replyForError` answers with its
 * `status`. It is the server's counterpart of the client's `KvStatusError` (client/conn-errors.ts),
 * which is a status *received*; the two had the same name before.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

export const KV_ERRORS = {
  REPLY_STATUS: 'a command refused with a memcached status the engine has no code for (`status`)',
  ERROR_MAP_INVALID: 'an error map that cannot be built (error-map.ts: bad revision or status table)',
} as const;

registerErrorCodes('KV', 'src/kv/errors.ts', KV_ERRORS);

/** A failure that maps straight to a memcached status (for cases the engine has no code for). */
export class KvReplyError extends FreshetError<'KV_REPLY_STATUS'> {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(errorCode('KV', 'REPLY_STATUS'), message);
    this.name = 'KvReplyError';
  }
}

/** GET_ERROR_MAP's map could not be built (error-map.ts). */
export class ErrorMapError extends FreshetError<'KV_ERROR_MAP_INVALID'> {
  constructor(message: string) {
    super(errorCode('KV', 'ERROR_MAP_INVALID'), message);
    this.name = 'ErrorMapError';
  }
}
