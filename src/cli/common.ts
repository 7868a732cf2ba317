/**
 * What every `freshet` subcommand shares: the `--log-level` option (validated by commander, so a
 * typo such as `verbose` is a usage error naming the valid levels instead of pino's internal
 * message), the one log format (pino JSON lines on stderr), and the list of environment
 * variables the help shows.
 */
import { Option } from 'commander';
import { pino, type Logger } from 'pino';
import { DURABILITY_LEVELS } from '../engine/types.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `--log-level <level>` with its choices and `FRESHET_LOG_LEVEL`. */
export function logLevelOption(defaultLevel: string): Option {
  return new Option('--log-level <level>', 'log level (logs are JSON lines on stderr)')
    .choices(LOG_LEVELS)
    .env('FRESHET_LOG_LEVEL')
    .default(defaultLevel);
}

/**
 * `--durability <level>`: a bucket's `durabilityMinLevel` (Couchbase's names; `none` is the
 * default everywhere, as in Couchbase). Used by `bucket create|edit` and by `serve` for the
 * `default` bucket it creates on first start.
 */
export function durabilityOption(description: string): Option {
  return new Option('--durability <level>', description).choices(DURABILITY_LEVELS);
}

/** The log of a command: pino JSON on stderr, like the server's. */
export function cliLogger(level: string): Logger {
  return pino({ level }, pino.destination(2));
}

/** Every environment variable a command reads (commander also shows `(env: ...)` per option). */
export const ENVIRONMENT_HELP = `
Environment:
  FRESHET_DATA       serve: data directory (--data)
  FRESHET_HOST       serve: address to listen on; bucket: server address (--host)
  FRESHET_USERNAME   administrator / user name (-u)
  FRESHET_PASSWORD   its password (-p)
  FRESHET_LOG_LEVEL  log level (--log-level): ${LOG_LEVELS.join(', ')}`;
