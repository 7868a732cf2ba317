/**
 * The KV listener: memcached binary protocol with Couchbase's extensions, and whatever other
 * faces add to it (`extensions`: DCP's opcodes and stat group, wired by src/server/freshet-server.ts;
 * kv itself knows nothing of DCP beyond the Session's `dcp` attachment slot).
 *
 * With a TLS context the same protocol runs over `tls.createServer` (Couchbase's 11207 beside the
 * plain 11210): a connection starts once its handshake is done, and KvConnection only uses
 * net.Socket methods, which TLSSocket inherits. A failed handshake (a plain-text client on the TLS
 * port, an untrusted client) ends only that connection and counts in `tlsHandshakeFailures`.
 *
 * Deleting a bucket closes the connections selected into it, DCP ones included, as kv_engine does
 * (memcached.cc `is_bucket_dying`: "The connected bucket is being deleted"); clients reconnect and
 * bootstrap again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { KvServerConnection } from './connection.js';
import { newKvStats, type KvStats } from './stats-counters.js';
import { commandTable } from './dispatch.js';
import type { KvExtensions } from './command-spec.js';
import { userOf, type KvDeps } from './session.js';
import type { Listener } from '../topology/addresses.js';

export interface KvListener extends Listener {
  readonly stats: KvStats;
}

export interface KvFaceOptions {
  /** Serve TLS on this listener (certificate, key, CA); absent: plain TCP. */
  readonly tls?: TlsOptions;
  /** Counters shared with another listener of the same face (the plain and TLS ports share one). */
  readonly stats?: KvStats;
}

export function startKvFace(ctx: KvDeps, port: number, extensions: KvExtensions = {}, options: KvFaceOptions = {}): Promise<KvListener> {
  const commands = commandTable(extensions);
  const stats = options.stats ?? newKvStats();
  const sockets = new Set<Socket>();
  const onBucketDeleted = (name: string): void => {
    for (const c of stats.live) if (c.bucket?.name === name && ctx.engine.bucket(name) !== c.bucket) c.close('the connected bucket was deleted');
  };
  ctx.engine.on('bucket-deleted', onBucketDeleted);
  let nextId = 1;
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    stats.connections++;
    stats.totalConnections++;
    socket.on('close', () => {
      sockets.delete(socket);
      stats.connections--;
    });
    const conn = new KvServerConnection(nextId++, ctx, socket, stats, commands);
    stats.live.add(conn);
    socket.once('close', () => stats.live.delete(conn));
    const log = ctx.accessLog;
    if (log) {
      const openedAt = Date.now();
      log.kvOpened(conn.remoteAddress, conn.id);
      socket.once('close', () =>
        log.kvClosed({ remoteAddress: conn.remoteAddress, user: userOf(conn), bucket: conn.bucket?.name ?? null, ops: conn.ops }, conn.id, openedAt),
      );
    }
  };
  let server: Server;
  if (options.tls === undefined) {
    server = createServer(onSocket);
  } else {
    const tlsServer = createTlsServer({ handshakeTimeout: 10_000, ...options.tls }, onSocket);
    // The raw socket is tracked from accept so close() also ends connections mid-handshake.
    tlsServer.on('connection', (raw: Socket) => {
      sockets.add(raw);
      raw.on('close', () => sockets.delete(raw));
    });
    tlsServer.on('tlsClientError', (err: Error, socket) => {
      stats.tlsHandshakeFailures++;
      ctx.logger.debug({ err: err.message, peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` }, 'TLS handshake on the KV port failed');
      // A protocol error has already destroyed the socket, but the handshake timeout only emits
      // this event (node's TLSSocket `_handleTimeout`): without this a client that opens TLS and
      // never finishes its handshake would hold the connection forever.
      socket.destroy();
    });
    server = tlsServer;
  }
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      ctx.engine.off('bucket-deleted', onBucketDeleted);
      reject(err);
    };
    server.once('error', onError);
    server.listen(port, ctx.host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        stats,
        close: () =>
          new Promise<void>((done) => {
            ctx.engine.off('bucket-deleted', onBucketDeleted);
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
