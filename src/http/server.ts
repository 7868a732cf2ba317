/**
 * The HTTP server of the CouchDB face (node:http): per request, CORS, authentication, routing,
 * and errors as CouchDB's `{"error","reason"}` bodies with the table's status
 * (src/couch/errors.ts). A request gets an AbortSignal that fires when its connection closes
 * before the response is finished, which is how streaming feeds learn that the client left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CouchError } from '../couch/errors.js';
import { authenticate } from './auth.js';
import { applyCors, handlePreflight } from './cors.js';
import type { HttpFace } from './face.js';
import type { RequestCtx } from './request.js';
import { sendError, toCouchError } from './response.js';
import { normalizeSegments } from './routes.js';
import { splitPath } from './router.js';

async function handle(face: HttpFace, req: IncomingMessage, res: ServerResponse): Promise<void> {
  face.stats.requests++;
  const methods = face.stats.methods;
  const method0 = req.method ?? 'GET';
  methods[method0] = (methods[method0] ?? 0) + 1;
  const ac = new AbortController();
  res.once('close', () => {
    ac.abort();
    if (res.headersSent) {
      const codes = face.stats.statusCodes;
      codes[res.statusCode] = (codes[res.statusCode] ?? 0) + 1;
    }
  });
  try {
    applyCors(face.cors, req, res);
    if (handlePreflight(face.cors, req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = normalizeSegments(splitPath(url.pathname));
    const method = req.method ?? 'GET';
    const auth = await authenticate(req, face.ctx.users, face.sessions, face.ctx.authThrottle);
    if (auth.refreshCookie) res.setHeader('Set-Cookie', face.sessions.setCookieHeader(auth.refreshCookie));
    const match = face.router.match(method, segments);
    if (!match) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
    const rc: RequestCtx = {
      req, res, method, url, query: url.searchParams, params: match.params, user: auth.user, face, signal: ac.signal,
    };
    await match.handler(rc);
  } catch (err) {
    const couch = toCouchError(err);
    face.stats.errors++;
    // A full disk (507) is logged once per state change by the server, not once per request.
    if (couch.status >= 500 && couch.code !== 'insufficient_storage') face.ctx.logger.warn({ err, url: req.url, method: req.method }, 'CouchDB face request failed');
    if (!res.headersSent) sendError(res, couch);
    else res.destroy();
  }
}

export function createHttpServer(face: HttpFace): Server {
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    handle(face, req, res).catch((err: unknown) => {
      // Only sending the error reply itself can get here: log it and drop the connection.
      face.ctx.logger.error({ err, url: req.url }, 'CouchDB face could not answer a request');
      res.destroy();
    });
  });
  server.on('connection', (socket) => {
    face.sockets.add(socket);
    socket.once('close', () => face.sockets.delete(socket));
  });
  // A malformed request line or headers: answer like CouchDB would, then drop the socket.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
