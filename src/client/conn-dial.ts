/**
 * TCP dialing for KvConnection.connect(): kept apart so the connection itself only
 * needs a connected Duplex (practice 10: transport separate from the protocol engine).
 */
import net from 'node:net';
import { KvClientError } from './conn-errors.js';

export interface KvConnectOptions {
  readonly host?: string;
  readonly port: number;
  readonly connectTimeoutMs?: number;
}

export function dial(opts: KvConnectOptions): Promise<net.Socket> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: opts.port });
    let timer: NodeJS.Timeout | undefined;
    const fail = (message: string, cause?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new KvClientError('CONNECT', message, { host, port: opts.port }, { cause, retriable: true }));
    };
    const onError = (e: Error): void => fail(`connect to ${host}:${opts.port} failed: ${e.message}`, e);
    if (opts.connectTimeoutMs !== undefined && opts.connectTimeoutMs > 0) {
      timer = setTimeout(() => fail(`connect to ${host}:${opts.port} timed out`), opts.connectTimeoutMs);
    }
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true); // request/response latency matters more than segment count
      resolve(socket);
    });
  });
}
