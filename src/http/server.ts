/**
 * The CouchDB face on the shared HTTP server (src/web/server.ts): per request, CORS,
 * authentication, routing, and errors as CouchDB's `{"error","reason"}` bodies with the table's
 * status (src/couch/errors.ts). A request gets an AbortSignal that fires when its connection
 * closes before the response is finished, which is how streaming feeds learn that the client left.
 *
 * Order, as chttpd: a CORS preflight is answered first; then a path that is not valid
 * percent-encoding is 400; then credentials (a bad one is 401 whatever the path); then routing
 * (dispatch.ts): an unknown path is 404 `not_found`/`missing`, a known path without the method
 * 405 `method_not_allowed` with an `Allow` header (src/couch/errors.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CouchError } from '../couch/errors.js';
import type { WebFace } from '../web/server.js';
import { authenticate } from './auth.js';
import { applyCors, handlePreflight } from './cors.js';
import type { HttpFace } from './face.js';
import { sendError, useJsonp } from './response.js';
import { toCouchError } from '../couchdb/errors.js';
import { noteRequestUser } from '../common/access-log.js';
import { dispatch, requestSegments } from './dispatch.js';

/**
 * A request id the client may choose (CouchDB 3.4.3+, apache/couchdb#5326 and #5328): an
 * `X-Couch-Request-ID` of 1 to 36 letters, digits, `_` or `-` (a UUID fits) is used as this
 * request's id and echoed back; anything else gets a fresh one, chttpd's 5 random bytes in hex.
 */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9_-]{1,36}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-couch-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomBytes(5).toString('hex');
}

/**
 * JSONP (couch_httpd initialize_jsonp/validate_callback): with `[chttpd] allow_jsonp = true`, a
 * `?callback=` of letters, digits, `.`, `_`, `[` and `]` wraps this request's JSON replies
 * (response.ts jsonFraming); any other character is 400 `invalid_callback`. Off, the default, the
 * parameter is ignored.
 */
function startJsonp(face: HttpFace, url: URL, res: ServerResponse): void {
  const callback = url.searchParams.get('callback');
  if (callback === null || callback === '' || face.access.config.chttpd('allow_jsonp') !== 'true') return;
  if (!/^[A-Za-z0-9._[\]]+$/.test(callback)) throw new CouchError('bad_request', { reason: 'invalid_callback' });
  useJsonp(res, callback);
}

/**
 * The methods `X-HTTP-Method-Override` may name (chttpd handle_request_int), less HEAD: the
 * request on the wire stays a POST, whose response must carry the body its Content-Length
 * announces, so a POST asking to be a HEAD stays a POST (answered in full, not cut off).
 */
const OVERRIDABLE = new Set(['GET', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT', 'COPY']);

/**
 * CouchDB lets a client that can only POST name another method in `X-HTTP-Method-Override`
 * (chttpd handle_request_int); only a POST is overridden, and the request then is that method
 * throughout (a HEAD sends no body).
 */
function overrideMethod(req: IncomingMessage): void {
  const override = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof override === 'string' && OVERRIDABLE.has(override)) req.method = override;
}

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
  // chttpd sets these on every response: a request id for logs, and the body time (0 here: the
  // body is read as it is used).
  res.setHeader('X-Couch-Request-ID', requestId(req));
  res.setHeader('X-CouchDB-Body-Time', '0');
  applyCors(face.cors, req, res);
  if (handlePreflight(face.cors, req, res)) return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segments = requestSegments(face, url);
  overrideMethod(req);
  startJsonp(face, url, res);
  const method = req.method ?? 'GET';
  const auth = await authenticate(req, face);
  noteRequestUser(req, auth.user?.name);
  if (auth.refreshCookie) res.setHeader('Set-Cookie', face.sessions.setCookieHeader(auth.refreshCookie));
  await dispatch({ req, res, user: auth.user, face, signal: ac.signal }, method, url, segments);
}

/** The CouchDB face as the shared server runs it. */
export function couchWebFace(face: HttpFace): WebFace {
  return {
    handle: (req, res) => handle(face, req, res),
    renderError(err: unknown, req: IncomingMessage, res: ServerResponse): void {
      const couch = toCouchError(err);
      face.stats.errors++;
      // A full disk (507) is logged once per state change by the server, not once per request;
      // a `[disk_monitor]` refusal is that setting working, not a failure.
      if (couch.status >= 500 && couch.kind !== 'insufficient_storage' && couch.kind !== 'disk_too_full') {
        // An error CouchDB answers by design (a throwing design function, a 501) is one line
        // without a stack, so a client repeating it cannot flood the log with traces; an
        // unexpected one (`internal` as `unknown_error`: a bug or a storage fault) keeps its stack.
        if (couch.kind === 'internal' && couch.error === 'unknown_error') face.ctx.logger.error({ err, url: req.url, method: req.method }, 'CouchDB face request failed');
        else face.ctx.logger.warn({ status: couch.status, error: couch.error, reason: couch.reason, url: req.url, method: req.method }, 'CouchDB face request failed');
      }
      if (!res.headersSent) sendError(res, couch);
    },
    // A malformed request line or headers: answer like CouchDB would, then drop the socket.
    clientError(_err: Error, socket: Socket): void {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    },
  };
}
