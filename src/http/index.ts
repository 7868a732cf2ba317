/**
 * The CouchDB-compatible HTTP API listener (issue 6): documents and revision trees over engine
 * items (doc-store.ts), `_changes` over the engine's bucket sequence (changes-feed.ts), the
 * replication endpoints, `_local` documents, attachments, Basic and cookie auth, CORS, and the
 * replication job manager (`_replicate`, `_replicator`, `_active_tasks`, `_scheduler/*`).
 * It runs on the shared HTTP server (src/web/), with its routes in routes.ts.
 */
import type { Listener } from '../topology/addresses.js';
import type { TlsOptions } from 'node:tls';
import { WebServer, type WebServerOptions } from '../web/server.js';
import { Sessions } from './auth.js';
import { HttpFace, type HttpDeps, type HttpFaceOptions } from './face.js';
import { couchRoutes } from './routes.js';
import { couchWebFace } from './server.js';
import { watchCompactions } from '../couchdb/rev-history.js';
import { USERS_DB } from '../couchdb/users-db.js';
import { ensureAuthDesignDoc } from '../couchdb/users-auth-ddoc.js';

export type { HttpDeps, HttpFaceOptions } from './face.js';
export { HttpFace } from './face.js';
export { AUX_NAMESPACES } from '../couchdb/index.js';

export interface HttpListener extends Listener {
  /** The HTTPS port (CouchDB's 6984), 0 without TLS. `port` is 0 when only TLS listens. */
  readonly tlsPort: number;
  readonly face: HttpFace;
  /** The servers this face runs on (their open connections): plain first, then HTTPS. */
  readonly web: WebServer;
  readonly webs: readonly WebServer[];
}

/** Where the face listens: the plain port (null: not opened) and, with TLS, the HTTPS one. */
export interface HttpListen {
  readonly port: number | null;
  readonly tls?: { readonly options: TlsOptions; readonly port: number };
}

/** One face (one replicator, one session store) on one or two servers: plain and HTTPS. */
export async function startHttpFace(ctx: HttpDeps, at: HttpListen | number, options: HttpFaceOptions = {}): Promise<HttpListener> {
  const where: HttpListen = typeof at === 'number' ? { port: at } : at;
  const sessions = await Sessions.open(ctx.engine.store.system, options.sessionTimeoutSec ?? 600);
  const face = new HttpFace(ctx, couchRoutes(), sessions, options);
  const webFace = couchWebFace(face);
  const common = {
    host: ctx.host,
    logger: ctx.logger,
    keepAliveTimeout: 5_000,
    ...(ctx.accessLog ? { observe: (server: Parameters<NonNullable<WebServerOptions['observe']>>[0]) => ctx.accessLog?.watchHttp(server, 'couchdb') } : {}),
  };
  const webs: WebServer[] = [];
  let plain: WebServer | undefined;
  let secure: WebServer | undefined;
  try {
    if (where.port !== null) webs.push((plain = await WebServer.listen(webFace, { ...common, port: where.port })));
    if (where.tls !== undefined) webs.push((secure = await WebServer.listen(webFace, { ...common, port: where.tls.port, tls: where.tls.options })));
  } catch (err) {
    for (const web of webs) await web.close();
    throw err;
  }
  if (plain !== undefined) face.port = plain.port;
  // Every engine compaction also drops the CouchDB revision history of its bucket.
  const unwatch = watchCompactions(ctx.engine, (err, bucket) => ctx.logger.warn({ err, bucket: bucket.name }, 'could not compact the revision history'));
  // After listening: jobs of `_replicator` documents may name this very server.
  await face.replicatorDb.start();
  face.globalChanges.start();
  // An existing `_users` gets (back) CouchDB's `_design/_auth`, as chttpd_auth_cache does when its
  // listener starts; a failure must not keep the server from starting.
  const users = ctx.engine.bucket(USERS_DB);
  if (users) await ensureAuthDesignDoc(face.db(users)).catch((err: unknown) => ctx.logger.warn({ err }, 'could not write _users/_design/_auth'));
  return {
    port: plain?.port ?? 0,
    tlsPort: secure?.port ?? 0,
    face,
    web: webs[0]!,
    webs,
    close: async () => {
      unwatch();
      await face.globalChanges.close();
      await face.closeReplication();
      await Promise.all(webs.map((web) => web.close()));
      await face.design.dispose();
    },
  };
}
