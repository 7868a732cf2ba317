/**
 * The CouchDB-compatible HTTP API listener (issue 6): documents and revision trees over engine
 * items (doc-store.ts), `_changes` over the engine's bucket sequence (changes-feed.ts), the
 * replication endpoints, `_local` documents, attachments, Basic and cookie auth, CORS, and the
 * replication job manager (`_replicate`, `_replicator`, `_active_tasks`, `_scheduler/*`).
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import type { Listener } from '../topology/addresses.js';
import { Sessions } from './auth.js';
import { HttpFace, type HttpDeps, type HttpFaceOptions } from './face.js';
import { createRouter } from './routes.js';
import { createHttpServer } from './server.js';

export type { HttpDeps, HttpFaceOptions } from './face.js';
export { HttpFace } from './face.js';
export { AUX_NAMESPACES } from './db.js';

export interface HttpListener extends Listener {
  /** The HTTPS port (CouchDB's 6984), 0 without TLS. `port` is 0 when only TLS listens. */
  readonly tlsPort: number;
  readonly face: HttpFace;
}

/** Where the face listens: the plain port (null: not opened) and, with TLS, the HTTPS one. */
export interface HttpListen {
  readonly port: number | null;
  readonly tls?: { readonly options: TlsOptions; readonly port: number };
}

function listen(server: Server | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** One face (one replicator, one session store) behind one or two servers: plain and HTTPS. */
export async function startHttpFace(ctx: HttpDeps, at: HttpListen | number, options: HttpFaceOptions = {}): Promise<HttpListener> {
  const where: HttpListen = typeof at === 'number' ? { port: at } : at;
  const sessions = await Sessions.open(ctx.engine.store.system, options.sessionTimeoutSec ?? 600);
  const face = new HttpFace(ctx, createRouter(), sessions, options);
  const servers: (Server | HttpsServer)[] = [];
  let bound = 0;
  let tlsBound = 0;
  try {
    if (where.port !== null) {
      const server = createHttpServer(face);
      ctx.accessLog?.watchHttp(server, 'couchdb');
      servers.push(server);
      bound = await listen(server, where.port, ctx.host);
      face.port = bound;
    }
    if (where.tls !== undefined) {
      const server = createHttpServer(face, where.tls.options);
      ctx.accessLog?.watchHttp(server, 'couchdb');
      servers.push(server);
      tlsBound = await listen(server, where.tls.port, ctx.host);
    }
  } catch (err) {
    for (const server of servers) if (server.listening) await closeServer(server);
    throw err;
  }
  // After listening: jobs of `_replicator` documents may name this very server.
  await face.replicatorDb.start();
  return {
    port: bound,
    tlsPort: tlsBound,
    face,
    close: async () => {
      await face.closeReplication();
      const closed = Promise.all(servers.map(closeServer));
      for (const socket of face.sockets) socket.destroy();
      await closed;
    },
  };
}
