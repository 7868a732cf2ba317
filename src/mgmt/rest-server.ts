/**
 * The HTTP server of the management port: parse, route, authenticate, authorize, run the handler,
 * and turn whatever it throws into ns_server's reply shapes. Unknown paths get ns_server's 404
 * before any credentials are checked (menelaus_web `get_action` falls through to
 * `reply_not_found`). An unexpected failure is logged and answered 500 with ns_server's
 * `["Unexpected server error, request logged."]`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { authenticate, authorize, checkUuids } from './rest-auth.js';
import { RestError, localAddr, notFound, sendError, sendJson } from './rest-io.js';
import { pathSegments, type MgmtDeps, type Principal, type Router } from './router.js';
import type { StreamHub } from './streaming.js';
import { noteRequestUser } from '../common/access-log.js';

export interface RestServerDeps {
  readonly ctx: MgmtDeps;
  readonly streams: StreamHub;
  readonly router: Router;
}

async function dispatch(deps: RestServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const segments = pathSegments(rawPath);
  const match = segments === undefined ? undefined : deps.router.match(req.method ?? 'GET', segments);
  if (match === undefined) throw notFound();
  const { route, params } = match;
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

export function createRestServer(deps: RestServerDeps): Server {
  const server = createServer((req, res) => {
    dispatch(deps, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        deps.ctx.logger.error({ err, url: req.url }, 'REST request failed after its reply started');
        res.destroy();
        return;
      }
      if (err instanceof RestError) {
        sendError(res, err);
        return;
      }
      deps.ctx.logger.error({ err, method: req.method, url: req.url }, 'REST request failed');
      sendJson(res, 500, ['Unexpected server error, request logged.'], { Connection: 'close' });
    });
  });
  // Streaming replies stay open for as long as the client wants; no request timeout applies.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}
