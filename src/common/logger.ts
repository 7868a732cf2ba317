/**
 * The logger contract every Freshet module writes to: the subset of pino's `Logger` that the
 * tree calls (the six levels, each `(fields, msg?)` or `(msg)`, and `child(bindings)`), so any
 * pino logger fits as is, and so does any hand-made object with these methods.
 *
 * Why a contract of our own rather than pino's type: the library entry points (`freshet`,
 * `freshet/consumer`, `freshet/replicator`) must not load pino just to be quiet. Their default is
 * `SILENT_LOGGER` below; only the CLI (src/cli) creates pino loggers. test/common/logger.test.ts
 * checks that importing the entry points resolves no `pino` module.
 */

/** One level's method: pino's `logger.info({ fields }, 'msg')` and `logger.info('msg')` shapes. */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** What Freshet logs through; a pino `Logger` is one. */
export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  /** A logger that adds `bindings` to every line (pino's `child`). */
  child(bindings: Record<string, unknown>): Logger;
}

const drop: LogFn = () => {};

/** Writes nothing: the default of every library entry point. */
export const SILENT_LOGGER: Logger = {
  fatal: drop,
  error: drop,
  warn: drop,
  info: drop,
  debug: drop,
  trace: drop,
  child: () => SILENT_LOGGER,
};
