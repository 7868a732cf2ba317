/**
 * The CouchDB-compatible HTTP API listener (issue 6): documents and revision trees over engine
 * items (doc-store.ts), `_changes` over the engine's bucket sequence (changes-feed.ts), the
 * replication endpoints, `_local` documents, attachments, Basic and cookie auth, CORS, and the
 * replication job manager (`_replicate`, `_replicator`, `_active_tasks`, `_scheduler/*`).
 * It runs on the shared HTTP server (src/web/), with its routes in routes.ts.
 */
import type { Listener } from '../topology/addresses.js';
import { WebServer } from '../web/server.js';
import { Sessions } from './auth.js';
import { HttpFace, type HttpDeps, type HttpFaceOptions } from './face.js';
import { couchRoutes } from './routes.js';
import { couchWebFace } from './server.js';

export type { HttpDeps, HttpFaceOptions } from './face.js';
export { HttpFace } from './face.js';
export { AUX_NAMESPACES } from './db.js';

export interface HttpListener extends Listener {
  readonly face: HttpFace;
  /** The server this face runs on (its open connections). */
  readonly web: WebServer;
}

export async function startHttpFace(ctx: HttpDeps, port: number, options: HttpFaceOptions = {}): Promise<HttpListener> {
  const sessions = await Sessions.open(ctx.engine.store.system, options.sessionTimeoutSec ?? 600);
  const face = new HttpFace(ctx, couchRoutes(), sessions, options);
  const web = await WebServer.listen(couchWebFace(face), {
    host: ctx.host,
    port,
    logger: ctx.logger,
    keepAliveTimeout: 5_000,
    ...(ctx.accessLog ? { observe: (server) => ctx.accessLog?.watchHttp(server, 'couchdb') } : {}),
  });
  face.port = web.port;
  // After listening: jobs of `_replicator` documents may name this very server.
  await face.replicatorDb.start();
  return {
    port: web.port,
    face,
    web,
    close: async () => {
      await face.closeReplication();
      await web.close();
    },
  };
}
