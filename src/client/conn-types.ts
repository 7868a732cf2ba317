/**
 * Option, event and counter types of KvConnection (connection.ts), kept apart so the
 * connection file holds behaviour only.
 */
import type { Packet } from '../codec/index.js';
import type { KvConnection } from './connection.js';

/** Where request timers come from (tests pass a fake); not engine/clock.ts's wall-time `Clock`. */
export interface TimerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimerClock: TimerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface KvConnectionOptions {
  /** Default per-request timeout in ms (0 = none). Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Max requests awaiting a response. Default 1024. */
  readonly maxInFlight?: number;
  /** Max requests waiting for an in-flight slot. Default 4096. */
  readonly maxQueued?: number;
  /**
   * Largest accepted frame body. Default 30 MiB (`CLIENT_MAX_BODY_LENGTH`): a server may send a
   * 20 MiB value with up to 1 MiB of system xattrs beside it (kv_engine's allowance), plus its key
   * and extras, which is more than the 21 MiB a server accepts in one request.
   */
  readonly maxBodyLength?: number;
  /** Receives server-initiated requests instead of the serverRequests() iterator. */
  readonly onServerRequest?: (p: Packet, conn: KvConnection) => void;
  /** Bytes of undelivered server requests before socket reads pause. Default 8 MiB. */
  readonly serverRequestHighWaterMark?: number;
  readonly clock?: TimerClock;
}

export type ConnectionState = 'open' | 'closed';

export type ConnectionStatusEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'closed'; readonly error?: Error }
  | { readonly type: 'error'; readonly error: Error }
  | { readonly type: 'unmatched-response'; readonly packet: Packet }
  | { readonly type: 'server-request-dropped'; readonly packet: Packet };

/** Monotonic counters (practice 14). */
export interface KvConnectionStats {
  requestsSent: number;
  responses: number;
  unmatchedResponses: number;
  timeouts: number;
  serverRequests: number;
  serverRequestsDropped: number;
  bytesRead: number;
  bytesWritten: number;
  drainWaits: number;
  readPauses: number;
}

export function newConnectionStats(): KvConnectionStats {
  return {
    requestsSent: 0,
    responses: 0,
    unmatchedResponses: 0,
    timeouts: 0,
    serverRequests: 0,
    serverRequestsDropped: 0,
    bytesRead: 0,
    bytesWritten: 0,
    drainWaits: 0,
    readPauses: 0,
  };
}

/** The client's default `maxBodyLength`: well above any item a server can hold with its xattrs. */
export const CLIENT_MAX_BODY_LENGTH = 30 * 1024 * 1024;
