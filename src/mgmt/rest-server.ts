/**
 * The management port's face on the shared HTTP server (src/web/server.ts): parse, route,
 * authenticate, authorize, run the handler, and turn whatever it throws into ns_server's reply
 * shapes. Unknown paths get ns_server's 404 before any credentials are checked (menelaus_web
 * `get_action` falls through to `reply_not_found`); so does a known path with a method it does
 * not serve, and a path that is not valid percent-encoding. An unexpected failure is logged and
 * answered 500 with ns_server's `["Unexpected server error, request logged."]`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathSegments } from '../web/path.js';
import { RouteTable } from '../web/route-table.js';
import type { WebFace } from '../web/server.js';
import { authenticate, authorize, checkUuids } from './rest-auth.js';
import { RestError, localAddr, notFound, sendError, sendJson } from './rest-io.js';
import type { MgmtDeps, Principal, RestRoute } from './rest-route.js';
import type { StreamHub } from './streaming.js';
import { noteRequestUser } from '../common/access-log.js';

/** Methods whose unrouted requests ns_server answers 404; any other gets 405 (menelaus_web `get_action`). */
const NOT_FOUND_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST']);

function unrouted(method: string): RestError {
  return NOT_FOUND_METHODS.has(method) ? notFound() : new RestError(405, 'Method Not Allowed');
}

export interface RestFaceDeps {
  readonly ctx: MgmtDeps;
  readonly streams: StreamHub;
  readonly routes: RouteTable<RestRoute>;
}

/**
 * The route table of the REST face. menelaus_web dispatches on the method first; the table
 * finds the path first, which is the same here because no pattern shadows another with a
 * different method set (a wrong method is answered by the method alone, `unrouted`).
 */
export function restRouteTable(routes: readonly RestRoute[]): RouteTable<RestRoute> {
  const table = new RouteTable<RestRoute>();
  for (const route of routes) table.add(route.path, { [route.method]: route });
  return table;
}

async function dispatch(deps: RestFaceDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const method = req.method ?? 'GET';
  const segments = pathSegments(rawPath, 'collapse');
  if (segments === undefined) throw notFound();
  const match = deps.routes.lookup(method, segments);
  if (match.kind !== 'found') throw unrouted(method);
  const { handler: route, params } = match;
  let principal: Principal | undefined;
  if (route.access.kind !== 'public') {
    principal = await authenticate(deps.ctx.users, deps.ctx.authThrottle, req);
    noteRequestUser(req, principal.name);
    authorize(deps.ctx.users, principal, route.access, params);
    checkUuids(deps.ctx.engine, route.access, params, query);
  }
  await route.handler({
    req,
    res,
    params,
    query,
    principal,
    localAddr: localAddr(req),
    server: deps.ctx,
    topology: deps.ctx.topology,
    streams: deps.streams,
  });
}

/** The REST face as the shared server runs it. */
export function restWebFace(deps: RestFaceDeps): WebFace {
  return {
    handle: (req, res) => dispatch(deps, req, res),
    renderError(err: unknown, req: IncomingMessage, res: ServerResponse): void {
      if (res.headersSent) {
        deps.ctx.logger.error({ err, url: req.url }, 'REST request failed after its reply started');
        return;
      }
      if (err instanceof RestError) {
        sendError(res, err);
        return;
      }
      deps.ctx.logger.error({ err, method: req.method, url: req.url }, 'REST request failed');
      sendJson(res, 500, ['Unexpected server error, request logged.'], { Connection: 'close' });
    },
  };
}
