/**
 * The CouchDB-compatible HTTP API listener (issue 6): documents and revision trees over engine
 * items (doc-store.ts), `_changes` over the engine's bucket sequence (changes-feed.ts), the
 * replication endpoints, `_local` documents, attachments, Basic and cookie auth, CORS, and the
 * replication job manager (`_replicate`, `_replicator`, `_active_tasks`, `_scheduler/*`).
 */
import type { Listener } from '../topology/addresses.js';
import { Sessions } from './auth.js';
import { HttpFace, type HttpDeps, type HttpFaceOptions } from './face.js';
import { createRouter } from './routes.js';
import { createHttpServer } from './server.js';

export type { HttpDeps, HttpFaceOptions } from './face.js';
export { HttpFace } from './face.js';
export { AUX_NAMESPACES } from '../couchdb/index.js';

export interface HttpListener extends Listener {
  readonly face: HttpFace;
}

export async function startHttpFace(ctx: HttpDeps, port: number, options: HttpFaceOptions = {}): Promise<HttpListener> {
  const sessions = await Sessions.open(ctx.engine.store.system, options.sessionTimeoutSec ?? 600);
  const face = new HttpFace(ctx, createRouter(), sessions, options);
  const server = createHttpServer(face);
  ctx.accessLog?.watchHttp(server, 'couchdb');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ctx.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  face.port = bound;
  // After listening: jobs of `_replicator` documents may name this very server.
  await face.replicatorDb.start();
  return {
    port: bound,
    face,
    close: async () => {
      await face.closeReplication();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of face.sockets) socket.destroy();
      });
    },
  };
}
