/**
 * The REST route table: method, path pattern, who may call it, handler. Patterns are
 * '/'-separated segments where `:name` captures one segment. As in ns_server's menelaus_web
 * (`loop`), the raw path is split on '/' first and each segment is then percent-decoded, so an
 * encoded slash stays inside its segment. HEAD is served by the GET route.
 *
 * Access levels mirror the RBAC permissions ns_server checks before running a handler
 * (menelaus_web `get_action` / `perform_action`):
 * - `public`: no credentials (only `GET /`, which SDK `ping()` probes; couchbase-sdk-bootstrap.md §1);
 * - `pools`: any authenticated user (`{[pools], read}`);
 * - `bucket`: the admin or a user of the bucket named by the `:bucket` parameter
 *   (`{[{bucket, Id}, settings], read}`); a user without access gets 403 even when the bucket does
 *   not exist, and only then is existence checked (404), because the permission check comes first;
 * - `admin`: the administrator only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Topology } from '../topology/topology.js';
import type { StreamHub } from './streaming.js';
import type { MetricsProvider } from '../common/metrics.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'pools' }
  | { readonly kind: 'bucket'; readonly permission: (bucket: string) => string }
  | { readonly kind: 'admin'; readonly permission: (params: Readonly<Record<string, string>>) => string };

export interface Principal {
  readonly name: string;
  readonly isAdmin: boolean;
}

/** What the REST face is built from (the server passes it to `startMgmtFace`). */
export interface MgmtDeps {
  readonly engine: Engine;
  readonly users: UserRegistry;
  /** Failed-login throttle shared by every face's password checks (src/auth/throttle.ts). */
  readonly authThrottle: AuthThrottle;
  readonly logger: Logger;
  /** The host to listen on. */
  readonly host: string;
  /** The cluster map the documents are built from; the server keeps it watching the engine. */
  readonly topology: Topology;
  /** The server's metrics (`GET /metrics`, `GET /freshet/stats`); absent when the face runs alone. */
  readonly metrics?: MetricsProvider;
}

/** What a handler gets: the request, its parsed parts, the caller and the face's dependencies. */
export interface RestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Undefined only on public routes. */
  readonly principal: Principal | undefined;
  /** The address the client connected to, for "$HOST" (rest-io.ts `localAddr`). */
  readonly localAddr: string;
  readonly server: MgmtDeps;
  readonly topology: Topology;
  readonly streams: StreamHub;
}

export type Handler = (rc: RestContext) => Promise<void> | void;

export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly access: Access;
  readonly handler: Handler;
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export const PUBLIC: Access = { kind: 'public' };
export const POOLS: Access = { kind: 'pools' };
export const BUCKET_SETTINGS_READ: Access = {
  kind: 'bucket',
  permission: (bucket) => `cluster.bucket[${bucket}].settings!read`,
};

export function adminAccess(permission: string | ((params: Readonly<Record<string, string>>) => string)): Access {
  return { kind: 'admin', permission: typeof permission === 'string' ? () => permission : permission };
}

/** Split a raw path into decoded segments; undefined when a segment is not valid percent-encoding. */
export function pathSegments(rawPath: string): string[] | undefined {
  try {
    return rawPath.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function matchPattern(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

export class Router {
  readonly #routes: { route: Route; pattern: string[] }[] = [];

  add(...routes: readonly Route[]): this {
    for (const route of routes) this.#routes.push({ route, pattern: route.path.split('/').filter((s) => s.length > 0) });
    return this;
  }

  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const wanted = method === 'HEAD' ? 'GET' : method;
    for (const { route, pattern } of this.#routes) {
      if (route.method !== wanted) continue;
      const params = matchPattern(pattern, segments);
      if (params !== undefined) return { route, params };
    }
    return undefined;
  }

  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }
}
