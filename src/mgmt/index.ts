/**
 * The cluster-manager REST API listener (ns_server's port 8091).
 *
 * Endpoints (Couchbase's, with Basic auth except `GET /`):
 *   GET  /                                         200, for SDK ping()
 *   GET  /pools, /pools/default, /poolsStreaming/default
 *   GET  /pools/default/nodeServices
 *   GET  /pools/default/buckets                    buckets the caller may read
 *   GET  /pools/default/buckets/NAME, /pools/default/bucketsStreaming/NAME
 *   GET  /pools/default/b/NAME, /pools/default/bs/NAME        (terse config, "$HOST" replaced)
 *   POST /pools/default/buckets                    create (name, bucketType, numVBuckets, maxTTL)
 *   POST /pools/default/buckets/NAME               edit (maxTTL)
 *   DELETE /pools/default/buckets/NAME
 *   GET|POST /pools/default/buckets/NAME/scopes, POST .../scopes/S/collections,
 *   PATCH|DELETE .../scopes/S/collections/C, DELETE .../scopes/S   (collections-routes.ts)
 *   GET  /settings/rbac/users[/local/NAME], PUT|DELETE /settings/rbac/users/local/NAME
 * Freshet extensions, administrator only (documented in admin-routes.ts):
 *   GET  /freshet/buckets/NAME/vbuckets/VB
 *   POST /freshet/buckets/NAME/vbuckets/VB/state     state=active|replica|pending|dead
 *   POST /freshet/buckets/NAME/vbuckets/VB/failover  [discardAbove=N]
 *   POST /freshet/buckets/NAME/compact               [purgeAgeSeconds=N]
 *   GET  /metrics, /freshet/stats                    Prometheus text, JSON summary (metrics-routes.ts)
 * The console, public (console-routes.ts): GET /ui -> /ui/, GET /ui/... the page and its files.
 *
 * The topology (src/topology/) is the server's: this face reads it and streams its changes, and
 * neither starts nor stops it.
 */
import type { Listener } from '../topology/addresses.js';
import { WebServer } from '../web/server.js';
import { ADMIN_ROUTES } from './admin-routes.js';
import { METRICS_ROUTES } from './metrics-routes.js';
import { BUCKET_ROUTES } from './bucket-routes.js';
import { COLLECTIONS_ROUTES } from './collections-routes.js';
import { CONSOLE_ROUTES } from './console-routes.js';
import { POOLS_ROUTES } from './pools-routes.js';
import { RBAC_ROUTES } from './rbac-routes.js';
import { DDOCS_ROUTES } from './ddocs-routes.js';
import { restRouteTable, restWebFace } from './rest-server.js';
import type { TlsOptions } from 'node:tls';
import type { MgmtDeps } from './rest-route.js';
import { StreamHub } from './streaming.js';

export type { MgmtDeps } from './rest-route.js';

/**
 * How long a request may take to arrive whole, headers and body: mochiweb gives up on a client
 * that sends nothing for 5 minutes while ns_server waits for the body (`recv_body`'s idle
 * timeout), so a client that announces a body and stalls cannot hold a connection forever. It
 * does not limit a reply: streaming configs answer a request that arrived long ago and stay open
 * for as long as the client wants.
 */
export const REQUEST_TIMEOUT_MS = 300_000;

export interface MgmtTimeouts {
  readonly requestTimeoutMs?: number;
  /** How often the timeouts are checked (node's default: 30 s); tests shorten it. */
  readonly checkIntervalMs?: number;
}

/** One listener; with `tls` it serves HTTPS (the server starts one of each for 8091 and 18091). */
export async function startMgmtFace(deps: MgmtDeps, port: number, tls?: TlsOptions, timeouts: MgmtTimeouts = {}): Promise<Listener> {
  const streams = new StreamHub(deps.topology);
  const routes = restRouteTable([...POOLS_ROUTES, ...BUCKET_ROUTES, ...COLLECTIONS_ROUTES, ...RBAC_ROUTES, ...DDOCS_ROUTES, ...ADMIN_ROUTES, ...METRICS_ROUTES, ...CONSOLE_ROUTES]);
  const detach = (): Promise<void> => streams.closeAll();
  let web: WebServer;
  try {
    web = await WebServer.listen(restWebFace({ ctx: deps, streams, routes }), {
      host: deps.host,
      port,
      logger: deps.logger,
      requestTimeout: timeouts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(60_000, timeouts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
      ...(timeouts.checkIntervalMs === undefined ? {} : { connectionsCheckingInterval: timeouts.checkIntervalMs }),
      ...(tls === undefined ? {} : { tls }),
      ...(deps.accessLog ? { observe: (server) => deps.accessLog?.watchHttp(server, 'mgmt') } : {}),
    });
  } catch (err) {
    await detach();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port: web.port,
    close: () =>
      (closing ??= (async () => {
        // Streams first, so their clients see the replies end; then every connection goes.
        await detach();
        await web.close();
      })()),
  };
}
