/**
 * What every listener of a Freshet server shares: the engine, the users, the logger and the
 * addresses the server is reachable at (the cluster map and CouchDB's `GET /` report them).
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';

export interface Ports {
  kv: number;
  mgmt: number;
  http: number;
}

export interface ServerContext {
  engine: Engine;
  users: UserRegistry;
  /** Failed-login throttle shared by every face's password checks (src/auth/throttle.ts). */
  authThrottle: AuthThrottle;
  logger: Logger;
  /** The host listeners bind to. */
  host: string;
  /** The real ports, filled in as each listener binds (0 in the options means ephemeral). */
  ports: Ports;
  /** Cluster-map revision: bumped whenever the map (buckets, vbucket states) changes. */
  configRev: number;
  /**
   * The bucket's cluster map as Couchbase's terse JSON (GET_CLUSTER_CONFIG, NOT_MY_VBUCKET bodies,
   * `/pools/default/b/NAME`), with `$HOST` left for the client to substitute. Set by the server.
   */
  clusterConfigJson?: (bucket: string) => string;
  /** The bucket-less (global) cluster config: nodes and their services. Set by the server. */
  globalConfigJson?: () => string;
}

/** A bound listener. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}
