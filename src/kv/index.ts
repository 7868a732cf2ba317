/**
 * The KV listener: memcached binary protocol with Couchbase's extensions, and whatever other
 * faces add to it (`extensions`: DCP's opcodes and stat group, wired by src/server/freshet-server.ts;
 * kv itself knows nothing of DCP beyond the Session's `dcp` attachment slot).
 */
import { createServer, type Socket } from 'node:net';
import { KvServerConnection } from './connection.js';
import { newKvStats, type KvStats } from './stats-counters.js';
import { commandTable } from './dispatch.js';
import type { KvExtensions } from './command-spec.js';
import { userOf, type KvDeps } from './session.js';
import type { Listener } from '../topology/addresses.js';

export interface KvListener extends Listener {
  readonly stats: KvStats;
}

export function startKvFace(ctx: KvDeps, port: number, extensions: KvExtensions = {}): Promise<KvListener> {
  const commands = commandTable(extensions);
  const stats = newKvStats();
  const sockets = new Set<Socket>();
  let nextId = 1;
  const server = createServer((socket) => {
    sockets.add(socket);
    stats.connections++;
    stats.totalConnections++;
    socket.on('close', () => {
      sockets.delete(socket);
      stats.connections--;
    });
    const conn = new KvServerConnection(nextId++, ctx, socket, stats, commands);
    const log = ctx.accessLog;
    if (log) {
      const openedAt = Date.now();
      log.kvOpened(conn.remoteAddress, conn.id);
      socket.once('close', () =>
        log.kvClosed({ remoteAddress: conn.remoteAddress, user: userOf(conn), bucket: conn.bucket?.name ?? null, ops: conn.ops }, conn.id, openedAt),
      );
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ctx.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        stats,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
