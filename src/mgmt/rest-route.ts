/**
 * A REST route: method, path pattern, who may call it, handler. Patterns are '/'-separated
 * segments where `:name` captures one segment; they are matched by the shared route table
 * (src/web/route-table.ts), which splits the raw path on '/' before percent-decoding each segment
 * as ns_server's menelaus_web (`loop`) does, so an encoded slash stays inside its segment. HEAD
 * is served by the GET route.
 *
 * Access levels mirror the RBAC permissions ns_server checks before running a handler
 * (menelaus_web `get_action` / `perform_action`):
 * - `public`: no credentials (only `GET /`, which SDK `ping()` probes; couchbase-sdk-bootstrap.md §1);
 * - `signedIn`: any authenticated user, whatever its roles (ns_server's `no_check`: `/whoami`,
 *   `/controller/changePassword`, `/versions`);
 * - `pools`: a user holding some role (`{[pools], read}`, which every role grants; a user with no
 *   role gets 403 with `permission`, `cluster.pools!read`, or for the bucket list
 *   `cluster.bucket[.].settings!read`, ns_server's `{[{bucket, any}, settings], read}`: some role
 *   on some bucket);
 * - `bucket`: the admin or a user of the bucket named by the `:bucket` parameter: with `need:
 *   'role'` any role on it (`{[{bucket, Id}, settings], read}`, which every bucket role grants),
 *   with `need: 'full'` the admin or `bucket_full_access` (`collections!read`, which ns_server's
 *   data_reader and data_writer lack); a user without access gets 403 even when the bucket does
 *   not exist, and only then is existence checked (404), because the permission check comes first;
 * - `admin`: the administrator only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/logger.js';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Topology } from '../topology/topology.js';
import type { AccessLog } from '../common/access-log.js';
import type { StreamHub } from './streaming.js';
import type { MetricsProvider } from '../common/metrics.js';

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'signedIn' }
  | { readonly kind: 'pools'; readonly permission: string }
  | { readonly kind: 'bucket'; readonly need: 'role' | 'full'; readonly permission: (bucket: string) => string }
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
  /** `serve --access-log`: one entry per request. */
  readonly accessLog?: AccessLog;
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

export type RestHandler = (rc: RestContext) => Promise<void> | void;

export interface RestRoute {
  readonly method: RestMethod;
  readonly path: string;
  readonly access: Access;
  readonly handler: RestHandler;
}

export const PUBLIC: Access = { kind: 'public' };
export const SIGNED_IN: Access = { kind: 'signedIn' };
export const POOLS: Access = { kind: 'pools', permission: 'cluster.pools!read' };
export const ANY_BUCKET_SETTINGS_READ: Access = { kind: 'pools', permission: 'cluster.bucket[.].settings!read' };
export const BUCKET_SETTINGS_READ: Access = {
  kind: 'bucket',
  need: 'role',
  permission: (bucket) => `cluster.bucket[${bucket}].settings!read`,
};

export function adminAccess(permission: string | ((params: Readonly<Record<string, string>>) => string)): Access {
  return { kind: 'admin', permission: typeof permission === 'string' ? () => permission : permission };
}
