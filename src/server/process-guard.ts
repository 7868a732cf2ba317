/**
 * The process-level guard of a serving process (`freshet serve`, or an application embedding
 * FreshetServer): a promise rejection nothing handled is logged at error level, with the reason
 * and its stack, and the process keeps serving, where Node would end it (and every client of
 * every bucket with it) by default.
 *
 * Deliberately not installed by `FreshetServer.start`: in tests (node's runner) and in libraries
 * an unhandled rejection is a bug that must fail loudly. Faults the server expects (a full disk,
 * a peer going away) are answered where they happen; this only keeps one missed case from
 * taking the process down. It counts what it caught so an operator can see it happened.
 */
import type { Logger } from '../common/logger.js';

export interface ProcessGuard {
  /** Unhandled rejections logged since installation. */
  readonly caught: number;
  /** Remove the guard (Node's default behaviour returns). */
  uninstall(): void;
}

export function installProcessGuard(logger: Logger): ProcessGuard {
  let caught = 0;
  const onRejection = (reason: unknown): void => {
    caught++;
    const err = reason instanceof Error ? reason : new Error(`non-error rejection: ${String(reason)}`);
    logger.error({ err, caught }, 'unhandled promise rejection (a bug: please report it); still serving');
  };
  process.on('unhandledRejection', onRejection);
  return {
    get caught() {
      return caught;
    },
    uninstall: () => {
      process.off('unhandledRejection', onRejection);
    },
  };
}
