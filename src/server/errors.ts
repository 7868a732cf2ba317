/**
 * The server assembly's own errors (src/server): configuration that keeps a server from starting.
 * Codes follow the one scheme of src/common/errors.ts (`SERVER_KIND`).
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

export const SERVER_ERRORS = {
  TLS_CONFIG_INVALID: 'TLS options that cannot serve: unreadable or mismatched certificate and key, or a CA file that is not PEM',
} as const;

registerErrorCodes('SERVER', 'src/server/errors.ts', SERVER_ERRORS);

/** `ServerOptions.tls` (or the `--tls*` flags) that cannot be served; the server does not start. */
export class TlsConfigError extends FreshetError<'SERVER_TLS_CONFIG_INVALID'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super(errorCode('SERVER', 'TLS_CONFIG_INVALID'), message, options?.cause === undefined ? {} : { cause: options.cause });
  }
}
