/**
 * A small path router for the CouchDB face: routes are lists of segments matched in order.
 *
 *   'literal'  matches that exact (decoded) segment
 *   ':name'    matches any one segment and binds it
 *   '*name'    matches one or more remaining segments, bound joined with '/'
 *
 * CouchDB routes by the first path segment (`_all_dbs`, `_session`, or a database) and then by
 * the second (`_changes`, `_bulk_docs`, `_local`, or a document id); document ids and attachment
 * names may contain '/', which is why the tail patterns exist. A path that matches a route but not
 * its method is a 405 with an `Allow` header, as chttpd does (`method_not_allowed`).
 */
import { CouchError } from '../couch/errors.js';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'COPY' | 'OPTIONS';

export interface RouteMatch<H> {
  handler: H;
  params: Record<string, string>;
}

interface Route<H> {
  pattern: string[];
  methods: Map<string, H>;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  /** Register `handlers` (by method) for a pattern; HEAD falls back to GET automatically. */
  add(pattern: string, handlers: Partial<Record<Method, H>>): this {
    const segments = pattern === '/' ? [] : pattern.replace(/^\//, '').split('/');
    const methods = new Map<string, H>();
    for (const [m, h] of Object.entries(handlers)) if (h !== undefined) methods.set(m, h as H);
    this.routes.push({ pattern: segments, methods });
    return this;
  }

  /** Finds the handler; throws 405 when the path is known but the method is not. */
  match(method: string, segments: readonly string[]): RouteMatch<H> | null {
    for (const route of this.routes) {
      const params = matchPattern(route.pattern, segments);
      if (params === null) continue;
      const handler = route.methods.get(method) ?? (method === 'HEAD' ? route.methods.get('GET') : undefined);
      if (handler === undefined) {
        const allowed = [...route.methods.keys()];
        if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
        throw new CouchError('method_not_allowed', { params: { methods: allowed.join(',') } });
      }
      return { handler, params };
    }
    return null;
  }
}

function matchPattern(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith('*')) {
      if (i >= segments.length) return null;
      params[p.slice(1)] = segments.slice(i).join('/');
      return params;
    }
    const s = segments[i];
    if (s === undefined) return null;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return pattern.length === segments.length ? params : null;
}

/**
 * Split a request path into decoded segments. A trailing slash is ignored (`GET /db/` is
 * `GET /db`, which PouchDB sends). Malformed percent-escapes are a 400.
 */
export function splitPath(pathname: string): string[] {
  const trimmed = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  return trimmed.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new CouchError('bad_request', { reason: 'Invalid URL encoding' });
    }
  });
}
