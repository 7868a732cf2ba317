/**
 * Typed errors of the KV client connection (practice 7): one base class with a stable
 * `code` and a `context` (opcode, opaque, ...), the ES2022 `cause`, and a status error
 * whose retriable/fatal flags come from the codec's status table.
 */
import { isFatalStatus, isRetriableStatus, opcodeName, statusName } from '../codec/index.js';
import type { Packet } from '../codec/index.js';

export const KV_CLIENT_ERROR_CODES = [
  'CB_ERR_CONN_CLOSED', // the connection closed (by us, the peer, or a protocol error) before a reply
  'CB_ERR_TIMEOUT', // no reply within the request timeout
  'CB_ERR_QUEUE_FULL', // too many requests waiting for an in-flight slot
  'CB_ERR_CONNECT', // could not establish the TCP connection
  'CB_ERR_STATUS', // the server replied with a non-success status
  'CB_ERR_ABORTED', // the caller's AbortSignal fired
  'CB_ERR_INVALID_ARGUMENT', // misuse of the API (e.g. a quiet opcode passed to request())
] as const;

export type KvClientErrorCode = (typeof KV_CLIENT_ERROR_CODES)[number];

export interface KvErrorContext {
  readonly opcode?: number;
  readonly opaque?: number;
  readonly vbucket?: number;
  readonly [key: string]: unknown;
}

export class KvClientError extends Error {
  override name = 'KvClientError';
  readonly code: KvClientErrorCode;
  readonly context: KvErrorContext;
  /** True when resending the same request later may succeed. */
  readonly retriable: boolean;

  constructor(code: KvClientErrorCode, message: string, context: KvErrorContext = {}, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.code = code;
    this.context = context;
    this.retriable = options?.retriable ?? false;
  }
}

export class ConnectionClosedError extends KvClientError {
  override name = 'ConnectionClosedError';
  constructor(message = 'connection closed', context: KvErrorContext = {}, options?: ErrorOptions) {
    // a request that never got its reply may or may not have run: retriable only for idempotent ops
    super('CB_ERR_CONN_CLOSED', message, context, { ...options, retriable: true });
  }
}

export class RequestTimeoutError extends KvClientError {
  override name = 'RequestTimeoutError';
  constructor(timeoutMs: number, context: KvErrorContext = {}) {
    super('CB_ERR_TIMEOUT', `no response within ${timeoutMs} ms (${describe(context)})`, context, { retriable: true });
  }
}

export class QueueFullError extends KvClientError {
  override name = 'QueueFullError';
  constructor(limit: number, context: KvErrorContext = {}) {
    super('CB_ERR_QUEUE_FULL', `more than ${limit} requests waiting for an in-flight slot`, context, { retriable: true });
  }
}

/** A non-success response turned into an error (request() itself resolves any status). */
export class KvStatusError extends KvClientError {
  override name = 'KvStatusError';
  readonly status: number;
  readonly statusName: string;
  /** The connection should be re-established (error-map conn-state-invalidated). */
  readonly fatal: boolean;
  readonly response: Packet;
  /** From an XERROR JSON body {"error": {"context", "ref"}}, when present. */
  readonly errorContext: string | undefined;
  readonly errorRef: string | undefined;

  constructor(response: Packet) {
    const name = statusName(response.status);
    const { context, ref } = parseErrorBody(response.value);
    const ctx = { opcode: response.opcode, opaque: response.opaque };
    super('CB_ERR_STATUS', `${opcodeName(response.opcode)} failed: ${name}${context ? ` (${context})` : ''}`, ctx, {
      retriable: isRetriableStatus(response.status),
    });
    this.status = response.status;
    this.statusName = name;
    this.fatal = isFatalStatus(response.status);
    this.response = response;
    this.errorContext = context;
    this.errorRef = ref;
  }
}

/** Resolve `p` if it is a success, else throw a KvStatusError. */
export function expectSuccess(p: Packet): Packet {
  if (p.status !== 0) throw new KvStatusError(p);
  return p;
}

function describe(ctx: KvErrorContext): string {
  const parts: string[] = [];
  if (ctx.opcode !== undefined) parts.push(opcodeName(ctx.opcode));
  if (ctx.opaque !== undefined) parts.push(`opaque ${ctx.opaque}`);
  return parts.join(', ');
}

function parseErrorBody(value: Buffer): { context: string | undefined; ref: string | undefined } {
  if (value.length === 0 || value[0] !== 0x7b /* { */) return { context: undefined, ref: undefined };
  try {
    const doc: unknown = JSON.parse(value.toString('utf8'));
    if (typeof doc === 'object' && doc !== null && 'error' in doc) {
      const err = (doc as { error: unknown }).error;
      if (typeof err === 'object' && err !== null) {
        const e = err as { context?: unknown; ref?: unknown };
        return {
          context: typeof e.context === 'string' ? e.context : undefined,
          ref: typeof e.ref === 'string' ? e.ref : undefined,
        };
      }
    }
  } catch {
    // a non-JSON body is plain text; nothing to extract
  }
  return { context: undefined, ref: undefined };
}
