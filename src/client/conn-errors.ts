/**
 * Typed errors of the KV client connection (practice 7): one base class with a stable
 * `code` (`KVCLIENT_<KIND>`, common/errors.ts) and a `context` (opcode, opaque, ...), the ES2022 `cause`, and a status error
 * whose retriable/fatal flags come from the codec's status table.
 */
import { isFatalStatus, isRetriableStatus, opcodeName, statusName } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import { errorCode, FreshetError, registerErrorCodes, type FreshetErrorOptions } from '../common/errors.js';

/** The client's table: kind -> description. Codes are `KVCLIENT_<KIND>`. */
export const KV_CLIENT_ERRORS = {
  CONN_CLOSED: 'the connection closed (by us, the peer, or a protocol error) before a reply',
  TIMEOUT: 'no reply within the request timeout',
  QUEUE_FULL: 'too many requests waiting for an in-flight slot',
  CONNECT: 'could not establish the TCP connection',
  STATUS: 'the server replied with a non-success status',
  ABORTED: "the caller's AbortSignal fired",
  INVALID_ARGUMENT: 'misuse of the API (e.g. a quiet opcode passed to request())',
} as const;

registerErrorCodes('KVCLIENT', 'src/client/conn-errors.ts', KV_CLIENT_ERRORS);

export type KvClientErrorKind = keyof typeof KV_CLIENT_ERRORS;
export type KvClientErrorCode = `KVCLIENT_${KvClientErrorKind}`;
export const KV_CLIENT_ERROR_CODES: readonly KvClientErrorCode[] = Object.keys(KV_CLIENT_ERRORS).map((k) =>
  errorCode('KVCLIENT', k as KvClientErrorKind),
);

export interface KvErrorContext {
  readonly opcode?: number;
  readonly opaque?: number;
  readonly vbucket?: number;
  readonly [key: string]: unknown;
}

export class KvClientError extends FreshetError<KvClientErrorCode> {
  override name = 'KvClientError';
  readonly kind: KvClientErrorKind;
  readonly context: KvErrorContext;

  /** `options.retriable`: true when resending the same request later may succeed. */
  constructor(kind: KvClientErrorKind, message: string, context: KvErrorContext = {}, options?: FreshetErrorOptions) {
    super(errorCode('KVCLIENT', kind), message, options);
    this.kind = kind;
    this.context = context;
  }
}

export class ConnectionClosedError extends KvClientError {
  override name = 'ConnectionClosedError';
  constructor(message = 'connection closed', context: KvErrorContext = {}, options?: ErrorOptions) {
    // a request that never got its reply may or may not have run: retriable only for idempotent ops
    super('CONN_CLOSED', message, context, { cause: options?.cause, retriable: true });
  }
}

export class RequestTimeoutError extends KvClientError {
  override name = 'RequestTimeoutError';
  constructor(timeoutMs: number, context: KvErrorContext = {}) {
    super('TIMEOUT', `no response within ${timeoutMs} ms (${describe(context)})`, context, { retriable: true });
  }
}

export class QueueFullError extends KvClientError {
  override name = 'QueueFullError';
  constructor(limit: number, context: KvErrorContext = {}) {
    super('QUEUE_FULL', `more than ${limit} requests waiting for an in-flight slot`, context, { retriable: true });
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
    super('STATUS', `${opcodeName(response.opcode)} failed: ${name}${context ? ` (${context})` : ''}`, ctx, {
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
