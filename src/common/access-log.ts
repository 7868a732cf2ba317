/**
 * The access log of `freshet serve --access-log`: one entry per HTTP request on the cluster
 * manager and CouchDB ports, and one per KV connection opened and closed. Entries are written to
 * a pino logger at info with `access: true` (the server's own logger on stderr, or one writing to
 * the file given), so every log line Freshet writes has one format.
 *
 * An HTTP entry is written when the response closes, like CouchDB's chttpd access lines
 * (`couch_log` "127.0.0.1 - admin GET /db 200"): method, path (query parameters that carry
 * secrets are masked), status, body bytes sent, milliseconds, remote address and the user the
 * face authenticated (`noteRequestUser`, called by the faces), or null for anonymous requests.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from './logger.js';

/** The part of a pino logger the access log writes to. */
export interface AccessLogSink {
  info(obj: object, msg: string): void;
}

/** Query parameters whose values never reach a log line. */
const SECRET_PARAM = /pass|token|secret|auth|cookie|session|key$/i;

const requestUsers = new WeakMap<IncomingMessage, string>();

/** A face records who a request authenticated as (for the access log's `user`). */
export function noteRequestUser(req: IncomingMessage, user: string | null | undefined): void {
  if (user !== null && user !== undefined && user !== '') requestUsers.set(req, user);
}

/** `/path?a=1&password=x` → `/path?a=1&password=*****`. */
export function maskedPath(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  if (q < 0) return target;
  const params = new URLSearchParams(target.slice(q + 1));
  let masked = false;
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAM.test(key) && !/^(start|end)?_?key$|^keys$/i.test(key)) {
      params.set(key, '*****');
      masked = true;
    }
  }
  return masked ? `${target.slice(0, q)}?${params.toString()}` : target;
}

/** Body bytes written to `res`, counted as they are written. */
function countBytes(res: ServerResponse): () => number {
  let bytes = 0;
  const add = (chunk: unknown, encoding?: unknown): void => {
    if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    add(args[0], args[1]);
    return write(...args);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') add(args[0], args[1]);
    return end(...args);
  }) as ServerResponse['end'];
  return () => bytes;
}

export interface KvConnectionSummary {
  readonly remoteAddress: string;
  readonly user: string | null;
  readonly bucket: string | null;
  readonly ops: number;
}

export class AccessLog {
  constructor(private readonly sink: AccessLogSink) {}

  /** Entries through `logger` (the server's own, or one writing to a file). */
  static to(logger: Logger): AccessLog {
    return new AccessLog(logger);
  }

  /** One entry per request of `server`, whose face is `face` ('mgmt' or 'couchdb'). */
  watchHttp(server: Server | HttpsServer, face: string): void {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const started = process.hrtime.bigint();
      const bytes = countBytes(res);
      res.once('close', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        this.sink.info(
          {
            access: true,
            face,
            method: req.method,
            path: maskedPath(req.url),
            status: res.statusCode,
            bytes: bytes(),
            ms: Math.round(ms * 10) / 10,
            remote: req.socket.remoteAddress ?? null,
            user: requestUsers.get(req) ?? null,
            ...(res.writableFinished ? {} : { aborted: true }),
          },
          'http request',
        );
      });
    });
  }

  kvOpened(remoteAddress: string, id: number): void {
    this.sink.info({ access: true, face: 'kv', event: 'open', conn: id, remote: remoteAddress }, 'kv connection opened');
  }

  kvClosed(c: KvConnectionSummary, id: number, openedAt: number): void {
    this.sink.info(
      { access: true, face: 'kv', event: 'close', conn: id, remote: c.remoteAddress, user: c.user, bucket: c.bucket, ops: c.ops, ms: Date.now() - openedAt },
      'kv connection closed',
    );
  }
}
