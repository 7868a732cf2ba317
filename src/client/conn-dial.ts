/**
 * TCP or TLS dialing for KvConnection.connect() and the DCP consumer: kept apart so the connection
 * itself only needs a connected Duplex (practice 10: transport separate from the protocol engine).
 *
 * With `tls` the socket resolves once the handshake is done and the server's certificate verified
 * (against `tls.ca`, or Node's trust store); the server name sent and checked is the host unless it
 * is an IP address, which TLS SNI does not carry (RFC 6066 §3) and which is matched against the
 * certificate's IP subject alternative names instead.
 */
import net from 'node:net';
import tls from 'node:tls';
import { KvClientError } from './conn-errors.js';

/** What `couchbases://` adds: whom to trust. */
export interface KvTlsOptions {
  /** PEM CA certificate(s) trusted for the server's certificate; default Node's trust store. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** false skips certificate verification (development only). Default true. */
  readonly rejectUnauthorized?: boolean;
}

export interface KvConnectOptions {
  readonly host?: string;
  readonly port: number;
  readonly connectTimeoutMs?: number;
  /** Connect over TLS (Couchbase's 11207). */
  readonly tls?: KvTlsOptions;
}

/** Open a socket (TLS when asked); rejects with the plain cause, callers wrap it in their error. */
export function openSocket(host: string, port: number, timeoutMs: number, tlsOptions?: KvTlsOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      tlsOptions === undefined
        ? net.connect({ host, port })
        : tls.connect({
            host,
            port,
            ...(net.isIP(host) === 0 ? { servername: host } : {}),
            ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca as string | Buffer | (string | Buffer)[] }),
            rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
          });
    const timer = timeoutMs > 0 ? setTimeout(() => fail(new Error(`connect to ${host}:${port} timed out`)), timeoutMs) : undefined;
    function fail(e: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    }
    socket.once('error', fail);
    socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true); // request/response latency matters more than segment count
      resolve(socket);
    });
  });
}

export async function dial(opts: KvConnectOptions): Promise<net.Socket> {
  const host = opts.host ?? '127.0.0.1';
  try {
    return await openSocket(host, opts.port, opts.connectTimeoutMs ?? 0, opts.tls);
  } catch (e) {
    const cause = e as Error;
    const message = cause.message.endsWith('timed out') ? cause.message : `connect to ${host}:${opts.port} failed: ${cause.message}`;
    throw new KvClientError('CONNECT', message, { host, port: opts.port }, { cause, retriable: true });
  }
}
