/**
 * Routing a request to its handler, once for the client's request (server.ts) and again for each
 * request a `_rewrite` makes of it (rewrite.ts), as chttpd's handle_request_int serves both: the
 * path's decoded segments, the route table (XDCR's CAPI vbucket databases have their own few
 * routes), CouchDB's 404 `not_found`/`missing` for an unknown path and 405 `method_not_allowed`
 * with an `Allow` header for a known path without the method, then the handler with a fresh
 * RequestCtx that keeps the request's streams, user and abort signal.
 */
import { CouchError } from '../couch/errors.js';
import { pathSegments } from '../web/path.js';
import { isCapiSegment } from './capi-db.js';
import { capiRoutes } from './capi-docs.js';
import type { HttpFace } from './face.js';
import type { RequestCtx } from './request.js';

/** XDCR's CAPI vbucket databases (capi-db.ts) have their own few routes. */
const CAPI_ROUTES = capiRoutes();

/** What a request keeps when it is routed again: its streams, its user, its abort signal. */
export type RequestBase = Pick<RequestCtx, 'req' | 'res' | 'user' | 'face' | 'signal'>;

/**
 * The path's decoded segments (`[chttpd] decode_plus_to_space`: a literal '+' is a space unless
 * it is turned off); a segment that is not valid percent-encoding is 400.
 */
export function requestSegments(face: HttpFace, url: URL): string[] {
  const segments = pathSegments(url.pathname, 'trim', face.access.config.chttpd('decode_plus_to_space') !== 'false');
  if (segments === undefined) throw new CouchError('bad_request', { reason: 'Invalid URL encoding' });
  return segments;
}

/**
 * `/db/_design%2Ffoo` and `/db/_local%2Ffoo` name the same documents as `/db/_design/foo` and
 * `/db/_local/foo` (CouchDB accepts both spellings). `/db/_local%2F` is `/db/_local`, which
 * chttpd_db refuses with the same words.
 */
export function normalizeSegments(segments: string[]): string[] {
  const second = segments[1];
  if (second === undefined) return segments;
  if (second === '_local/' && segments.length === 2) return [segments[0]!, '_local'];
  for (const prefix of ['_design/', '_local/']) {
    if (second.startsWith(prefix) && second.length > prefix.length) {
      return [segments[0]!, prefix.slice(0, -1), second.slice(prefix.length), ...segments.slice(2)];
    }
  }
  return segments;
}

/** Route `method` `url` (whose segments the caller may have read already) and run its handler. */
export async function dispatch(base: RequestBase, method: string, url: URL, segments = requestSegments(base.face, url)): Promise<void> {
  const routes = isCapiSegment(base.face, segments[0]) ? CAPI_ROUTES : base.face.routes;
  const match = routes.lookup(method, normalizeSegments(segments));
  if (match.kind === 'none') throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
  if (match.kind === 'wrong-method') {
    // chttpd:send_method_not_allowed/2: the methods in an `Allow` header and in the reason.
    const methods = match.allowed.join(',');
    base.res.setHeader('Allow', methods);
    throw new CouchError('method_not_allowed', { params: { methods } });
  }
  const { req, res, user, face, signal } = base;
  await match.handler({ req, res, method, url, query: url.searchParams, params: match.params, user, face, signal });
}
